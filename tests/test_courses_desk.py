"""The desk's course pages: a whole series booked in one step, and sessions moved together."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from clinic.booking.models import Appointment
from clinic.courses.forms import local_start
from clinic.courses.models import Course
from clinic.extensions import db
from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import csrf_token

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def clinic(app):
    return make_clinic(practitioners=2, rooms=1)


@pytest.fixture
def desk(signed_in, clinic):
    return signed_in("desk")


@pytest.fixture
def patient(clinic):
    return make_booking(
        "consultation", datetime(2026, 3, 2, 11, 0, tzinfo=UTC), source="desk"
    ).patient


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def book_course(client, patient_id, **overrides):
    data = {
        "service": "microneedling-prp",
        "template": "four-weekly-6",
        "first_date": "2026-03-10",
        "first_time": "10:00",
        "practitioner": "",
    }
    data.update(overrides)
    path = f"/desk/courses/new?patient={patient_id}"
    token = csrf_token(client, path)
    preview = client.post(path, data={"csrf_token": token, "action": "preview", **data})
    if preview.status_code != 200:
        return preview
    return client.post(path, data={**previewed(preview), "action": "confirm", **data})


def previewed(response) -> dict:
    """The hidden fields of a preview, as the browser sends them back with its confirm."""
    page = response.get_data(as_text=True)
    fields = re.findall(r'<input[^>]*type="hidden"[^>]*>', page)
    found = {}
    for tag in fields:
        name = re.search(r'name="([^"]+)"', tag).group(1)
        found[name] = html.unescape(re.search(r'value="([^"]*)"', tag).group(1))
    return found


def the_course() -> Course:
    db.session.rollback()
    return db.session.scalar(select(Course))


def local_starts(course_id) -> list[datetime]:
    db.session.rollback()
    query = (
        select(Appointment.start_at)
        .where(Appointment.course_id == course_id)
        .order_by(Appointment.course_position)
    )
    return [start.astimezone(LONDON).replace(tzinfo=None) for start in db.session.scalars(query)]


def move(client, course_id, position, day, at, shift=False):
    session = db.session.scalar(
        select(Appointment).where(
            Appointment.course_id == course_id, Appointment.course_position == position
        )
    )
    prefix = f"move-{session.id}"
    token = csrf_token(client, f"/desk/courses/{course_id}")
    data = {"csrf_token": token, f"{prefix}-new_date": day, f"{prefix}-new_time": at}
    if shift:
        data[f"{prefix}-shift_later"] = "y"
    return client.post(f"/desk/courses/{course_id}/sessions/{session.id}/move", data=data)


def every(days: int, first: datetime, count: int) -> list[datetime]:
    return [first + timedelta(days=days * n) for n in range(count)]


def appointment_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Appointment))


# --- booking a course ---------------------------------------------------------------------


def test_six_sessions_every_four_weeks_are_booked_in_one_step(desk, patient):
    form = desk.get(f"/desk/courses/new?patient={patient.id}")
    assert form.status_code == 200
    assert "Plan a course for Alex Morgan" in text(form)
    response = book_course(desk, patient.id)
    assert response.status_code == 303
    course = the_course()
    assert response.headers["Location"] == f"/desk/courses/{course.id}"
    assert (course.template_key, course.sessions_planned, course.interval_days) == (
        "four-weekly-6",
        6,
        28,
    )
    # Ten o'clock clinic time every time, before and after the clocks go forward.
    assert local_starts(course.id) == every(28, datetime(2026, 3, 10, 10, 0), 6)
    page = text(desk.get(response.headers["Location"]))
    assert "Course booked: 6 sessions from Tuesday 10 March 2026 at 10:00." in page
    positions = [int(n) for n in re.findall(r"Session (\d): <a", page)]
    assert positions == [1, 2, 3, 4, 5, 6]
    assert "Tuesday 7 April 2026 at 10:00" in page  # summer time, shown in clinic time
    assert page.count(">Booked</span>") == 6
    assert "Not signed yet" in page


def test_a_chosen_practitioner_takes_every_session(desk, patient, clinic):
    chosen = clinic.practitioners[1]
    assert book_course(desk, patient.id, practitioner=str(chosen.id)).status_code == 303
    db.session.rollback()
    ids = db.session.scalars(
        select(Appointment.practitioner_id).where(Appointment.course_id == the_course().id)
    ).all()
    assert set(ids) == {chosen.id}


def test_a_clash_names_the_session_and_books_nothing(desk, patient):
    # The only room is taken at the third session's time.
    make_booking(
        "microneedling",
        datetime(2026, 5, 5, 9, 0, tzinfo=UTC),  # 10:00 summer time
        patient=patient_details(full_name="Other Person", phone="+447911123999"),
        source="desk",
    )
    before = appointment_count()
    response = book_course(desk, patient.id)
    assert response.status_code == 409
    assert "Session 3 (Tuesday 5 May 2026 at 10:00) cannot be booked" in text(response)
    assert "Nothing was booked" in text(response)
    assert the_course() is None
    assert appointment_count() == before


def test_a_course_keeps_seven_days_from_the_patients_other_treatments(desk, patient):
    make_booking(
        "microneedling", datetime(2026, 3, 6, 10, 0, tzinfo=UTC), patient=patient_details()
    )
    before = appointment_count()
    response = book_course(desk, patient.id)
    assert response.status_code == 409
    assert "Session 1 (Tuesday 10 March 2026 at 10:00) cannot be booked" in text(response)
    assert "at least 7 days" in text(response)
    assert appointment_count() == before
    assert book_course(desk, patient.id, first_date="2026-03-13").status_code == 303


def test_a_time_the_clocks_skip_is_refused(desk, patient):
    clinic_hours_all_night = {"first_date": "2026-03-29", "first_time": "01:30"}
    response = book_course(desk, patient.id, **clinic_hours_all_night)
    assert response.status_code == 422
    assert "01:30 does not exist on 29 March 2026" in text(response)
    assert the_course() is None


def test_local_times_become_utc_in_the_clinic_zone():
    assert local_start(date(2026, 3, 10), time(10), LONDON) == datetime(2026, 3, 10, 10, tzinfo=UTC)
    assert local_start(date(2026, 4, 7), time(10), LONDON) == datetime(2026, 4, 7, 9, tzinfo=UTC)
    # 01:30 happens twice when the clocks go back: the first (summer time) one is meant.
    assert local_start(date(2026, 10, 25), time(1, 30), LONDON) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="does not exist"):
        local_start(date(2026, 3, 29), time(1, 30), LONDON)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"first_date": ""}, "Enter the date of the first session."),
        ({"first_date": "2026-02-30"}, "Not a valid date value."),
        ({"first_date": "2026-03-01"}, "That date has passed"),
        ({"first_date": "9999-12-31"}, "within the next three years"),
        ({"first_time": ""}, "Enter the time of the first session"),
        ({"first_time": "25:00"}, "Not a valid time value."),
        ({"template": "daily-100"}, "Choose one of the course plans."),
        ({"service": "consultation"}, "Choose a treatment."),
        ({"practitioner": "999"}, "Choose a practitioner, or anyone free."),
        ({"first_date": "2027-06-01"}, "We take bookings up to 365 days ahead."),
        ({"first_time": "07:00"}, "cannot be booked"),
    ],
)
def test_bad_course_requests_are_refused_with_a_message(desk, patient, overrides, message):
    response = book_course(desk, patient.id, **overrides)
    assert response.status_code in (409, 422)
    assert message in text(response)
    assert the_course() is None


@pytest.mark.parametrize("query", ["", "?patient=", "?patient=abc", "?patient=1e3", "?patient=-1"])
def test_a_malformed_patient_reference_is_a_bad_request(desk, query):
    assert desk.get(f"/desk/courses/new{query}").status_code == 400


def test_an_unknown_patient_is_not_found(desk):
    assert desk.get("/desk/courses/new?patient=999").status_code == 404


def test_the_visit_page_offers_to_plan_a_course_for_its_treatment(desk, clinic):
    appointment = make_booking("microneedling-prp", datetime(2026, 3, 3, 10, tzinfo=UTC))
    page = desk.get(f"/desk/visits/{appointment.id}").get_data(as_text=True)
    link = f"/desk/courses/new?patient={appointment.patient_id}&amp;service=microneedling-prp"
    assert link in page
    form = desk.get(html.unescape(link)).get_data(as_text=True)
    assert '<option selected value="microneedling-prp">' in form


def test_signed_out_visitors_cannot_plan_courses(client, patient):
    response = client.get(f"/desk/courses/new?patient={patient.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- moving sessions ----------------------------------------------------------------------


@pytest.fixture
def course(desk, patient):
    assert book_course(desk, patient.id).status_code == 303
    return the_course()


def test_moving_session_two_with_the_box_ticked_shifts_the_later_ones(desk, course):
    response = move(desk, course.id, 2, "2026-04-09", "11:00", shift=True)
    assert response.status_code == 303
    original = every(28, datetime(2026, 3, 10, 10, 0), 6)
    assert local_starts(course.id) == [
        original[0],
        *every(28, datetime(2026, 4, 9, 11, 0), 5),
    ]
    page = text(desk.get(f"/desk/courses/{course.id}"))
    assert "Session 2 moved to Thursday 9 April 2026 at 11:00. Sessions 3–6 moved with it." in page


def test_moving_session_two_alone_leaves_the_others(desk, course):
    assert move(desk, course.id, 2, "2026-04-09", "11:00").status_code == 303
    expected = every(28, datetime(2026, 3, 10, 10, 0), 6)
    expected[1] = datetime(2026, 4, 9, 11, 0)
    assert local_starts(course.id) == expected
    assert "Session 2 moved to Thursday 9 April 2026 at 11:00." in text(
        desk.get(f"/desk/courses/{course.id}")
    )


def test_moving_a_session_within_seven_days_of_the_next_is_refused(desk, course):
    before = local_starts(course.id)
    response = move(desk, course.id, 2, "2026-04-30", "10:00")
    assert response.status_code == 409
    page = text(response)
    assert "Session 2 cannot move to Thursday 30 April 2026 at 10:00" in page
    assert "at least 7 days" in page and "Nothing was moved." in page
    assert local_starts(course.id) == before
    # Moving the later ones along keeps the gaps, so the same move then works.
    assert move(desk, course.id, 2, "2026-04-30", "10:00", shift=True).status_code == 303


def test_a_clash_for_a_later_session_moves_nothing(desk, course):
    make_booking(
        "microneedling",
        datetime(2026, 5, 7, 10, 0, tzinfo=UTC),  # 11:00 summer time, two days after session 3
        patient=patient_details(full_name="Other Person", phone="+447911123999"),
        source="desk",
    )
    before = local_starts(course.id)
    response = move(desk, course.id, 2, "2026-04-09", "11:00", shift=True)
    assert response.status_code == 409
    assert "Session 3 cannot move to Thursday 7 May 2026 at 11:00" in text(response)
    assert local_starts(course.id) == before


@pytest.mark.parametrize(
    ("day", "at", "message"),
    [
        ("", "10:00", "Enter the new date."),
        ("2026-04-09", "", "Enter the new time"),
        ("2026-13-01", "10:00", "Not a valid date value."),
        ("2026-02-01", "10:00", "That date has passed"),
        ("2026-03-29", "01:30", "does not exist"),
    ],
)
def test_bad_moves_are_refused_with_a_message(desk, course, day, at, message):
    before = local_starts(course.id)
    response = move(desk, course.id, 2, day, at)
    assert response.status_code == 422
    assert message in text(response)
    assert local_starts(course.id) == before


def test_a_session_of_another_course_is_not_found_here(desk, course):
    other = make_booking("consultation", datetime(2026, 3, 3, 10, tzinfo=UTC), source="desk")
    token = csrf_token(desk, f"/desk/courses/{course.id}")
    response = desk.post(
        f"/desk/courses/{course.id}/sessions/{other.id}/move", data={"csrf_token": token}
    )
    assert response.status_code == 404
    assert desk.get("/desk/courses/999").status_code == 404
    assert desk.get("/desk/courses/99999999999999999999").status_code == 404


def test_the_desk_is_offered_only_the_plans_of_the_chosen_treatment(desk, patient):
    path = f"/desk/courses/new?patient={patient.id}&service=microneedling-steroid"
    page = desk.get(path).get_data(as_text=True)
    offered = re.findall(r'<option[^>]*value="([a-z0-9-]+-\d+)"', page)
    assert offered == ["three-weekly-3"]
    # Before a treatment is chosen, each one's plans stand under its own name.
    page = desk.get(f"/desk/courses/new?patient={patient.id}").get_data(as_text=True)
    assert '<optgroup label="Microneedling for patchy hair loss">' in page
    # A plan studied with another treatment is refused, and nothing is booked.
    response = book_course(desk, patient.id, service="microneedling", template="three-weekly-3")
    assert response.status_code == 422
    assert "Choose one of the course plans." in text(response)
    assert the_course() is None
