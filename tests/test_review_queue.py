"""The practitioners' review queue: order, answers, history, approve and decline, roles."""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from clinic.booking.models import AppointmentStatus
from clinic.extensions import db
from clinic.screening import questions
from clinic.screening.models import ReviewStatus, Screening
from tests.factories import all_no, make_booking, make_clinic, patient_details
from tests.helpers import csrf_token, make_staff, sign_in

ANTICOAGULANT = questions.VERSION_1.question("anticoagulant").text
ISOTRETINOIN = questions.VERSION_1.question("isotretinoin_6m").text
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def review_answers(slug="microneedling", **yes):
    return all_no(slug) | dict.fromkeys(yes or {"anticoagulant": True}, True)


def held_booking(start=TUESDAY_10, slug="microneedling", answers=None, **patient):
    details = patient_details(**patient)
    return make_booking(slug, start, patient=details, screening=answers or review_answers(slug))


def screening_for(appointment) -> Screening:
    db.session.rollback()
    return db.session.query(Screening).filter_by(appointment_id=appointment.id).one()


@pytest.fixture
def practitioner(app, signed_in):
    make_clinic()
    return signed_in("practitioner", email="dr@example.com", name="Dr Rao")


def post(client, path, data=None):
    token = csrf_token(client, "/review")
    return client.post(path, data={"csrf_token": token, **(data or {})})


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def test_queue_lists_pending_screenings_oldest_first_with_the_yes_answers(practitioner, clock):
    first = held_booking(full_name="Ada First", phone="+447911123001")
    clock.advance(minutes=30)
    second = held_booking(
        TUESDAY_10 + timedelta(hours=2),
        full_name="Bo Second",
        phone="+447911123002",
        answers=review_answers(isotretinoin_6m=True),
    )
    make_booking("microneedling", TUESDAY_10 + timedelta(days=1))  # all "no": never queued
    page = text(practitioner.get("/review"))
    assert page.index("Ada First") < page.index("Bo Second")
    assert "Alex Morgan" not in page
    ada, bo = page.split("Ada First", 1)[1].split("Bo Second", 1)
    assert ANTICOAGULANT in ada and ISOTRETINOIN not in ada
    assert ISOTRETINOIN in bo and ANTICOAGULANT not in bo
    assert "age 37" in ada  # born 12 April 1988, seen on 2 March 2026
    assert "Scalp microneedling" in ada
    assert "Tuesday 3 March 2026 at 10:00" in ada
    assert f"/review/{screening_for(first).id}" in ada
    assert f"/review/{screening_for(second).id}" in bo


def test_queue_shows_visit_times_in_clinic_time(practitioner):
    held_booking(datetime(2026, 4, 7, 9, 0, tzinfo=UTC))  # British Summer Time
    assert "Tuesday 7 April 2026 at 10:00" in text(practitioner.get("/review"))


def test_queue_shows_the_patients_history(practitioner, clock):
    earlier = make_booking("consultation", TUESDAY_10)
    clock.set(TUESDAY_10 + timedelta(days=1))
    held = held_booking(TUESDAY_10 + timedelta(days=3))
    page = text(practitioner.get(f"/review/{screening_for(held).id}"))
    history = page.split("Earlier visits", 1)[1]
    assert "Hair-loss consultation" in history and "Booked" in history
    assert f"/desk/visits/{earlier.id}" in history
    assert "Earlier screenings" in history and "Clear" in history
    assert "1 earlier visit, 1 earlier screening" in text(practitioner.get("/review"))


def test_history_shows_earlier_review_decisions_with_the_reason(practitioner, clock):
    first = held_booking()
    post(practitioner, f"/review/{screening_for(first).id}/decline", {"reason": "Call GP first"})
    clock.advance(days=1)
    second = held_booking(TUESDAY_10 + timedelta(days=8))
    page = text(practitioner.get(f"/review/{screening_for(second).id}"))
    history = page.split("Earlier screenings", 1)[1]
    assert "Declined on review" in history and "by Dr Rao" in history
    assert "Reason given: Call GP first" in history
    assert f"Yes: {ANTICOAGULANT}" in history
    earlier_visits = page.split("Earlier visits", 1)[1].split("Earlier screenings", 1)[0]
    assert "Cancelled" in earlier_visits


def test_approving_confirms_the_booking(practitioner, db):
    appointment = held_booking()
    screening = screening_for(appointment)
    response = post(practitioner, f"/review/{screening.id}/approve")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/review/{screening.id}"
    db.session.refresh(appointment)
    db.session.refresh(screening)
    assert appointment.status == AppointmentStatus.CONFIRMED
    assert screening.review_status == ReviewStatus.APPROVED
    assert screening.reviewed_by_id is not None
    page = text(practitioner.get(f"/review/{screening.id}"))
    assert "Review recorded." in page
    assert "The visit is confirmed and the patient is told." in page
    assert "Nothing is waiting for review." in text(practitioner.get("/review"))


