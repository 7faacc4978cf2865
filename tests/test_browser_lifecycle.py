"""One visit from online booking to a completed session, in real browsers, and the audit trail
it leaves: a patient books with an answer that needs review, a practitioner approves, the desk
checks the patient in on the day, the practitioner records the session."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from clinic.audit.models import AuditEvent
from clinic.booking.models import Appointment, AppointmentStatus
from clinic.extensions import db
from tests.browser_steps import book_held_microneedling
from tests.factories import make_clinic
from tests.helpers import make_staff

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


@pytest.fixture
def browser_context_args(browser_context_args):
    # Patient and staff pages alike work with JavaScript off.
    return {**browser_context_args, "java_script_enabled": False}


@pytest.fixture
def live_server(app, serve):
    make_clinic()
    make_staff(role="practitioner", email="dr@example.com", name="Dr Rao", password=PASSWORD)
    make_staff(role="desk", email="desk@example.com", name="Jo Desk", password=PASSWORD)
    return serve(app)


def sign_in(browser, base: str, email: str):
    page = browser.new_context(java_script_enabled=False).new_page()
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def the_visit() -> Appointment:
    db.session.rollback()  # a fresh snapshot: the server thread wrote since
    return db.session.scalar(select(Appointment))


def trail() -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_a_held_visit_goes_from_booking_to_a_recorded_session_with_its_trail(
    page, browser, live_server, clock
):
    # The patient books online and says yes to taking a blood thinner.
    book_held_microneedling(page, live_server)
    expect(page.get_by_role("heading", name=re.compile("held", re.I))).to_be_visible()
    assert the_visit().status == AppointmentStatus.NEEDS_REVIEW

    # The desk cannot check a held visit in, even on the day.
    clock.set(datetime(2026, 3, 3, 9, 40, tzinfo=UTC))
    desk = sign_in(browser, live_server, "desk@example.com")
    desk.goto(f"{live_server}/desk/visits/{the_visit().id}")
    expect(desk.get_by_role("heading", name="Waiting for clinical review")).to_be_visible()
    expect(desk.get_by_role("button", name="Check in")).to_have_count(0)

    # A practitioner approves the answers.
    doctor = sign_in(browser, live_server, "dr@example.com")
    doctor.goto(live_server + "/review")
    doctor.get_by_role("link", name="Review Sam Patel").click()
    doctor.get_by_role("button", name="Approve").click()
    expect(doctor.get_by_text("The visit is confirmed and the patient is told.")).to_be_visible()
    assert the_visit().status == AppointmentStatus.CONFIRMED

    # The desk checks the patient in on the day.
    desk.reload()
    expect(desk.get_by_text("Ready for check-in")).to_be_visible()
    desk.locator('input[name="changes"][value="no"]').check()
    desk.get_by_role("button", name="Check in").click()
    expect(desk.get_by_text("Checked in.")).to_be_visible()
    assert the_visit().status == AppointmentStatus.CHECKED_IN

    # After the session the practitioner records it, and the visit is complete.
    clock.set(datetime(2026, 3, 3, 10, 50, tzinfo=UTC))
    doctor.goto(f"{live_server}/desk/visits/{the_visit().id}")
    doctor.get_by_label("Pen").check()
    doctor.get_by_label("Needle depth (mm)").fill("1.0")
    doctor.get_by_label("Crown (vertex)").check()
    doctor.get_by_label("Needle cartridge lot number").fill("NC-2291")
    doctor.get_by_role("button", name="Record and complete").click()
    expect(doctor.get_by_text("Session recorded and completed.")).to_be_visible()
    assert the_visit().status == AppointmentStatus.COMPLETED

    # One audit row per step, saying who and from where.
    rows = [(row.action, row.actor_label) for row in trail()]
    assert rows == [
        ("visit.hold", "patient via link"),
        ("consent.signed", "patient via link"),
        ("screening.review_approved", "Dr Rao"),
        ("visit.approve", "Dr Rao"),
        ("visit.check_in", "Jo Desk"),
        ("session.recorded", "Dr Rao"),
        ("visit.complete", "Dr Rao"),
    ]
    for row in trail():
        assert row.ip_address == "127.0.0.1", row.action
        assert "Chrome" in row.user_agent, row.action
        assert row.appointment_id == the_visit().id
    statuses = {row.action: row.changes.get("status") for row in trail()}
    assert statuses["visit.check_in"] == ["confirmed", "checked_in"]
    assert statuses["visit.complete"] == ["checked_in", "completed"]

    # An admin reads the same trail on the audit page.
    make_staff(role="admin", email="admin@example.com", name="Ali Admin", password=PASSWORD)
    admin = sign_in(browser, live_server, "admin@example.com")
    admin.goto(f"{live_server}/admin/audit?patient={the_visit().patient_id}")
    check_in_row = admin.locator("tr", has_text="visit.check_in")
    expect(check_in_row).to_contain_text("Jo Desk")
    expect(check_in_row).to_contain_text("127.0.0.1")
