"""A front-desk morning in a real browser: the calendar, a phone booking into a free gap, a visit
dragged to another time and practitioner, a cancellation with a reason, a check-in undone, and a
patient's new mobile number. Each change shows in the calendar, in the patient's planned texts
and in the audit log."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from clinic.audit.models import AuditEvent
from clinic.booking.models import Appointment
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.sms.models import OutboundText
from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import make_staff

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
TODAY = "2026-03-02"  # the clock's Monday; London is on GMT, so local times read as UTC
TOMORROW = "2026-03-03"


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00+00:00").astimezone(UTC)


@pytest.fixture
def clinic(app):
    made = make_clinic(practitioners=2, rooms=2)
    first = made.practitioners[0].id
    make_staff(role="desk", email="desk@example.com", name="Jo Desk", password=PASSWORD)
    make_staff(role="admin", email="admin@example.com", name="Ali Admin", password=PASSWORD)
    made.extra["arriving"] = make_booking(
        "consultation",
        at(TODAY, "10:00"),
        practitioner_id=first,
        sms_opt_in=True,
        patient=patient_details(full_name="Alex Morgan", phone="+447911123456"),
    )
    made.extra["moving"] = make_booking(
        "consultation",
        at(TOMORROW, "10:00"),
        practitioner_id=first,
        sms_opt_in=True,
        patient=patient_details(
            full_name="Priya Shah", phone="+447911000222", date_of_birth=date(1979, 5, 6)
        ),
    )
    made.extra["cancelled"] = make_booking(
        "consultation",
        at(TOMORROW, "11:00"),
        practitioner_id=first,
        sms_opt_in=True,
        patient=patient_details(full_name="Sam Patel", phone="+447911000333"),
    )
    return made


def sign_in(browser, base: str, email: str, *, javascript: bool = False):
    page = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1400, "height": 1600}
    ).new_page()
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def fresh(model, ident):
    db.session.rollback()  # a fresh snapshot: the server thread wrote since
    return db.session.get(model, ident)


def planned_texts(appointment_id: int) -> list[OutboundText]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(OutboundText)
            .where(OutboundText.appointment_id == appointment_id, OutboundText.status == "pending")
            .order_by(OutboundText.send_at)
        )
    )


def audit_actions() -> list[tuple[str, int | None, str]]:
    db.session.rollback()
    return [
        (row.action, row.appointment_id, row.actor_label)
        for row in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    ]


def free_cell(page, practitioner_id: int, start: datetime):
    return page.locator(
        f'td.cell--free[data-practitioner="{practitioner_id}"][data-start="{start.isoformat()}"]'
    )


def drag(page, source, target) -> None:
    """A person's drag: press on the block, move in small steps onto the cell, let go."""
    source.scroll_into_view_if_needed()
    start = source.bounding_box()
    page.mouse.move(start["x"] + 10, start["y"] + 10)
    page.mouse.down()
    page.mouse.move(start["x"] + 20, start["y"] + 20, steps=5)
    end = target.bounding_box()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=10)
    page.mouse.up()


def block(page, name: str):
    return page.locator("a.visit", has_text=name)


