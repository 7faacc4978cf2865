"""Screening decides a booking before the slot is held (service layer)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from clinic.booking.models import Appointment, AppointmentStatus
from clinic.consent.models import SignedConsent
from clinic.errors import ChangeNotAllowed, ScreeningStopped, ValidationFailed
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.screening import questions
from clinic.screening import services as screening_services
from clinic.screening.models import ReviewStatus, Screening
from tests.factories import all_no, make_booking, make_clinic, patient_details
from tests.helpers import make_staff

TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def counts():
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Appointment, Patient, Screening, SignedConsent)
    )


@pytest.fixture
def practitioner(app):
    return make_staff(role="practitioner", email="dr@example.com", name="Dr Rao")


def test_block_stops_the_booking_and_writes_nothing(app):
    make_clinic()
    with pytest.raises(ScreeningStopped) as caught:
        make_booking(
            "microneedling", TUESDAY_10, screening=all_no("microneedling") | {"keloid": True}
        )
    assert caught.value.keys == ("keloid",)
    assert caught.value.outcome == "block"
    assert "+44 20 7946 0000" in caught.value.message
    assert counts() == (0, 0, 0, 0)


def test_defer_stops_the_booking_and_says_to_book_again_later(app):
    make_clinic()
    answers = all_no("microneedling") | {"active_infection": True}
    with pytest.raises(ScreeningStopped) as caught:
        make_booking("microneedling", TUESDAY_10, screening=answers)
    assert caught.value.outcome == "defer"
    assert "book again" in caught.value.message
    assert counts() == (0, 0, 0, 0)


def test_a_decisive_block_is_reported_even_when_other_answers_are_missing(app):
    make_clinic()
    with pytest.raises(ScreeningStopped):
        make_booking("microneedling", TUESDAY_10, screening={"pregnancy": True})


def test_missing_answers_are_field_errors(app):
    make_clinic()
    answers = all_no("microneedling-prp")
    del answers["prp_relative"]
    with pytest.raises(ValidationFailed) as caught:
        make_booking("microneedling-prp", TUESDAY_10, screening=answers)
    assert list(caught.value.errors) == ["screening.prp_relative"]
    assert counts() == (0, 0, 0, 0)


def test_review_holds_the_slot_as_needs_review_and_queues_it(app):
    make_clinic(practitioners=1, rooms=1)
    answers = all_no("microneedling") | {"anticoagulant": True}
    appointment = make_booking("microneedling", TUESDAY_10, screening=answers)
    assert appointment.status == AppointmentStatus.NEEDS_REVIEW
    queued = screening_services.review_queue()
    assert [s.appointment_id for s in queued] == [appointment.id]
    assert queued[0].flagged == ["anticoagulant"]
    # The held time is not offered to anyone else.
    with pytest.raises(Exception, match="no longer free"):
        make_booking("microneedling", TUESDAY_10, patient=patient_details(phone="+447911000009"))


def test_under_18_on_the_visit_day_cannot_book_needling_but_can_book_a_consultation(app):
    make_clinic()
    minor = patient_details(date_of_birth=date(2008, 3, 4))
    with pytest.raises(ScreeningStopped) as caught:
        make_booking("microneedling", TUESDAY_10, patient=minor)
    assert caught.value.keys == ("under_18",)
    assert make_booking("consultation", TUESDAY_10, patient=minor).status == "booked"


def test_answers_are_kept_with_the_questionnaire_version(app):
    make_clinic()
    answers = all_no("microneedling-steroid") | {"product_allergy": True}
    appointment = make_booking("microneedling-steroid", TUESDAY_10, screening=answers)
    screening = db.session.scalar(select(Screening))
    assert screening.appointment_id == appointment.id
    assert screening.questionnaire_version == questions.CURRENT_VERSION
    assert screening.answers == answers
    assert screening.outcome == "review" and screening.review_status == ReviewStatus.PENDING


def test_a_new_questionnaire_version_never_rewrites_old_answers(app, monkeypatch):
    make_clinic()
    first = make_booking("microneedling", TUESDAY_10)
    old = db.session.scalar(select(Screening))
    old_answers = dict(old.answers)
    version_2 = questions.Questionnaire(
        version=2,
        effective=date(2026, 6, 1),
        questions=questions.VERSION_1.questions
        + (questions.Question("new_question", questions.Outcome.REVIEW, ("needling",), "New?"),),
    )
    monkeypatch.setitem(questions.VERSIONS, 2, version_2)
    monkeypatch.setattr(questions, "CURRENT_VERSION", 2)
    # Answers to an old version no longer clear a visit: the patient is screened again.
    assert screening_services.valid_screening_for(first) is None
    second = make_booking(
        "microneedling",
        TUESDAY_10 + timedelta(days=7),
        screening=all_no("microneedling"),
    )
    db.session.expire_all()
    stored = db.session.get(Screening, old.id)
    assert (stored.questionnaire_version, stored.answers) == (1, old_answers)
    newer = db.session.scalar(select(Screening).where(Screening.appointment_id == second.id))
    assert newer.questionnaire_version == 2 and "new_question" in newer.answers
    # Only a screening of the current version, answered for that visit, counts for it: the
    # newer answers clear the second visit, never the first.
    assert screening_services.valid_screening_for(second).id == newer.id
    assert screening_services.valid_screening_for(first) is None


def test_approval_confirms_and_decline_cancels_with_a_reason(app, practitioner):
    make_clinic(rooms=2)
    review = all_no("microneedling") | {"metal_allergy": True}
    first = make_booking("microneedling", TUESDAY_10, screening=review)
    second = make_booking(
        "microneedling",
        TUESDAY_10,
        screening=review,
        patient=patient_details(phone="+447911000010"),
    )
    one, two = screening_services.review_queue()
    screening_services.approve(one.id, practitioner)
    assert db.session.get(Appointment, first.id).status == AppointmentStatus.CONFIRMED
    with pytest.raises(ValidationFailed):
        screening_services.decline(two.id, practitioner, "   ")
    screening_services.decline(two.id, practitioner, "Needs a chat with the prescriber first")
    declined = db.session.get(Appointment, second.id)
    assert declined.status == AppointmentStatus.CANCELLED
    assert "call" in declined.cancel_reason
    assert db.session.get(Screening, two.id).review_note.startswith("Needs a chat")
    with pytest.raises(ChangeNotAllowed):
        screening_services.approve(two.id, practitioner)
    assert screening_services.review_queue() == []


def test_desk_bookings_may_come_without_screening(app):
    make_clinic()
    appointment = make_booking("microneedling", TUESDAY_10, source="desk")
    assert appointment.status == AppointmentStatus.BOOKED
    assert counts()[2:] == (0, 0)


def test_reading_screenings_never_logs_the_answers_even_at_debug(app, caplog):
    import logging

    make_clinic()
    make_booking(
        "microneedling", TUESDAY_10, screening=all_no("microneedling") | {"anticoagulant": True}
    )
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    db.session.expire_all()
    assert screening_services.review_queue()[0].answers["anticoagulant"] is True
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "SELECT" in logged  # the capture works
    assert "anticoagulant" not in logged
