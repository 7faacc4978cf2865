"""Screening and consent through POST /api/v1/bookings.

Every question of the questionnaire, answered "yes" alone, for every service: BLOCK and DEFER
stop the booking and write nothing, REVIEW holds it as needs_review, and only for the services
the question applies to. Then the date of birth, missing answers, the consent rules, and the
records a booking leaves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from clinic.booking.models import Appointment
from clinic.clock import FrozenClock
from clinic.consent import texts as consent_texts
from clinic.consent.models import ConsentForm, SignedConsent
from clinic.extensions import db as _db
from clinic.patients.models import Patient
from clinic.screening.models import Screening
from clinic.screening.questions import UNDER_AGE, VERSION_1, Outcome, Question
from tests.factories import all_no, make_clinic
from tests.helpers import (
    BOOKINGS,
    SLUGS,
    START,
    answered,
    booking_body,
    copy_sqlite_template,
    make_app,
)

RECORDS = (Appointment, Patient, Screening, SignedConsent, ConsentForm)

# What each service of tests.factories.make_clinic needles with, written out here rather than
# read from the catalogue, so a wrong service profile fails these tests. None: no needling.
TARGETS: dict[str, set[str] | None] = {
    "consultation": None,
    "microneedling": {"needling", "numbing", "minoxidil"},
    "microneedling-prp": {"needling", "numbing", "prp"},
    "microneedling-steroid": {"needling", "numbing", "steroid"},
}


def asked(question: Question, slug: str) -> bool:
    targets = TARGETS[slug]
    if targets is None:
        return "needling" in question.applies_to
    return bool(targets & set(question.applies_to))


def stops_or_holds(question: Question, slug: str) -> bool:
    return TARGETS[slug] is not None and asked(question, slug)


def counts() -> dict[str, int]:
    return {
        model.__name__: _db.session.scalar(select(func.count()).select_from(model))
        for model in RECORDS
    }


def test_the_expected_applicability_matches_the_examples_of_the_issue():
    prp_blood = VERSION_1.question("prp_blood")
    assert [slug for slug in SLUGS if stops_or_holds(prp_blood, slug)] == ["microneedling-prp"]
    product_allergy = VERSION_1.question("product_allergy")
    assert [slug for slug in SLUGS if stops_or_holds(product_allergy, slug)] == [
        "microneedling",
        "microneedling-steroid",
    ]
    pregnancy = VERSION_1.question("pregnancy")
    assert [slug for slug in SLUGS if asked(pregnancy, slug)] == list(SLUGS)
    assert not stops_or_holds(pregnancy, "consultation")


# --- every question, every service ----------------------------------------------------------


@dataclass
class ServiceUnderTest:
    """One app and clinic per service; each booking gets its own time and its own patient."""

    slug: str
    app: Flask
    intake: dict
    cases: int = 0

    def next_patient(self) -> tuple[str, dict]:
        """A free start (two hours apart, so even the longest service fits) and a new patient,
        so neither the calendar nor the seven-day needling gap links one case to another."""
        number = self.cases
        self.cases += 1
        day = date(2026, 3, 3)
        for _ in range(number // 4):
            day += timedelta(days=2 if day.weekday() == 5 else 1)  # closed on Sundays
        start = datetime(day.year, day.month, day.day, 9 + 2 * (number % 4)).isoformat()
        patient = {
            **booking_body()["patient"],
            "full_name": f"Patient {number}",
            "phone": f"07911 {200000 + number}",
        }
        return start + "+00:00", patient

    def post(self, **answers: bool):
        start, patient = self.next_patient()
        client = self.app.test_client()
        body = answered(client, booking_body(service=self.slug, start=start, patient=patient))
        # Answer even the questions this service does not ask, as a careless client might.
        body["screening"] |= answers
        with self.app.app_context():
            before = counts()
        response = client.post(BOOKINGS, json=body)
        with self.app.app_context():
            after = counts()
        return response, before, after


@pytest.fixture(scope="class", params=SLUGS)
def service(request, tmp_path_factory, sqlite_template):
    folder = tmp_path_factory.mktemp("screening")
    app = make_app(copy_sqlite_template(sqlite_template, folder), FrozenClock(START), folder)
    with app.app_context():
        make_clinic()
        intake = app.test_client().get(f"/api/v1/services/{request.param}/intake").get_json()
    yield ServiceUnderTest(request.param, app, intake)
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


class TestEachQuestionForEachService:
    @pytest.mark.parametrize("question", VERSION_1.questions, ids=lambda q: q.key)
    def test_a_single_yes(self, service, question):
        in_intake = question.key in [q["key"] for q in service.intake["questions"]]
        assert in_intake == asked(question, service.slug)

        response, before, after = service.post(**{question.key: True})
        body = response.get_json()

        if not stops_or_holds(question, service.slug):
            assert response.status_code == 201, body
            assert body["status"] == "booked"
        elif question.outcome is Outcome.REVIEW:
            assert response.status_code == 201, body
            assert body["status"] == "needs_review"
            with service.app.app_context():
                screening = _db.session.scalars(
                    select(Screening).where(Screening.appointment_id == body["id"])
                ).one()
                assert (screening.outcome, screening.review_status) == ("review", "pending")
                assert screening.flagged == [question.key]
        else:
            assert response.status_code == 422, body
            assert body == {
                "error": "screening_blocked",
                "message": body["message"],
                "keys": [question.key],
                "outcome": question.outcome.value,
                "phone": "+44 20 7946 0000",
            }
            assert "+44 20 7946 0000" in body["message"]
            assert after == before
        if response.status_code == 201:
            assert after["Appointment"] == before["Appointment"] + 1
            assert after["Screening"] == before["Screening"] + 1

    def test_all_no_books(self, service):
        response, before, after = service.post()

        assert response.status_code == 201, response.get_json()
        assert response.get_json()["status"] == "booked"
        needles = TARGETS[service.slug] is not None
        assert after["SignedConsent"] == before["SignedConsent"] + needles


# --- the date of birth ----------------------------------------------------------------------


def post(client, slug: str, **overrides):
    return client.post(BOOKINGS, json=answered(client, booking_body(service=slug, **overrides)))


def adult(**overrides) -> dict:
    return {**booking_body()["patient"], **overrides}


@pytest.mark.parametrize("slug", SLUGS[1:])
def test_under_18_cannot_book_needling(client, db, slug):
    make_clinic()
    before = counts()

    response = post(client, slug, patient=adult(date_of_birth="2010-06-01"))

    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "screening_blocked"
    assert body["keys"] == [UNDER_AGE]
    assert body["outcome"] == "block"
    assert counts() == before


def test_under_18_may_book_a_consultation(client):
    make_clinic()

    response = post(client, "consultation", patient=adult(date_of_birth="2010-06-01"))

    assert response.status_code == 201
    assert response.get_json()["status"] == "booked"


def test_age_counts_on_the_day_of_the_visit(client):
    make_clinic()
    # 17 today (Monday 2 March 2026), 18 on Wednesday.
    teenager = adult(date_of_birth="2008-03-04")

    too_soon = post(client, "microneedling", start="2026-03-03T10:00:00+00:00", patient=teenager)
    birthday = post(client, "microneedling", start="2026-03-04T10:00:00+00:00", patient=teenager)

    assert too_soon.status_code == 422
    assert too_soon.get_json()["keys"] == [UNDER_AGE]
    assert birthday.status_code == 201


def test_under_18_and_a_blocking_answer_name_both(client):
    make_clinic()
    body = answered(
        client,
        booking_body(service="microneedling", patient=adult(date_of_birth="2010-06-01")),
        keloid=True,
    )

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 422
    assert response.get_json()["keys"] == [UNDER_AGE, "keloid"]


# --- missing answers ------------------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_no_answers_at_all_names_every_question(client, db, slug):
    make_clinic()
    body = answered(client, booking_body(service=slug))
    del body["screening"]
    before = counts()

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 422
    answer = response.get_json()
    assert answer["error"] == "validation_failed"
    assert set(answer["fields"]) == {f"screening.{key}" for key in all_no(slug)}
    assert counts() == before


def test_some_missing_answers_are_named(client):
    make_clinic()
    body = answered(client, booking_body(service="microneedling-prp"))
    del body["screening"]["prp_relative"], body["screening"]["keloid"]
    before = counts()

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"screening.prp_relative", "screening.keloid"}
    assert counts() == before


def test_null_screening_means_unanswered(client):
    make_clinic()
    body = answered(client, booking_body(service="consultation"))
    body["screening"] = None

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {
        f"screening.{key}" for key in all_no("consultation")
    }


def test_answers_for_another_service_do_not_cover_this_one(client):
    make_clinic()
    body = answered(client, booking_body(service="microneedling"))
    body["screening"] = all_no("consultation")

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 422
    missing = set(all_no("microneedling")) - set(all_no("consultation"))
    assert set(response.get_json()["fields"]) == {f"screening.{key}" for key in missing}


def test_a_blocking_yes_stops_the_booking_even_with_answers_missing(client):
    make_clinic()
    body = answered(client, booking_body(service="microneedling"))
    body["screening"] = {"pregnancy": True}

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 422
    assert response.get_json()["error"] == "screening_blocked"
    assert response.get_json()["keys"] == ["pregnancy"]


def test_answers_to_unknown_questions_are_ignored_and_not_kept(client, db):
    make_clinic()
    body = answered(client, booking_body(service="microneedling"))
    body["screening"] |= {"tattoo": "maybe", UNDER_AGE: True, "": [1]}

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 201, response.get_json()
    screening = db.session.scalars(select(Screening)).one()
    assert screening.answers == all_no("microneedling")


# --- consent --------------------------------------------------------------------------------


def signature(**overrides) -> dict:
    return {
        "version": consent_texts.BUILT_IN.version,
        "signed_name": "Alex Morgan",
        "agree": True,
        "photos": False,
        **overrides,
    }


@pytest.mark.parametrize(
    ("consent", "field"),
    [
        (None, "consent"),
        (signature(agree=False), "consent.agree"),
        (signature(version=consent_texts.BUILT_IN.version + 1), "consent.version"),
        (signature(signed_name="Sam Morgan"), "consent.signed_name"),
        (signature(signed_name="Alex"), "consent.signed_name"),
    ],
    ids=["missing", "not-agreed", "not-current-version", "other-name", "first-name-only"],
)
@pytest.mark.parametrize("slug", SLUGS[1:])
def test_needling_needs_the_current_consent_signed_by_the_patient(client, db, slug, consent, field):
    make_clinic()
    body = answered(client, booking_body(service=slug))
    body["consent"] = consent
    before = counts()

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 422
    answer = response.get_json()
    assert answer["error"] == "validation_failed"
    assert set(answer["fields"]) == {field}
    assert counts() == before


def test_missing_answers_and_consent_are_reported_together(client):
    make_clinic()
    body = answered(client, booking_body(service="microneedling"))
    del body["consent"]
    del body["screening"]["pregnancy"]

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"consent", "screening.pregnancy"}


def test_signature_ignores_case_and_spacing(client):
    make_clinic()
    body = answered(client, booking_body(service="microneedling"))
    body["consent"]["signed_name"] = "  alex   MORGAN "

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 201, response.get_json()


def test_a_consultation_needs_no_consent_and_keeps_none_sent(client, db):
    make_clinic()
    body = answered(client, booking_body(service="consultation"))
    assert "consent" not in body
    body["consent"] = signature(agree=False)

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 201, response.get_json()
    assert counts()["SignedConsent"] == 0


# --- what a booking leaves behind -----------------------------------------------------------


def test_booking_keeps_the_answers_and_the_signature_with_request_details(client, db):
    make_clinic()
    body = answered(
        client, booking_body(service="microneedling-prp", sms_opt_in=True), anticoagulant=True
    )
    body["consent"]["photos"] = True
    form = client.get("/api/v1/services/microneedling-prp/intake").get_json()

    response = client.post(
        BOOKINGS,
        json=body,
        headers={"User-Agent": "ClinicSite/2.1 (+https://clinic.example)"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "needs_review"
    appointment = db.session.get(Appointment, response.get_json()["id"])

    screening = db.session.scalars(select(Screening)).one()
    assert screening.appointment_id == appointment.id
    assert screening.patient_id == appointment.patient_id
    assert screening.questionnaire_version == form["questionnaire_version"] == 1
    assert screening.answers == all_no("microneedling-prp") | {"anticoagulant": True}
    assert screening.asked == [q["key"] for q in form["questions"]]
    assert screening.flagged == ["anticoagulant"]

    signed = db.session.scalars(select(SignedConsent)).one()
    assert signed.appointment_id == appointment.id
    assert signed.patient_id == appointment.patient_id
    assert signed.form_version == form["consent"]["version"]
    assert signed.form_sha256 == form["consent"]["sha256"]
    assert signed.form_sha256 == hashlib.sha256(form["consent"]["text"].encode()).hexdigest()
    assert signed.signed_name == "Alex Morgan"
    assert signed.agreed is True
    assert signed.clinical_photos is True
    assert signed.care_texts is True
    assert signed.ip_address == "203.0.113.9"
    assert signed.user_agent == "ClinicSite/2.1 (+https://clinic.example)"


def test_an_overlong_user_agent_is_cut_to_fit(client, db):
    make_clinic()

    response = client.post(
        BOOKINGS,
        json=answered(client, booking_body(service="microneedling")),
        headers={"User-Agent": "x" * 2000},
    )

    assert response.status_code == 201, response.get_json()
    assert db.session.scalars(select(SignedConsent)).one().user_agent == "x" * 300


def test_consent_without_photos_records_no_photos_and_no_texts(client, db):
    make_clinic()
    body = answered(client, booking_body(service="microneedling", sms_opt_in=False))
    del body["consent"]["photos"]

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 201, response.get_json()
    signed = db.session.scalars(select(SignedConsent)).one()
    assert (signed.clinical_photos, signed.care_texts) == (False, False)


def test_needs_review_booking_is_readable_by_its_token_and_holds_the_time(client):
    make_clinic(practitioners=1)
    created = client.post(
        BOOKINGS, json=answered(client, booking_body(service="microneedling"), cold_sores=True)
    )
    assert created.get_json()["status"] == "needs_review"

    read = client.get(created.headers["Location"])
    free = client.get("/api/v1/availability?service=microneedling&from=2026-03-04&to=2026-03-04")

    assert read.get_json()["status"] == "needs_review"
    assert "2026-03-04T10:00:00+00:00" not in [s["start"] for s in free.get_json()["slots"]]


def test_a_blocked_booking_works_the_same_on_postgresql(any_app):
    with any_app.app_context():
        make_clinic()
        client = any_app.test_client()
        before = counts()

        response = client.post(
            BOOKINGS,
            json=answered(client, booking_body(service="microneedling-prp"), prp_blood=True),
        )

        assert response.status_code == 422
        assert response.get_json()["keys"] == ["prp_blood"]
        assert counts() == before
