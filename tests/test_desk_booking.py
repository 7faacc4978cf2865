"""Booking at the desk: a patient who phones or walks in, found or entered, booked into a time
the engine offers, recorded under the desk's own source."""

from __future__ import annotations

import html
import re
import threading
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from clinic.actors import Actor, ActorKind
from clinic.audit.models import AuditEvent
from clinic.booking.desk import DeskBookingRequest, book_at_desk, booking_page
from clinic.booking.models import Appointment, source_words
from clinic.booking.services import default_actor, policy
from clinic.errors import ScreeningStopped, SlotUnavailable, ValidationFailed
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.screening.models import Screening
from clinic.sms import suppression
from clinic.sms.models import OutboundText
from tests.factories import add_time_off, all_no, make_booking, make_clinic, patient_details
from tests.helpers import csrf_token

# The clock starts on Monday 2 March 2026, 08:00 UTC (08:00 in London); the clinic opens 09-17.
TEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PATH = "/desk/book"


@pytest.fixture
def clinic(app):
    return make_clinic(practitioners=2, rooms=2)


@pytest.fixture
def desk(signed_in, clinic):
    return signed_in("desk")


@pytest.fixture
def on_record(clinic):
    """A patient who booked online before, on Wednesday."""
    return make_booking("consultation", datetime(2026, 3, 4, 9, 0, tzinfo=UTC)).patient


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def page_path(**args) -> str:
    return PATH + ("?" + urlencode(args) if args else "")


def post(client, args: dict, **data):
    path = page_path(**args)
    body = {
        "csrf_token": csrf_token(client, path),
        "source": "phone",
        "screening_when": "later",
        "submission_key": "k" * 24,
    }
    body.update(data)
    return client.post(path, data={k: v for k, v in body.items() if v is not None})


def new_patient(**overrides) -> dict:
    values = {
        "full_name": "Robin Hale",
        "mobile": "07812 345678",
        "email": "",
        "date_of_birth": "03/05/1979",
    }
    values.update(overrides)
    return values


def appointments() -> list[Appointment]:
    db.session.rollback()
    return list(db.session.scalars(select(Appointment).order_by(Appointment.id)))


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


# --- the service ------------------------------------------------------------------------


def desk_request(**overrides) -> DeskBookingRequest:
    values = dict(
        service_slug="consultation",
        start=TEN,
        source="phone",
        details=patient_details(),
    )
    values.update(overrides)
    return DeskBookingRequest(**values)


@pytest.mark.parametrize("source", ["desk", "phone", "walk_in"])
def test_each_desk_source_is_recorded_on_the_visit(clinic, source):
    appointment = book_at_desk(desk_request(source=source), by=desk_actor())
    assert appointment.source == source
    assert appointment.status == "booked"


@pytest.mark.parametrize("source", ["online", "fax", ""])
def test_a_source_that_is_not_a_desk_one_is_refused(clinic, source):
    with pytest.raises(ValidationFailed) as refused:
        book_at_desk(desk_request(source=source), by=desk_actor())
    assert "source" in refused.value.errors
    assert count(Appointment) == 0


def test_sources_read_in_words():
    assert [source_words(s) for s in ("phone", "walk_in", "desk", "online")] == [
        "Phone",
        "Walk-in",
        "Desk",
        "Online",
    ]


def test_the_desk_books_without_notice_but_never_in_the_past(clinic, clock):
    # 08:00 now: 08:45 would be refused online (two hours' notice), not at the desk.
    clock.set(datetime(2026, 3, 2, 8, 50, tzinfo=UTC))
    soon = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert book_at_desk(desk_request(start=soon), by=desk_actor()).start_at == soon
    with pytest.raises(ValidationFailed) as refused:
        book_at_desk(
            desk_request(
                start=datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
                details=patient_details(full_name="Other Person", phone="+447911000111"),
            ),
            by=desk_actor(),
        )
    assert "passed" in refused.value.errors["start"][0]


def test_the_desk_books_up_to_its_horizon_and_not_beyond(app, clinic):
    horizon = app.config["DESK_HORIZON_DAYS"]
    within = datetime(2026, 3, 2, 10, 0, tzinfo=UTC) + timedelta(days=horizon - 7)
    while within.weekday() == 6:
        within -= timedelta(days=1)
    assert book_at_desk(desk_request(start=within), by=desk_actor()).start_at == within
    beyond = TEN + timedelta(days=horizon + 7)
    with pytest.raises(ValidationFailed) as refused:
        book_at_desk(desk_request(start=beyond), by=desk_actor())
    assert f"{horizon} days" in refused.value.errors["start"][0]


