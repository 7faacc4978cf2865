"""A course is previewed before anything is booked: where each session lands, what clashes and
the free times instead; only an explicit confirm of a clash-free preview books, and exactly it."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from clinic.booking.models import Appointment
from clinic.courses.models import Course
from clinic.extensions import db
from tests.factories import add_time_off, make_booking, make_clinic, patient_details
from tests.helpers import csrf_token

LONDON = ZoneInfo("Europe/London")
FORM = {
    "service": "microneedling-prp",
    "template": "four-weekly-4",
    "first_date": "2026-03-10",
    "first_time": "10:00",
    "practitioner": "",
}


@pytest.fixture
def clinic(app):
    return make_clinic(practitioners=1, rooms=1)


@pytest.fixture
def desk(signed_in, clinic):
    return signed_in("desk")


@pytest.fixture
def patient(clinic):
    return make_booking(
        "consultation", datetime(2026, 3, 2, 11, 0, tzinfo=UTC), source="desk"
    ).patient


def text(response) -> str:
    """The page's words, tags left out."""
    words = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(words))


def send(client, patient, action: str, extra: dict | None = None, **overrides):
    path = f"/desk/courses/new?patient={patient.id}"
    data = {"csrf_token": csrf_token(client, path), "action": action, **FORM, **overrides}
    data.update(extra or {})
    return client.post(path, data=data)


def hidden(response) -> dict:
    found = {}
    for tag in re.findall(r'<input[^>]*type="hidden"[^>]*>', response.get_data(as_text=True)):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        found[name] = html.unescape(re.search(r'value="([^"]*)"', tag).group(1))
    return found


def alternatives(response, position: int) -> list[str]:
    page = response.get_data(as_text=True)
    return re.findall(rf'<input type="radio"[^>]*name="session-{position}" value="([^"]+)"', page)


def counts() -> tuple[int, int]:
    db.session.rollback()
    return (
        db.session.scalar(select(func.count()).select_from(Appointment)),
        db.session.scalar(select(func.count()).select_from(Course)),
    )


def other_patient_at(start: datetime):
    return make_booking(
        "microneedling",
        start,
        patient=patient_details(full_name="Other Person", phone="+447911123999"),
        source="desk",
    )


def test_the_preview_shows_every_sessions_date_and_books_nothing(desk, patient):
    before = counts()
    response = send(desk, patient, "preview")
    assert response.status_code == 200
    page = text(response)
    for day in ("Tuesday 10 March 2026", "7 April 2026", "5 May 2026", "2 June 2026"):
        assert f"{day} at 10:00" in page
    assert "every time is free" in page and "Book the course" in page
    assert counts() == before


def test_a_clash_is_listed_with_the_engines_nearest_free_times(desk, patient):
    other_patient_at(datetime(2026, 5, 5, 9, 0, tzinfo=UTC))  # session 3, 10:00 summer time
    response = send(desk, patient, "preview")
    assert response.status_code == 200
    page = text(response)
    assert "Clash: Taken" in page
    offered = alternatives(response, 3)
    assert offered and "2026-05-05T09:00:00+00:00" not in offered
    assert alternatives(response, 1) == [] and "Book the course" not in page


def test_confirm_books_exactly_the_previewed_times_with_a_chosen_alternative(desk, patient):
    other_patient_at(datetime(2026, 5, 5, 9, 0, tzinfo=UTC))
    first = send(desk, patient, "preview")
    picked = alternatives(first, 3)[0]
    again = send(desk, patient, "preview", {**hidden(first), "session-3": picked})
    assert "every time is free" in text(again)
    shown = {k: v for k, v in hidden(again).items() if k.startswith("session-")}
    assert shown["session-3"] == picked
    response = send(desk, patient, "confirm", hidden(again))
    assert response.status_code == 303
    db.session.rollback()
    course = db.session.scalar(select(Course))
    starts = db.session.scalars(
        select(Appointment.start_at)
        .where(Appointment.course_id == course.id)
        .order_by(Appointment.course_position)
    ).all()
    assert [s.isoformat() for s in starts] == [shown[f"session-{n}"] for n in range(1, 5)]


def test_confirm_with_an_unresolved_clash_books_nothing(desk, patient):
    other_patient_at(datetime(2026, 5, 5, 9, 0, tzinfo=UTC))
    preview = send(desk, patient, "preview")
    before = counts()
    response = send(desk, patient, "confirm", hidden(preview))
    assert response.status_code == 409
    assert "Session 3 (Tuesday 5 May 2026 at 10:00) cannot be booked" in text(response)
    assert counts() == before


def test_confirm_without_a_preview_of_this_first_time_previews_instead(desk, patient):
    preview = send(desk, patient, "preview")
    before = counts()
    response = send(desk, patient, "confirm", hidden(preview), first_date="2026-03-11")
    assert response.status_code == 422
    assert "Check the sessions below, then book." in text(response)
    assert "Wednesday 11 March 2026 at 10:00" in text(response)
    assert counts() == before


def test_a_time_taken_between_preview_and_confirm_books_nothing(desk, patient):
    preview = send(desk, patient, "preview")
    other_patient_at(datetime(2026, 6, 2, 9, 0, tzinfo=UTC))  # session 4 meanwhile
    before = counts()
    response = send(desk, patient, "confirm", hidden(preview))
    assert response.status_code == 409
    assert "Session 4" in text(response) and counts() == before


def test_a_closure_is_named_as_the_clash(desk, patient, clinic):
    add_time_off(
        clinic.location,
        datetime(2026, 4, 7, 0, 0, tzinfo=UTC),
        datetime(2026, 4, 8, 0, 0, tzinfo=UTC),
        reason="Easter",
    )
    page = text(send(desk, patient, "preview"))
    assert "Clash: The clinic is closed then." in page


def test_a_time_outside_working_hours_is_named_as_the_clash(desk, patient):
    page = text(send(desk, patient, "preview", first_time="07:00"))
    assert "Clash: Outside working hours." in page


def test_the_needling_gap_to_another_treatment_is_named_as_the_clash(desk, patient):
    make_booking(
        "microneedling", datetime(2026, 4, 3, 10, 0, tzinfo=UTC), patient=patient_details()
    )
    page = text(send(desk, patient, "preview"))
    assert "Less than 7 days from another of the patient's treatments." in page


def test_the_first_session_time_is_chosen_among_the_days_free_times(desk, patient):
    other_patient_at(datetime(2026, 3, 10, 10, 0, tzinfo=UTC))
    response = send(desk, patient, "times", first_time="")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    select_box = re.search(r'<select id="first_time".*?</select>', page, re.S).group(0)
    offered = re.findall(r'value="(\d\d:\d\d)"', select_box)
    assert "11:00" in offered and "10:00" not in offered
    assert "Enter the time of the first session" not in text(response)


def test_before_a_date_is_chosen_no_time_is_guessed(desk, patient):
    page = text(desk.get(f"/desk/courses/new?patient={patient.id}"))
    assert "Choose the date of the first session, then show its free times." in page
