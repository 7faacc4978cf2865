"""The printed aftercare sheet: what it says, who may open it, and that handing it over is
recorded on the session record (ticked when completing, or marked later, audit-logged)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from clinic.audit.models import AuditEvent
from clinic.config import emergency_number, from_environment
from clinic.extensions import db
from clinic.visits.models import SessionRecord
from tests.factories import checked_in_and_started, make_booking, make_clinic
from tests.helpers import csrf_token

ROOT = Path(__file__).resolve().parent.parent
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
SESSION = {
    "device": "pen",
    "needle_depth_mm": "1.0",
    "areas": ["crown"],
    "add_ons": [],
    "cartridge_lot": "CT-2291",
}


@pytest.fixture
def practitioner(app, signed_in):
    make_clinic()
    return signed_in("practitioner", email="dr@example.com", name="Dr Rao")


def checked_in(slug="microneedling"):
    return checked_in_and_started(slug, TUESDAY_10)


def words(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def complete(client, appointment, **extra):
    token = csrf_token(client, f"/desk/visits/{appointment.id}")
    return client.post(
        f"/desk/visits/{appointment.id}/complete",
        data={"csrf_token": token, **SESSION, **extra},
    )


def record_of(appointment) -> SessionRecord:
    db.session.expire_all()
    return db.session.scalar(
        select(SessionRecord).where(SessionRecord.appointment_id == appointment.id)
    )


def test_the_sheet_names_the_patient_the_day_and_says_what_to_do(practitioner):
    appointment = checked_in()
    response = practitioner.get(f"/desk/visits/{appointment.id}/aftercare")

    assert response.status_code == 200
    page = words(response)
    assert "Alex Morgan" in page
    assert "Tuesday 3 March 2026" in page
    assert appointment.service.name in page
    # What is normal, what to avoid and for how long.
    assert "Redness, warmth and a tight feeling" in page
    assert "For the first 24 hours" in page and "From 48 to 72 hours" in page
    for avoid in ("wash", "sweat", "sun", "swimming", "products on the scalp", "sauna"):
        assert avoid in page
    # The warning signs, and whom to call: the clinic today, the emergency number now.
    for sign in ("pus", "swelling", "spreads", "38 °C (100.4 °F)", "trouble breathing", "lips"):
        assert sign in page
    phone = appointment.practitioner.location.phone
    assert f"Call the clinic today, on {phone}" in page
    assert "Call the emergency number, 999, now" in page


def test_the_sheet_prints_with_its_own_stylesheet_and_no_inline_style(practitioner):
    appointment = checked_in()
    body = practitioner.get(f"/desk/visits/{appointment.id}/aftercare").get_data(as_text=True)

    assert 'href="/static/css/aftercare.css"' in body
    assert "<style" not in body and "style=" not in body and "<script" not in body
    css = (ROOT / "static/css/aftercare.css").read_text()
    assert "@media print" in css and ".no-print" in css


def test_the_sheet_is_for_signed_in_staff_only_and_never_cached(app, client, signed_in):
    make_clinic()
    appointment = checked_in()
    url = f"/desk/visits/{appointment.id}/aftercare"

    outside = client.get(url)
    assert outside.status_code in (302, 303)
    assert "/login" in outside.headers["Location"]

    desk = signed_in("desk")
    inside = desk.get(url)
    assert inside.status_code == 200
    assert "no-store" in inside.headers["Cache-Control"]


def test_a_visit_not_yet_checked_in_or_a_consultation_has_no_sheet(practitioner):
    booked = make_booking("microneedling", TUESDAY_10)
    assert practitioner.get(f"/desk/visits/{booked.id}/aftercare").status_code == 404
    assert practitioner.get("/desk/visits/9999/aftercare").status_code == 404


def test_the_visit_page_links_the_sheet_when_checked_in_and_when_completed(practitioner):
    appointment = checked_in()
    link = f'href="/desk/visits/{appointment.id}/aftercare"'
    assert link in practitioner.get(f"/desk/visits/{appointment.id}").get_data(as_text=True)

    assert complete(practitioner, appointment).status_code == 303
    page = practitioner.get(f"/desk/visits/{appointment.id}").get_data(as_text=True)
    assert link in page
    assert "Not recorded as handed over" in page


def test_ticking_the_box_when_completing_records_the_sheet_as_handed_over(practitioner, clock):
    appointment = checked_in()
    response = complete(practitioner, appointment, aftercare_sheet_handed_over="y")

    assert response.status_code == 303
    assert record_of(appointment).aftercare_sheet_given_at == clock.now()
    page = words(practitioner.get(f"/desk/visits/{appointment.id}"))
    assert "Handed to the patient" in page
    assert "Mark the sheet as handed over" not in page
    recorded = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "session.recorded"))
    assert recorded.changes["aftercare_sheet_handed_over"] == [False, True]


def test_a_sheet_handed_over_later_is_marked_once_and_audit_logged(practitioner, clock):
    appointment = checked_in()
    complete(practitioner, appointment)
    assert record_of(appointment).aftercare_sheet_given_at is None

    clock.advance(minutes=5)
    url = f"/desk/visits/{appointment.id}/aftercare/handed-over"
    token = csrf_token(practitioner, f"/desk/visits/{appointment.id}")
    assert practitioner.post(url, data={"csrf_token": token}).status_code == 303
    assert record_of(appointment).aftercare_sheet_given_at == clock.now()
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "aftercare_sheet.handed_over")
    )
    assert event.appointment_id == appointment.id
    assert event.staff_id is not None

    again = practitioner.post(url, data={"csrf_token": token})
    assert again.status_code == 409


def test_marking_a_sheet_needs_a_session_record(practitioner):
    appointment = checked_in()
    token = csrf_token(practitioner, f"/desk/visits/{appointment.id}")
    response = practitioner.post(
        f"/desk/visits/{appointment.id}/aftercare/handed-over", data={"csrf_token": token}
    )
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("region", "number"),
    [("GB", "999"), ("US", "911"), ("CA", "911"), ("IE", "112"), ("FR", "112"), ("AU", "000")]
    + [("NZ", "111")],
)
def test_the_emergency_number_follows_the_clinic_region(region, number, tmp_path):
    assert emergency_number(region) == number
    settings = from_environment(str(tmp_path), {"DEFAULT_PHONE_REGION": region})
    assert settings["CLINIC_EMERGENCY_NUMBER"] == number
    chosen = {"DEFAULT_PHONE_REGION": region, "CLINIC_EMERGENCY_NUMBER": "112"}
    assert from_environment(str(tmp_path), chosen)["CLINIC_EMERGENCY_NUMBER"] == "112"