def test_a_time_already_taken_is_refused_and_nothing_is_written(clinic):
    for n in range(2):  # both practitioners at ten
        book_at_desk(
            desk_request(details=patient_details(full_name=f"P {n}", phone=f"+44791100011{n}")),
            by=desk_actor(),
        )
    patients = count(Patient)
    with pytest.raises(SlotUnavailable):
        book_at_desk(desk_request(), by=desk_actor())
    assert count(Patient) == patients and count(Appointment) == 2


def test_a_patient_on_record_is_booked_as_they_are(clinic, on_record):
    before = (on_record.full_name, on_record.phone, on_record.sms_opt_in)
    appointment = book_at_desk(
        desk_request(patient_id=on_record.id, details=None, sms_opt_in=True), by=desk_actor()
    )
    assert appointment.patient_id == on_record.id
    db.session.refresh(on_record)
    assert (on_record.full_name, on_record.phone, on_record.sms_opt_in) == before


def test_screening_left_for_check_in_books_without_answers(clinic):
    appointment = book_at_desk(
        desk_request(service_slug="microneedling", screening=None), by=desk_actor()
    )
    assert appointment.status == "booked"
    assert count_screenings() == 0


def test_screening_now_records_the_answers(clinic):
    appointment = book_at_desk(
        desk_request(service_slug="microneedling", screening=all_no("microneedling")),
        by=desk_actor(),
    )
    assert appointment.status == "booked"
    assert count_screenings() == 1


def test_a_review_answer_holds_the_visit_for_review(clinic):
    answers = {**all_no("microneedling"), "anticoagulant": True}
    appointment = book_at_desk(
        desk_request(service_slug="microneedling", screening=answers), by=desk_actor()
    )
    assert appointment.status == "needs_review"


def test_a_blocking_answer_refuses_and_books_nothing(clinic):
    answers = {**all_no("microneedling"), "pregnancy": True}
    with pytest.raises(ScreeningStopped):
        book_at_desk(desk_request(service_slug="microneedling", screening=answers), by=desk_actor())
    assert count(Appointment) == 0 and count(Patient) == 0


def test_the_same_form_sent_twice_books_once(clinic):
    first = book_at_desk(desk_request(submission_key="s" * 24), by=desk_actor())
    again = book_at_desk(desk_request(submission_key="s" * 24), by=desk_actor())
    assert again.id == first.id and count(Appointment) == 1


def test_a_service_not_offered_online_is_bookable_at_the_desk(clinic):
    clinic.services["microneedling-steroid"].bookable_online = False
    db.session.commit()
    appointment = book_at_desk(desk_request(service_slug="microneedling-steroid"), by=desk_actor())
    assert appointment.service.slug == "microneedling-steroid"


def test_the_page_offers_the_days_free_times_and_flags_a_gap_no_longer_free(clinic):
    make_booking("consultation", TEN, source="desk")
    page = booking_page(
        new_patient=True,
        service_slug="consultation",
        practitioner_id=clinic.practitioners[0].id,
        start=TEN,
    )
    starts = [slot.start for slot in page.times]
    assert TEN not in starts and datetime(2026, 3, 2, 9, 0, tzinfo=UTC) in starts
    assert not page.asked_free
    assert page.nearest and all(slot.start != TEN for slot in page.nearest)


def count_screenings(appointment=None) -> int:
    db.session.rollback()
    query = select(func.count()).select_from(Screening)
    if appointment is not None:
        query = query.where(Screening.appointment_id == appointment.id)
    return db.session.scalar(query)


def desk_actor():
    return Actor(ActorKind.DESK)


# --- the page ---------------------------------------------------------------------------


def test_the_staff_nav_offers_a_new_booking(desk):
    assert 'href="/desk/book"' in desk.get("/desk").get_data(as_text=True)


def test_search_lists_matches_with_birth_date_national_phone_and_duplicate_flag(desk, on_record):
    make_booking(
        "consultation",
        datetime(2026, 3, 5, 9, 0, tzinfo=UTC),
        patient=patient_details(full_name="Alexa Morgan"),
    )
    response = desk.get(page_path(q="morgan"))
    assert response.status_code == 200
    body = text(response)
    assert "Alex Morgan" in body and "Alexa Morgan" in body
    assert "12/04/1988" in body and "07911 123456" in body
    assert "Possible duplicate" in body
    assert f"patient={on_record.id}" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["07911 123456", "12/04/1988", "+447911123456"])
