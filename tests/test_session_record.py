"""Completing a session on the visit page: the treatment record and its checks."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from clinic.booking.models import AppointmentStatus
from clinic.extensions import db
from clinic.visits.models import SessionRecord
from tests.factories import checked_in_and_started, make_booking, make_clinic
from tests.helpers import csrf_token, make_staff, sign_in

TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
GOOD = {
    "device": "pen",
    "needle_depth_mm": "1.25",
    "areas": ["crown", "mid_scalp"],
    "numbing_used": "y",
    "add_ons": ["minoxidil"],
    "cartridge_lot": " CT-2291 ",
    "prp_kit_lot": "",
    "notes": "Tolerated well.\nMild redness at the crown.",
}


@pytest.fixture
def practitioner(app, signed_in):
    make_clinic()
    return signed_in("practitioner", email="dr@example.com", name="Dr Rao")


def checked_in(slug="microneedling"):
    return checked_in_and_started(slug, TUESDAY_10)


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def complete(client, appointment, **changes):
    data = {**GOOD, **changes}
    token = csrf_token(client, f"/desk/visits/{appointment.id}")
    body = {key: value for key, value in data.items() if value is not None}
    return client.post(
        f"/desk/visits/{appointment.id}/complete", data={"csrf_token": token, **body}
    )


def stored_record():
    db.session.rollback()
    return db.session.scalar(select(SessionRecord))


def status_of(appointment) -> str:
    db.session.rollback()
    db.session.refresh(appointment)
    return appointment.status


def test_completing_records_the_session_and_completes_the_visit(practitioner):
    appointment = checked_in()
    response = complete(practitioner, appointment)
    assert response.status_code == 303
    assert status_of(appointment) == AppointmentStatus.COMPLETED
    record = stored_record()
    assert (record.device, record.needle_depth_mm) == ("pen", 1.25)
    assert record.areas == ["mid_scalp", "crown"]
    assert (record.numbing_used, record.add_ons) == (True, ["minoxidil"])
    assert (record.cartridge_lot, record.prp_kit_lot) == ("CT-2291", "")
    assert record.notes == "Tolerated well.\nMild redness at the crown."
    assert record.recorded_by_id is not None
    page = text(practitioner.get(f"/desk/visits/{appointment.id}"))
    assert "Session recorded and completed." in page
    assert "Pen, 1.25 mm" in page and "mid-scalp, crown" in page
    assert "Cartridge CT-2291" in page
    assert "Complete the session" not in page


def test_prp_needs_the_kit_lot_and_keeps_it(practitioner):
    appointment = checked_in("microneedling-prp")
    response = complete(practitioner, appointment, add_ons=["prp"])
    assert response.status_code == 422
    assert "Enter the PRP kit's lot number." in text(response)
    response = complete(practitioner, appointment, add_ons=["prp"], prp_kit_lot="PRP-77")
    assert response.status_code == 303
    assert stored_record().prp_kit_lot == "PRP-77"


def test_a_depth_with_a_decimal_comma_is_read(practitioner):
    appointment = checked_in()
    assert complete(practitioner, appointment, needle_depth_mm="0,5").status_code == 303
    assert stored_record().needle_depth_mm == 0.5


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"device": None}, "Choose roller or pen."),
        ({"device": "laser"}, "Choose roller or pen."),
        ({"needle_depth_mm": ""}, "Enter the needle depth in millimetres."),
        ({"needle_depth_mm": "deep"}, "Enter the depth as a number of millimetres"),
        ({"needle_depth_mm": "NaN"}, "Enter the depth as a number of millimetres"),
        ({"needle_depth_mm": "1e3"}, "Enter the depth as a number of millimetres"),
        ({"needle_depth_mm": "0.2"}, "between 0.25 and 2.5 mm"),
        ({"needle_depth_mm": "2.6"}, "between 0.25 and 2.5 mm"),
        ({"areas": None}, "Choose at least one treated area."),
        ({"areas": ["crown", "eyebrows"]}, "Choose from the areas listed."),
        ({"add_ons": ["botox"]}, "Choose from the add-ons listed."),
        ({"cartridge_lot": "  "}, "Enter the needle cartridge's lot number."),
        ({"cartridge_lot": "L" * 61}, "Lot numbers are at most 60 characters."),
        ({"add_ons": ["minoxidil", "prp"]}, "Enter the PRP kit's lot number."),
        ({"prp_kit_lot": "K" * 61}, "Lot numbers are at most 60 characters."),
        ({"notes": "n" * 5001}, "Notes are at most 5,000 characters."),
    ],
)
def test_every_field_is_checked(practitioner, changes, message):
    appointment = checked_in()
    response = complete(practitioner, appointment, **changes)
    assert response.status_code == 422
    assert message in text(response)
    assert stored_record() is None
    assert status_of(appointment) == AppointmentStatus.CHECKED_IN


@pytest.mark.parametrize(("depth", "stored"), [("0.25", 0.25), ("2.5", 2.5), ("2.50", 2.5)])
def test_the_edge_depths_are_accepted_when_confirmed_with_a_reason(practitioner, depth, stored):
    appointment = checked_in()
    confirmed = {"depth_confirmed": "y", "depth_reason": "thin skin at the hairline"}
    response = complete(practitioner, appointment, needle_depth_mm=depth, **confirmed)
    assert response.status_code == 303
    assert stored_record().needle_depth_mm == stored
    assert stored_record().depth_override_reason == "thin skin at the hairline"


@pytest.mark.parametrize("depth", ["0.25", "0.4", "1.6", "2.5"])
def test_a_depth_outside_the_clinics_range_needs_a_confirmation_and_a_reason(practitioner, depth):
    appointment = checked_in()
    response = complete(practitioner, appointment, needle_depth_mm=depth)
    assert response.status_code == 422
    page = text(response)
    assert "outside the clinic's usual 0.5-1.5 mm" in page
    assert "Say why this depth was used." in page
    assert stored_record() is None
    # Ticking the box without a reason is not enough either.
    response = complete(practitioner, appointment, needle_depth_mm=depth, depth_confirmed="y")
    assert response.status_code == 422 and stored_record() is None


def test_an_add_on_the_screening_did_not_cover_is_refused(practitioner):
    appointment = checked_in()  # microneedling: the plasma questions were never asked
    response = complete(practitioner, appointment, add_ons=["prp"], prp_kit_lot="PK-1")
    assert response.status_code == 422
    assert "did not ask the questions for PRP" in text(response)
    assert stored_record() is None


def test_a_visit_that_is_not_checked_in_cannot_be_completed(practitioner):
    appointment = make_booking("microneedling", TUESDAY_10)
    response = complete(practitioner, appointment)
    assert response.status_code == 409
    assert "This visit is booked, so you cannot complete it." in text(response)
    assert stored_record() is None
    assert status_of(appointment) == AppointmentStatus.BOOKED


def test_a_completed_visit_cannot_be_completed_again(practitioner):
    appointment = checked_in()
    complete(practitioner, appointment)
    response = complete(practitioner, appointment, cartridge_lot="OTHER")
    assert response.status_code == 409
    assert stored_record().cartridge_lot == "CT-2291"


def test_the_form_starts_from_what_the_service_uses(practitioner):
    appointment = checked_in("microneedling-prp")
    page = practitioner.get(f"/desk/visits/{appointment.id}").get_data(as_text=True)
    assert '<input checked id="add_ons-1" name="add_ons" type="checkbox" value="prp">' in page
    assert '<input checked id="numbing_used" name="numbing_used" type="checkbox"' in page
    assert 'value="minoxidil">' in page and 'checked id="add_ons-0"' not in page


def test_desk_staff_check_in_but_do_not_record_sessions(client):
    make_clinic()
    make_staff(role="desk")
    sign_in(client)
    appointment = checked_in()
    page = text(client.get(f"/desk/visits/{appointment.id}"))
    assert "The practitioner records the treatment" in page
    assert "Record and complete" not in page
    response = complete(client, appointment)
    assert response.status_code == 403
    assert stored_record() is None


def test_a_consultation_has_no_treatment_record_to_fill_in(practitioner):
    appointment = checked_in("consultation")
    page = text(practitioner.get(f"/desk/visits/{appointment.id}"))
    assert "A consultation has no treatment record." in page
    assert "Complete the visit" in page
    assert "Record and complete" not in page


def test_the_desk_sees_that_a_session_was_recorded_but_not_the_record(app, practitioner):
    appointment = checked_in()
    assert complete(practitioner, appointment).status_code == 303
    clinical = ("Mild redness at the crown", "CT-2291", "1.25 mm", "<dt>Add-ons</dt>")
    mine = text(practitioner.get(f"/desk/visits/{appointment.id}"))
    assert all(words in mine for words in clinical)
    make_staff(role="desk", email="desk@example.com", name="Sam Desk")
    desk = app.test_client()
    sign_in(desk)
    page = text(desk.get(f"/desk/visits/{appointment.id}"))
    assert "The session was recorded." in page
    assert "by Dr Rao" in page and "Tuesday 3 March 2026 at 10:45" in page
    for words in clinical:
        assert words not in page, words