def test_a_desk_morning_shows_in_the_calendar_the_texts_and_the_audit_log(
    browser, app, serve, clinic
):
    base = serve(app)
    first, second = (p.id for p in clinic.practitioners)
    desk = sign_in(browser, base, "desk@example.com")

    # Today's calendar, as the desk opens it.
    expect(desk.get_by_role("heading", level=1)).to_contain_text("Monday 2 March 2026")
    expect(block(desk, "Alex Morgan")).to_contain_text("10:00–10:20")

    # A patient phones: the desk books them into the second practitioner's free 14:00.
    free_cell(desk, second, at(TODAY, "14:00")).get_by_role("link").click()
    expect(desk.get_by_role("heading", name="New booking", level=1)).to_be_visible()
    desk.get_by_role("link", name="New patient").click()
    desk.get_by_label("Service", exact=True).select_option(label="Hair-loss consultation")
    desk.get_by_role("button", name="Show free times").click()
    expect(desk.get_by_role("radio", name=re.compile(r"^14:00 \(Practitioner 2\)"))).to_be_checked()
    expect(desk.get_by_role("radio", name="Phone")).to_be_checked()
    desk.get_by_label("Full name", exact=True).fill("Casey Jordan")
    desk.get_by_label("Mobile number").fill("07812 345678")
    desk.get_by_label("Date of birth").fill("14/02/1990")
    desk.get_by_label(re.compile("texts", re.I)).first.check()
    desk.get_by_role("button", name="Book").click()
    expect(desk.get_by_text("Booked by phone for Monday 2 March 2026 at 14:00.")).to_be_visible()
    db.session.rollback()
    phoned = db.session.scalar(select(Appointment).order_by(Appointment.id.desc()).limit(1))
    assert (phoned.source, phoned.practitioner_id, phoned.start_at) == (
        "phone",
        second,
        at(TODAY, "14:00"),
    )
    assert planned_texts(phoned.id), "a phone booking with texts on plans its texts"
    desk.goto(f"{base}/desk?day={TODAY}")
    expect(block(desk, "Casey Jordan")).to_contain_text("14:00–14:20")

    # Check Alex in, then undo it: a mistake on the day.
    block(desk, "Alex Morgan").click()
    desk.get_by_role("radio", name="No").check()
    desk.get_by_role("button", name="Check in").click()
    expect(desk.get_by_text("Checked in.")).to_be_visible()
    arriving = clinic.extra["arriving"].id
    assert fresh(Appointment, arriving).status == "checked_in"
    desk.get_by_role("button", name="Undo the check-in").click()
    expect(desk.get_by_text("Check-in undone.")).to_be_visible()
    assert fresh(Appointment, arriving).status == "booked"
    desk.goto(f"{base}/desk?day={TODAY}")
    expect(block(desk, "Alex Morgan")).to_contain_text("Booked")

    # Tomorrow: cancel Sam's visit with a reason.
    cancelled = clinic.extra["cancelled"].id
    assert planned_texts(cancelled)
    desk.goto(f"{base}/desk?day={TOMORROW}")
    block(desk, "Sam Patel").click()
    desk.get_by_text("Cancel the visit").first.click()
    desk.get_by_label("Reason").fill("Patient phoned: car broke down")
    desk.get_by_role("button", name="Cancel the visit").click()
    assert fresh(Appointment, cancelled).status == "cancelled"
    assert planned_texts(cancelled) == []
    desk.goto(f"{base}/desk?day={TOMORROW}")
    expect(block(desk, "Sam Patel")).to_have_count(0)
    expect(desk.get_by_role("link", name=re.compile("Sam Patel"))).to_be_visible()

    # Drag Priya's visit to 15:30 with the second practitioner (script on, as at a desk).
    moving = clinic.extra["moving"].id
    reminder_before = [t.send_at for t in planned_texts(moving)]
    dragger = sign_in(browser, base, "desk@example.com", javascript=True)
    dragger.goto(f"{base}/desk?day={TOMORROW}")
    drag(dragger, block(dragger, "Priya Shah"), free_cell(dragger, second, at(TOMORROW, "15:30")))
    expect(block(dragger, "Priya Shah")).to_contain_text("15:30–15:50")
    moved = fresh(Appointment, moving)
    assert (moved.practitioner_id, moved.start_at) == (second, at(TOMORROW, "15:30"))
    reminder_after = [t.send_at for t in planned_texts(moving)]
    assert reminder_after and reminder_after != reminder_before

    # Find Priya by her date of birth and change her mobile number.
    desk.get_by_role("link", name="Patients", exact=True).click()
    desk.get_by_label("Name, mobile number or date of birth").fill("06/05/1979")
    desk.get_by_role("button", name="Search").click()
    desk.get_by_role("link", name="Priya Shah").click()
    # Her record lists the moved visit and its planned texts at their new times.
    expect(desk.get_by_role("link", name="Tuesday 3 March 2026 at 15:30")).to_be_visible()
    expect(
        desk.get_by_text(re.compile(r"Reminder the day before: Monday 2 March 2026 at"))
    ).to_be_visible()
    desk.get_by_role("link", name="Change contact details").click()
    desk.get_by_label("Mobile number").fill("07911 222333")
    desk.get_by_role("button", name="Save").click()
    expect(desk.get_by_text("Contact details saved.")).to_be_visible()
    expect(desk.get_by_role("link", name="07911 222333")).to_be_visible()
    assert fresh(Patient, moved.patient_id).phone == "+447911222333"

    # The audit log holds every step, each under the desk member's name.
    trail = audit_actions()
    mine = [(action, visit) for action, visit, who in trail if who == "Jo Desk"]
    assert ("visit.book", phoned.id) in mine
    assert ("visit.check_in", arriving) in mine
    assert ("visit.undo_check_in", arriving) in mine
    assert ("visit.cancel", cancelled) in mine
    assert ("visit.move", moving) in mine
    assert ("patient.contact_changed", None) in mine
    admin = sign_in(browser, base, "admin@example.com")
    admin.goto(f"{base}/admin/audit")
    for action in (
        "visit.book",
        "visit.check_in",
        "visit.undo_check_in",
        "visit.cancel",
        "visit.move",
        "patient.contact_changed",
    ):
        expect(admin.locator("tr", has_text=action).first).to_contain_text("Jo Desk")
    expect(admin.locator("tr", has_text="visit.cancel").first).to_contain_text(
        "Patient phoned: car broke down"
    )
