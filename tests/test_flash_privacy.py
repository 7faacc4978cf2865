"""Flash messages travel in the session cookie, which anyone holding it can read without the
secret key: after each staff action the cookie names no patient and no clinical outcome."""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from clinic.screening.models import Screening
from tests.factories import all_no, make_booking, make_clinic, patient_details
from tests.helpers import csrf_token, make_staff, sign_in

TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
NAMES = ("Ada", "Quartermaine")
# Review decisions, screening outcomes and what a session found: none of these in a cookie.
OUTCOME_WORDS = (
    "approv",
    "declin",
    "clear",
    "did not",
    "cannot go ahead",
    "on hold",
    "defer",
    "block",
    "adverse",
    "redness",
    "pregnan",
    "allerg",
)
SESSION = {
    "device": "pen",
    "needle_depth_mm": "1.0",
    "areas": ["crown"],
    "numbing_used": "y",
    "add_ons": ["minoxidil"],
    "cartridge_lot": "CT-1",
    "prp_kit_lot": "",
    "notes": "Mild redness at the crown.",
}


def readable(client) -> str:
    """The session cookie as an outsider reads it: base64 (and zlib) JSON, no key needed."""
    value = client.get_cookie("session").value
    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".", 1)[0]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return (zlib.decompress(data) if compressed else data).decode()


def assert_private(client, action: str) -> None:
    cookie = readable(client)
    assert "_flashes" in cookie, f"{action}: no flash message to check"
    flashes = json.dumps(json.loads(cookie)["_flashes"]).lower()
    for word in (*(name.lower() for name in NAMES), *OUTCOME_WORDS):
        assert word not in flashes, f"{action}: {word!r} in the cookie: {flashes}"


def patient(phone: str):
    return patient_details(full_name="Ada Quartermaine", phone=phone, email="ada@example.com")


def screening_of(db, appointment) -> Screening:
    db.session.rollback()
    return db.session.query(Screening).filter_by(appointment_id=appointment.id).one()


def post(client, path: str, data=None, form_on: str | None = None):
    token = csrf_token(client, form_on or path.rsplit("/", 1)[0])
    response = client.post(path, data={"csrf_token": token, **(data or {})})
    assert response.status_code in (302, 303), (path, response.status_code)
    return response


@pytest.fixture
def staff(app):
    make_clinic()
    make_staff(role="practitioner", email="dr@example.com", name="Dr Rao")
    make_staff(role="desk", email="desk@example.com", name="Sam Desk")
    doctor, desk = app.test_client(), app.test_client()
    sign_in(doctor, email="dr@example.com")
    sign_in(desk, email="desk@example.com")
    return doctor, desk


@pytest.mark.parametrize("decision", ["approve", "decline"])
def test_a_review_decision_leaves_no_name_or_outcome_in_the_cookie(staff, db, decision):
    doctor, _ = staff
    answers = all_no("microneedling") | {"anticoagulant": True}
    held = make_booking(
        "microneedling", TUESDAY_10, patient=patient("+447911123001"), screening=answers
    )
    screening = screening_of(db, held)
    post(
        doctor,
        f"/review/{screening.id}/{decision}",
        {"reason": "Needs a letter first"},
        form_on=f"/review/{screening.id}",
    )
    assert_private(doctor, decision)


@pytest.mark.parametrize("answer", [None, "pregnancy", "metal_allergy"])
def test_a_desk_rescreen_leaves_no_outcome_in_the_cookie(staff, answer):
    _, desk = staff
    appointment = make_booking("microneedling", TUESDAY_10, patient=patient("+447911123002"))
    answers = all_no("microneedling") | ({answer: True} if answer else {})
    post(
        desk,
        f"/desk/visits/{appointment.id}/rescreen",
        {f"screening-{key}": "yes" if value else "no" for key, value in answers.items()},
        form_on=f"/desk/visits/{appointment.id}",
    )
    assert_private(desk, f"rescreen {answer}")


def test_check_in_session_record_and_no_show_leave_no_name_in_the_cookie(staff, clock):
    doctor, desk = staff
    visit = "/desk/visits/{}"
    appointment = make_booking("microneedling", TUESDAY_10, patient=patient("+447911123003"))
    clock.set(TUESDAY_10 - timedelta(minutes=20))
    post(
        desk,
        visit.format(appointment.id) + "/check-in",
        {"changes": "no"},
        visit.format(appointment.id),
    )
    assert_private(desk, "check-in")
    clock.set(TUESDAY_10 + timedelta(minutes=45))
    post(doctor, visit.format(appointment.id) + "/complete", SESSION, visit.format(appointment.id))
    assert_private(doctor, "session recorded")

    later = make_booking(
        "microneedling", TUESDAY_10 + timedelta(days=8), patient=patient("+447911123003")
    )
    clock.set(later.start_at + timedelta(minutes=30))
    post(desk, visit.format(later.id) + "/no-show", form_on=visit.format(later.id))
    assert_private(desk, "no-show")


@pytest.mark.parametrize("flagged", [None, "anticoagulant"])
def test_a_desk_booking_leaves_no_name_or_outcome_in_the_cookie(staff, flagged):
    _, desk = staff
    path = "/desk/book?new=1&service=microneedling"
    answers = {
        f"answer_{key}": "yes" if key == flagged else "no" for key in all_no("microneedling")
    }
    details = {
        "full_name": "Ada Quartermaine",
        "mobile": "07812 345678",
        "date_of_birth": "01/02/1980",
        "start": TUESDAY_10.isoformat(),
        "source": "walk_in",
        "screening_when": "now",
    }
    post(desk, path, {**details, **answers}, form_on=path)
    assert_private(desk, f"desk booking {flagged}")