def test_declining_needs_a_reason(practitioner, db):
    appointment = held_booking()
    screening = screening_for(appointment)
    for reason in ("", "   "):
        response = post(practitioner, f"/review/{screening.id}/decline", {"reason": reason})
        assert response.status_code == 422
        assert "Give a reason" in text(response)
    db.session.refresh(appointment)
    assert appointment.status == AppointmentStatus.NEEDS_REVIEW
    assert screening_for(appointment).review_status == ReviewStatus.PENDING


def test_declining_cancels_the_booking_and_keeps_the_reason(practitioner, db):
    appointment = held_booking()
    screening = screening_for(appointment)
    response = post(
        practitioner, f"/review/{screening.id}/decline", {"reason": "Needs a GP letter first"}
    )
    assert response.status_code == 303
    db.session.refresh(appointment)
    screening = screening_for(appointment)
    assert appointment.status == AppointmentStatus.CANCELLED
    assert "please call the clinic" in appointment.cancel_reason
    assert (screening.review_status, screening.review_note) == (
        ReviewStatus.DECLINED,
        "Needs a GP letter first",
    )
    assert "the patient is asked to call" in text(practitioner.get(f"/review/{screening.id}"))


def test_a_decline_reason_over_500_characters_is_refused(practitioner):
    screening = screening_for(held_booking())
    response = post(practitioner, f"/review/{screening.id}/decline", {"reason": "x" * 501})
    assert response.status_code == 422
    assert "under 500 characters" in text(response)


@pytest.mark.parametrize("action", ["approve", "decline"])
def test_an_already_reviewed_screening_answers_409(practitioner, action):
    screening = screening_for(held_booking())
    assert post(practitioner, f"/review/{screening.id}/approve").status_code == 303
    response = post(practitioner, f"/review/{screening.id}/{action}", {"reason": "Too late"})
    assert response.status_code == 409
    page = text(response)
    assert "already been reviewed" in page
    assert "Already reviewed" in page and "Approved on review by Dr Rao" in page
    assert 'action="/review/' not in page  # no decision forms left to press


def test_old_answers_are_shown_in_the_words_of_the_version_answered(practitioner, monkeypatch):
    screening = screening_for(held_booking())
    reworded = dataclasses.replace(
        questions.VERSION_1.question("anticoagulant"), text="REWORDED blood thinner question?"
    )
    version_2 = dataclasses.replace(
        questions.VERSION_1,
        version=2,
        questions=tuple(
            reworded if q.key == "anticoagulant" else q for q in questions.VERSION_1.questions
        ),
    )
    monkeypatch.setitem(questions.VERSIONS, 2, version_2)
    monkeypatch.setattr(questions, "CURRENT_VERSION", 2)
    for path in ("/review", f"/review/{screening.id}"):
        page = text(practitioner.get(path))
        assert ANTICOAGULANT in page
        assert "REWORDED" not in page
        assert "questionnaire version 1" in page
    db.session.refresh(screening)
    assert screening.questionnaire_version == 1
    assert screening.answers["anticoagulant"] is True


def test_detail_lists_every_answer_given(practitioner):
    screening = screening_for(held_booking())
    page = text(practitioner.get(f"/review/{screening.id}"))
    assert f"Yes</strong>: {ANTICOAGULANT}" in page
    assert page.count("No</strong>:") == len(screening.asked) - 1


def test_unknown_and_impossible_screening_ids_are_not_found(practitioner):
    for path in ("/review/999", "/review/99999999999999999999", "/review/abc"):
        assert practitioner.get(path).status_code == 404
    assert post(practitioner, "/review/99999999999999999999/approve").status_code == 404


@pytest.mark.parametrize("path", ["/review", "/review/1"])
def test_desk_staff_cannot_open_the_review_pages(client, path):
    make_clinic()
    held_booking()
    make_staff(role="desk")
    sign_in(client)
    assert client.get(path).status_code == 403


def test_desk_staff_cannot_approve(client, db):
    make_clinic()
    appointment = held_booking()
    make_staff(role="desk")
    sign_in(client)
    token = csrf_token(client, "/desk")
    screening = screening_for(appointment)
    response = client.post(f"/review/{screening.id}/approve", data={"csrf_token": token})
    assert response.status_code == 403
    db.session.refresh(appointment)
    assert appointment.status == AppointmentStatus.NEEDS_REVIEW


def test_admins_may_review(client):
    make_clinic()
    held_booking()
    make_staff(role="admin", email="admin@example.com")
    sign_in(client, email="admin@example.com")
    assert client.get("/review").status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/review")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_a_decision_without_the_form_token_is_refused(practitioner, db):
    appointment = held_booking()
    screening = screening_for(appointment)
    assert practitioner.post(f"/review/{screening.id}/approve").status_code == 400
    db.session.refresh(appointment)
    assert appointment.status == AppointmentStatus.NEEDS_REVIEW
