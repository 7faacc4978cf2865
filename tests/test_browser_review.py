"""A patient books with an answer that needs review; a practitioner approves it in a browser."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from clinic.booking.models import Appointment, AppointmentStatus
from clinic.extensions import db
from clinic.screening import questions
from clinic.screening.models import ReviewStatus, Screening
from tests.browser_steps import book_held_microneedling
from tests.factories import make_clinic
from tests.helpers import PASSWORD, make_staff

pytestmark = pytest.mark.browser

ANTICOAGULANT = questions.VERSION_1.question("anticoagulant").text


@pytest.fixture
def browser_context_args(browser_context_args):
    # Patient and staff pages alike work with JavaScript off.
    return {**browser_context_args, "java_script_enabled": False}


@pytest.fixture
def live_server(app, serve):
    make_clinic()
    make_staff(role="practitioner", email="dr@example.com", name="Dr Rao")
    return serve(app)


def stored(model):
    # End this thread's read transaction: under WAL it would keep seeing its old snapshot.
    db.session.rollback()
    return db.session.scalar(select(model))


def test_a_held_booking_is_approved_by_a_practitioner_and_shows_confirmed(
    page, browser, live_server
):
    console_errors = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message))

    # The patient books online and says yes to taking a blood thinner.
    book_held_microneedling(page, live_server)

    manage_link = page.locator(".manage-link a").inner_text()
    assert manage_link.startswith(live_server + "/manage/")
    appointment = stored(Appointment)
    assert appointment.start_at == datetime(2026, 3, 3, 10, tzinfo=UTC)
    assert appointment.status == AppointmentStatus.NEEDS_REVIEW
    assert stored(Screening).review_status == ReviewStatus.PENDING

    # A practitioner signs in; the desk flags the visit, tomorrow, as still unreviewed.
    staff = browser.new_context(java_script_enabled=False).new_page()
    staff.on("console", lambda message: message.type == "error" and console_errors.append(message))
    staff.goto(live_server + "/login")
    staff.get_by_label("Email").fill("dr@example.com")
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    expect(
        staff.get_by_role("heading", name=re.compile("1 booking in the next 48 hours"))
    ).to_be_visible()
    staff.get_by_role("link", name="Open the review queue").click()

    expect(staff.get_by_role("heading", name="Clinical review")).to_be_visible()
    card = staff.locator(".review-card", has_text="Sam Patel")
    expect(card).to_contain_text(ANTICOAGULANT)
    expect(card).to_contain_text("Tuesday 3 March 2026 at 10:00")
    card.get_by_role("link", name="Review Sam Patel").click()

    expect(staff.get_by_role("heading", name=re.compile("Sam Patel"))).to_be_visible()
    staff.get_by_role("button", name="Approve").click()
    expect(staff.get_by_text("The visit is confirmed and the patient is told.")).to_be_visible()
    staff.goto(live_server + "/review")
    expect(staff.get_by_text("Nothing is waiting for review.")).to_be_visible()
    assert stored(Appointment).status == AppointmentStatus.CONFIRMED

    # The patient's own page now says so.
    page.goto(manage_link)
    expect(page.locator(".status")).to_have_text("Confirmed")

    # The desk no longer flags it, and the visit is ready for check-in.
    staff.goto(live_server + "/desk?day=2026-03-03")
    expect(staff.get_by_text("still need clinical review")).to_have_count(0)
    staff.get_by_role("link", name="Sam Patel").click()
    expect(staff.get_by_text("Ready for check-in")).to_be_visible()
    assert console_errors == []