def test_search_finds_by_phone_or_date_of_birth(desk, on_record, query):
    assert "Alex Morgan" in text(desk.get(page_path(q=query)))


def test_a_phone_patient_on_record_is_booked_and_lands_on_the_visit_page(desk, on_record):
    start = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
    args = {"patient": on_record.id, "service": "consultation", "day": "2026-03-03"}
    page = desk.get(page_path(**args)).get_data(as_text=True)
    assert start.isoformat() in page  # offered as a free time
    response = post(desk, args, start=start.isoformat(), source="phone")
    assert response.status_code == 303
    visit = appointments()[-1]
    assert response.headers["Location"] == f"/desk/visits/{visit.id}"
    assert (visit.patient_id, visit.source, visit.start_at) == (on_record.id, "phone", start)
    followed = text(desk.get(response.headers["Location"]))
    assert "Booked by phone for Tuesday 3 March 2026 at 11:00." in followed
    assert "Phone," in followed
    assert count_audit("visit.book", visit.id) == 1


def count_audit(action: str, appointment_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == action, AuditEvent.appointment_id == appointment_id)
    )


@pytest.mark.parametrize("source", ["walk_in", "desk"])
def test_a_new_patient_is_created_with_the_source_chosen(desk, clinic, source):
    args = {"new": "1", "service": "consultation", "day": "2026-03-02"}
    response = post(desk, args, start=TEN.isoformat(), source=source, **new_patient())
    assert response.status_code == 303
    visit = appointments()[-1]
    assert visit.source == source
    assert (visit.patient.full_name, visit.patient.phone) == ("Robin Hale", "+447812345678")
    assert visit.patient.date_of_birth == date(1979, 5, 3)


def test_a_new_patient_with_the_details_of_one_on_record_is_that_patient(desk, on_record):
    args = {"new": "1", "service": "consultation"}
    details = new_patient(
        full_name="alex  MORGAN", mobile="07911 123456", date_of_birth="12/04/1988"
    )
    assert post(desk, args, start=TEN.isoformat(), **details).status_code == 303
    assert appointments()[-1].patient_id == on_record.id
    assert count(Patient) == 1


def test_a_number_that_said_stop_stays_suppressed_after_a_desk_booking(desk, clinic):
    suppression.suppress("+447812345678")
    db.session.commit()
    args = {"new": "1", "service": "consultation"}
    response = post(desk, args, start=TEN.isoformat(), sms_opt_in="y", **new_patient())
    assert response.status_code == 303
    assert "stop texting" in text(desk.get(response.headers["Location"]))
    db.session.rollback()
    assert suppression.is_suppressed("+447812345678")


def test_health_questions_asked_now_are_recorded_and_a_review_answer_holds(desk, on_record):
    args = {"patient": on_record.id, "service": "microneedling"}
    page = text(desk.get(page_path(**args)))
    assert "blood thinner" in page and "Leave them for check-in" in page
    answers = {f"answer_{key}": "no" for key in all_no("microneedling")}
    answers["answer_anticoagulant"] = "yes"
    response = post(desk, args, start=TEN.isoformat(), screening_when="now", **answers)
    assert response.status_code == 303
    assert appointments()[-1].status == "needs_review"
    assert "Needs review" in text(desk.get(response.headers["Location"]))
    assert count_screenings(appointments()[-1]) == 1


def test_health_questions_left_for_check_in_book_without_a_screening(desk, on_record):
    args = {"patient": on_record.id, "service": "microneedling"}
    answers = {"answer_pregnancy": "yes"}  # typed but not asked: ignored
    response = post(desk, args, start=TEN.isoformat(), screening_when="later", **answers)
    assert response.status_code == 303
    assert appointments()[-1].status == "booked"
    assert count_screenings(appointments()[-1]) == 0
    assert "signs the consent" in text(desk.get(response.headers["Location"]))


