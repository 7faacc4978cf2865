"""The desk books a patient who phones in, from the "New booking" link, in Chromium with script
off: a new patient, a free time offered by the engine, recorded as a phone booking."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from clinic.audit.models import AuditEvent
from clinic.booking.models import Appointment
from clinic.extensions import db
from tests.factories import make_clinic
from tests.helpers import make_staff

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "java_script_enabled": False}


@pytest.fixture
def live_server(app, serve):
    make_clinic()
    make_staff(role="desk", email="desk@example.com", name="Jo Desk", password=PASSWORD)
    return serve(app)


def test_the_desk_books_a_phone_patient_into_a_free_time(page, live_server):
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("desk@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="New booking").click()
    expect(page.get_by_role("heading", name="New booking", level=1)).to_be_visible()
    page.get_by_label("Name, mobile or date of birth").fill("Casey")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("Nobody on record matches")).to_be_visible()
    page.get_by_role("link", name="New patient").click()

    page.get_by_label("Service", exact=True).select_option(label="Hair-loss consultation")
    page.get_by_label("Day", exact=True).fill("2026-03-03")
    page.get_by_role("button", name="Show free times").click()
    expect(page.get_by_text("Hair-loss consultation, Tuesday 3 March 2026")).to_be_visible()

    page.get_by_role("radio", name="11:00 (Practitioner 1)").check()
    expect(page.get_by_role("radio", name="Phone")).to_be_checked()
    page.get_by_label("Full name", exact=True).fill("Casey Jordan")
    page.get_by_label("Mobile number").fill("07812 345678")
    page.get_by_label("Date of birth").fill("14/02/1990")
    page.get_by_role("button", name="Book").click()

    expect(page.get_by_text("Booked by phone for Tuesday 3 March 2026 at 11:00.")).to_be_visible()
    db.session.rollback()
    visit = db.session.scalar(select(Appointment))
    assert page.url.endswith(f"/desk/visits/{visit.id}")
    assert (visit.source, visit.start_at) == ("phone", datetime(2026, 3, 3, 11, 0, tzinfo=UTC))
    assert visit.patient.phone == "+447812345678"
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.appointment_id == visit.id)
    ).all()
    assert "visit.book" in actions