def test_a_blocking_answer_refuses_with_the_message_and_books_nothing(desk, on_record):
    args = {"patient": on_record.id, "service": "microneedling"}
    answers = {f"answer_{key}": "no" for key in all_no("microneedling")}
    answers["answer_pregnancy"] = "yes"
    response = post(desk, args, start=TEN.isoformat(), screening_when="now", **answers)
    assert response.status_code == 422
    assert "Not booked" in text(response)
    assert len(appointments()) == 1  # the patient's earlier consultation only


def test_unanswered_questions_asked_now_get_field_messages(desk, on_record):
    args = {"patient": on_record.id, "service": "microneedling"}
    response = post(desk, args, start=TEN.isoformat(), screening_when="now")
    assert response.status_code == 422
    assert 'id="answer_pregnancy-error"' in response.get_data(as_text=True)
    assert len(appointments()) == 1


def test_a_time_taken_meanwhile_is_a_409_with_the_nearest_free_times(desk, clinic, on_record):
    args = {"patient": on_record.id, "service": "consultation"}
    path = page_path(**args)
    token = csrf_token(desk, path)
    for n in range(2):
        make_booking(
            "consultation",
            TEN,
            source="desk",
            patient=patient_details(full_name=f"Q {n}", phone=f"+44791100022{n}"),
        )
    response = desk.post(
        path,
        data={
            "csrf_token": token,
            "start": TEN.isoformat(),
            "source": "phone",
            "screening_when": "later",
        },
    )
    assert response.status_code == 409
    body = text(response)
    assert "no longer free" in body
    offered = re.findall(
        r'<input[^>]*name="start"[^>]*value="([^"]+)"', response.get_data(as_text=True)
    )
    assert offered and TEN.isoformat() not in offered
    assert len(appointments()) == 3


def test_a_calendar_gap_link_prefills_practitioner_service_and_time(desk, clinic, on_record):
    practitioner = clinic.practitioners[1]
    args = {
        "patient": on_record.id,
        "practitioner": practitioner.id,
        "start": "2026-03-02T10:00:00+00:00",
        "room": clinic.rooms[1].id,
        "service": "microneedling",
    }
    page = desk.get(page_path(**args)).get_data(as_text=True)
    assert re.search(r'checked[^>]*value="2026-03-02T10:00:00\+00:00"', page)
    assert f'<option value="{practitioner.id}" selected' in page
    assert 'value="microneedling" selected' in page
    response = post(desk, args, start=TEN.isoformat())
    assert response.status_code == 303
    visit = appointments()[-1]
    assert (visit.practitioner_id, visit.service.slug) == (practitioner.id, "microneedling")


def test_a_gap_no_longer_free_says_so_and_offers_the_nearest(desk, clinic):
    practitioner = clinic.practitioners[0]
    make_booking("consultation", TEN, source="desk", practitioner_id=practitioner.id)
    args = {"new": "1", "practitioner": practitioner.id, "start": TEN.isoformat()}
    body = text(desk.get(page_path(**args)))
    assert "is no longer free" in body and "nearest free times" in body


def test_a_gap_link_with_an_unencoded_plus_in_its_offset_still_reads(desk, clinic):
    response = desk.get(PATH + "?new=1&start=2026-03-02T10:00:00+00:00")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "?start=tomorrow",
        "?start=2026-03-02T10:00:00",
        "?practitioner=abc",
        "?room=-1",
        "?day=2026-13-40",
        "?service=Not%20a%20slug!",
        "?patient=x",
    ],
)
def test_malformed_arguments_are_a_bad_request(desk, clinic, query):
    assert desk.get(PATH + query).status_code == 400


@pytest.mark.parametrize(
    "query", ["?practitioner=999", "?room=999", "?service=no-such-service", "?patient=999"]
)
def test_arguments_naming_nothing_are_not_found(desk, clinic, query):
    assert desk.get(PATH + query).status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"full_name": ""}, "full_name", "full name"),
        ({"mobile": "12"}, "mobile", ""),
        ({"date_of_birth": "31/02/1980"}, "date_of_birth", "day/month/year"),
        ({"date_of_birth": "01/01/2030"}, "date_of_birth", "past"),
        ({"email": "not-an-email"}, "email", "email"),
        ({"start": ""}, "start", "free times"),
        ({"start": "soon"}, "start", "free times"),
        ({"source": "online"}, "source", "phone, walk-in or desk"),
        ({"source": ""}, "source", "phone, walk-in or desk"),
        ({"screening_when": "maybe"}, "screening_when", "health questions"),
    ],
)
def test_bad_inputs_get_a_field_message_and_422_and_nothing_is_written(
    desk, clinic, overrides, field, message
):
    data = {**new_patient(), "start": TEN.isoformat(), **overrides}
    response = post(desk, {"new": "1", "service": "consultation"}, **data)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert message in text(response)
    assert count(Appointment) == 0 and count(Patient) == 0


def test_a_time_in_the_past_is_refused_with_a_field_message(desk, clinic):
    past = datetime(2026, 3, 2, 7, 0, tzinfo=UTC).isoformat()
    response = post(desk, {"new": "1"}, start=past, **new_patient())
    assert response.status_code == 422
    assert "already passed" in text(response)
    assert count(Appointment) == 0


def test_a_closure_leaves_no_free_times_that_day(desk, clinic):
    add_time_off(
        clinic.location,
        datetime(2026, 3, 3, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 4, 0, 0, tzinfo=UTC),
    )
    body = text(desk.get(page_path(new="1", day="2026-03-03")))
    assert "No free times that day" in body


def test_a_day_beyond_the_desk_horizon_shows_today_with_a_message(app, desk, clinic):
    far = (date(2026, 3, 2) + timedelta(days=app.config["DESK_HORIZON_DAYS"] + 3)).isoformat()
    body = text(desk.get(page_path(new="1", day=far)))
    assert "showing today instead" in body


def test_booking_without_a_patient_chosen_is_refused(desk, clinic):
    response = post(desk, {"service": "consultation"}, start=TEN.isoformat())
    assert response.status_code == 422
    assert count(Appointment) == 0


def test_the_form_sent_twice_books_once_on_the_page(desk, on_record):
    args = {"patient": on_record.id, "service": "consultation"}
    first = post(desk, args, start=TEN.isoformat())
    second = post(desk, args, start=TEN.isoformat())
    assert first.headers["Location"] == second.headers["Location"]
    assert len(appointments()) == 2  # the earlier consultation and this one


def test_texts_are_planned_for_a_desk_booking(desk, on_record):
    args = {"patient": on_record.id, "service": "consultation", "day": "2026-03-03"}
    start = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
    assert post(desk, args, start=start.isoformat()).status_code == 303
    visit = appointments()[-1]
    kinds = set(
        db.session.scalars(select(OutboundText.kind).where(OutboundText.appointment_id == visit.id))
    )
    assert "confirmation" in kinds


def test_the_desk_books_for_any_staff_role(signed_in, clinic, on_record):
    practitioner = signed_in("practitioner")
    args = {"patient": on_record.id, "service": "consultation"}
    assert post(practitioner, args, start=TEN.isoformat()).status_code == 303


# --- racing desks -------------------------------------------------------------------------


def test_two_desks_booking_the_last_free_chair_at_once_book_it_once(any_app):
    make_clinic(practitioners=1, rooms=1)
    racers = 6
    barrier = threading.Barrier(racers)
    outcomes: list = [None] * racers

    def run(index):
        with any_app.app_context():
            request = desk_request(
                source=("phone", "walk_in", "desk")[index % 3],
                details=patient_details(full_name=f"Racer {index}", phone=f"+4479111{index:05d}"),
            )
            try:
                barrier.wait(timeout=30)
                outcomes[index] = book_at_desk(request, by=desk_actor()).id
            except Exception as exc:
                outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    booked = [o for o in outcomes if isinstance(o, int)]
    assert len(booked) == 1, outcomes
    assert all(isinstance(o, SlotUnavailable) for o in outcomes if not isinstance(o, int))
    assert count(Appointment) == 1 and count(Patient) == 1


def test_a_gap_link_in_summer_time_checks_the_same_instant(desk, clinic):
    # 11:00 in London on 1 April is 10:00 UTC.
    body = desk.get(page_path(new="1", start="2026-04-01T11:00:00+01:00")).get_data(as_text=True)
    assert re.search(r'checked[^>]*value="2026-04-01T10:00:00\+00:00"', body)


@pytest.mark.parametrize("source", ["desk", "phone", "walk_in"])
def test_every_desk_source_follows_the_desks_policy_and_actor(app, source):
    rules = policy(source)
    assert rules.min_notice == timedelta(0)
    assert rules.horizon == timedelta(days=app.config["DESK_HORIZON_DAYS"])
    assert default_actor(source).kind is ActorKind.DESK
    assert policy("online").min_notice > timedelta(0)
