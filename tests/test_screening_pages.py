"""Health questions and consent in the patient's booking pages (plain HTML forms, CSRF on)."""

from __future__ import annotations

import hashlib
import html
import logging
import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from clinic.booking.models import Appointment, AppointmentStatus
from clinic.booking.tokens import manage_token
from clinic.consent import texts as consent_texts
from clinic.consent.models import SignedConsent
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.screening import questions
from clinic.screening import services as screening_services
from clinic.screening.models import ReviewStatus, Screening
from tests.factories import make_clinic, publish_consent
from tests.helpers import make_staff

LOCATION_PHONE = "+44 20 7946 0000"
NEEDLING = ("microneedling", "microneedling-prp", "microneedling-steroid")
SERVICES = ("consultation", *NEEDLING)
# Wednesday 4 March 2026 (GMT, so London time is UTC): one start per service, far enough apart
# for the single treatment room to take all four bookings of one test.
STARTS = {
    "consultation": datetime(2026, 3, 4, 9, 0, tzinfo=UTC),
    "microneedling": datetime(2026, 3, 4, 10, 0, tzinfo=UTC),
    "microneedling-prp": datetime(2026, 3, 4, 11, 0, tzinfo=UTC),
    "microneedling-steroid": datetime(2026, 3, 4, 13, 0, tzinfo=UTC),
}
# From the domain reference: questions limited to an ingredient are asked only by the services
# that use it (microneedling uses numbing and minoxidil; the PRP and steroid services use numbing
# and their own add-on). Every other question applies to every needling service.
LIMITED_TO = {
    "numbing_allergy": set(NEEDLING),
    "methaemoglobinaemia": set(NEEDLING),
    "g6pd_deficiency": set(NEEDLING),
    "product_allergy": {"microneedling", "microneedling-steroid"},
    "cardiac": set(NEEDLING),
    "prp_blood": {"microneedling-prp"},
    "prp_relative": {"microneedling-prp"},
}
ALL_KEYS = [question.key for question in questions.VERSION_1.questions]


@pytest.fixture
def clinic(app):
    return make_clinic()


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def words(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())


def details_url(slug: str, start: datetime | None = None) -> str:
    start = start or STARTS[slug]
    return f"/book/{slug}/details?" + urlencode({"start": start.isoformat(), "practitioner": ""})


def asked_on(page: str) -> list[str]:
    """The question keys a details page asks, in page order."""
    names = re.findall(r'<input[^>]*name="answer_([a-z0-9_]+)"', page)
    return list(dict.fromkeys(names))


def applies(key: str, slug: str) -> bool:
    if slug == "consultation":
        return key not in LIMITED_TO
    return slug in LIMITED_TO.get(key, set(NEEDLING))


def filled_in(page: str, *, yes=(), phone="07911 123456", **overrides) -> dict:
    """The details form as a patient sends it: answers "no" except ``yes``, consent signed."""
    form = {
        "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1),
        "full_name": "Sam Patel",
        "mobile": phone,
        "email": "",
        "date_of_birth": "30/06/1985",
    }
    for key in asked_on(page):
        form[f"answer_{key}"] = "no"
    for key in yes:
        form[f"answer_{key}"] = "yes"
    version = re.search(r'name="consent_version" value="([^"]*)"', page)
    if version:
        form.update(consent_version=version.group(1), signed_name="Sam Patel", agree="y")
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def book(client, slug: str, *, start=None, headers=None, **form_overrides):
    url = details_url(slug, start)
    page = text(client.get(url))
    return client.post(url, data=filled_in(page, **form_overrides), headers=headers or {})


def counts() -> tuple[int, int, int, int]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Appointment, Patient, Screening, SignedConsent)
    )


def appointment_for(phone_e164: str) -> Appointment:
    return db.session.scalar(select(Appointment).join(Patient).where(Patient.phone == phone_e164))


# --- what each service's form asks ---------------------------------------------------------------


@pytest.mark.parametrize("slug", SERVICES)
def test_details_page_asks_only_the_questions_for_the_service(client, clinic, slug):
    page = text(client.get(details_url(slug)))
    expected = [key for key in ALL_KEYS if applies(key, slug)]
    assert asked_on(page) == expected
    assert "A few health questions" in page
    assert "seen only by our clinical team" in page
    # Nothing is preselected: each answer is the patient's own choice.
    radios = re.findall(r'<input[^>]*name="answer_[^"]*"[^>]*>', page)
    assert len(radios) == 2 * len(expected)
    assert not any("checked" in radio for radio in radios)
    for key in expected:
        assert questions.VERSION_1.question(key).text in page


def test_prp_questions_are_only_on_the_prp_form(client, clinic):
    for slug in SERVICES:
        asked = asked_on(text(client.get(details_url(slug))))
        on_form = {"prp_blood", "prp_relative"} <= set(asked)
        assert on_form is (slug == "microneedling-prp"), slug


@pytest.mark.parametrize("slug", NEEDLING)
def test_needling_service_shows_the_current_consent_to_sign(client, clinic, slug):
    page = text(client.get(details_url(slug)))
    current = consent_texts.BUILT_IN
    assert current.title in page
    assert "Risks and how common they are" in page
    assert "no result is guaranteed" in page
    assert f'name="consent_version" value="{current.version}"' in page
    assert "Type your full name to sign" in page
    assert "I have read and agree" in page
    assert "clinical photos" in page
    for name in ("agree", "photos", "sms_opt_in"):
        box = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
        assert 'type="checkbox"' in box and "checked" not in box


def test_consultation_has_no_consent_to_sign(client, clinic):
    page = text(client.get(details_url("consultation")))
    assert "consent_version" not in page
    assert "Type your full name to sign" not in page
    assert 'name="sms_opt_in"' in page


# --- every question, every service ---------------------------------------------------------------


@pytest.mark.parametrize("key", ALL_KEYS)
def test_yes_to_one_question_stops_holds_or_passes_each_service(client, clinic, key):
    outcome = questions.VERSION_1.question(key).outcome
    for number, slug in enumerate(SERVICES):
        phone = f"07911 12{number:04d}"
        stored_phone = f"+44791112{number:04d}"
        url = details_url(slug)
        page = text(client.get(url))
        assert (key in asked_on(page)) is applies(key, slug), slug
        before = counts()
        response = client.post(url, data=filled_in(page, yes=[key], phone=phone))
        decides = applies(key, slug) and slug != "consultation"

        if decides and outcome in (questions.Outcome.BLOCK, questions.Outcome.DEFER):
            assert response.status_code == 422, slug
            assert "We can't book this visit online" in text(response)
            assert f'href="tel:{LOCATION_PHONE.replace(" ", "")}"' in text(response)
            # The page stays general: it does not name the answer that stopped the booking.
            assert questions.VERSION_1.question(key).text not in text(response)
            assert key not in text(response)
            assert counts() == before, slug
            continue

        assert response.status_code == 303, slug
        appointment = appointment_for(stored_phone)
        screening = db.session.scalar(
            select(Screening).where(Screening.appointment_id == appointment.id)
        )
        if decides and outcome is questions.Outcome.REVIEW:
            assert appointment.status == AppointmentStatus.NEEDS_REVIEW, slug
            assert screening.review_status == ReviewStatus.PENDING
        else:
            assert appointment.status == AppointmentStatus.BOOKED, slug
            assert screening.review_status == ReviewStatus.NOT_NEEDED
        # A question the form did not ask leaves no answer behind, even if one is posted.
        assert (key in screening.answers) is applies(key, slug), slug
        assert screening.flagged == ([key] if applies(key, slug) else [])


def test_every_outcome_is_covered_by_the_questionnaire():
    # The parametrised test above proves all three outcomes only if the data holds them.
    outcomes = {question.outcome for question in questions.VERSION_1.questions}
    assert outcomes == {questions.Outcome.BLOCK, questions.Outcome.DEFER, questions.Outcome.REVIEW}


# --- missing or wrong input ----------------------------------------------------------------------


def test_missing_answer_is_refused_next_to_its_question(client, clinic):
    url = details_url("microneedling")
    page = text(client.get(url))
    form = filled_in(page, yes=["anticoagulant"])
    del form["answer_keloid"]
    response = client.post(url, data=form)
    page = text(response)
    assert response.status_code == 422
    question = re.search(r'<fieldset[^>]*id="answer_keloid".*?</fieldset>', page, re.S).group(0)
    assert "Please answer yes or no." in question
    assert 'aria-invalid="true"' in question
    assert "Please answer yes or no to each health question (1 still to answer)" in words(response)
    # The answers already given, and the details, are kept.
    assert re.search(r'<input[^>]*checked[^>]*name="answer_anticoagulant"[^>]*value="yes"', page)
    assert re.search(r'<input[^>]*checked[^>]*name="answer_pregnancy"[^>]*value="no"', page)
    assert 'value="Sam Patel"' in page
    assert counts() == (0, 0, 0, 0)


def test_an_answer_other_than_yes_or_no_is_refused(client, clinic):
    response = book(client, "consultation", answer_keloid="maybe")
    assert response.status_code == 422
    assert "Please answer yes or no." in text(response)
    assert counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"agree": None}, "Please confirm that you agree"),
        ({"signed_name": ""}, "Please type your full name to sign."),
        ({"signed_name": "Someone Else"}, "Please sign with the same full name you gave above."),
    ],
)
def test_consent_must_be_agreed_and_signed_with_the_patients_name(
    client, clinic, overrides, message
):
    response = book(client, "microneedling", **overrides)
    page = text(response)
    assert response.status_code == 422
    assert message in page
    assert counts() == (0, 0, 0, 0)
    assert re.search(r'<input[^>]*checked[^>]*name="answer_keloid"[^>]*value="no"', page)


def test_signature_is_matched_without_regard_to_case_or_spacing(client, clinic):
    response = book(client, "microneedling", signed_name="  sam   PATEL ")
    assert response.status_code == 303
    assert db.session.scalar(select(SignedConsent)).signed_name == "sam PATEL"


def test_consent_updated_while_the_form_was_open_must_be_read_again(client, clinic):
    url = details_url("microneedling")
    page = text(client.get(url))
    form = filled_in(page, photos="y")
    publish_consent("\nA new paragraph for version two.\n")

    response = client.post(url, data=form)
    page = text(response)
    assert response.status_code == 422
    assert "The consent form has been updated" in page
    assert "A new paragraph for version two." in page
    assert 'name="consent_version" value="2"' in page
    # The old agreement does not carry over to the new text; the rest of the form does.
    assert not re.search(r'<input[^>]*checked[^>]*name="agree"', page)
    assert re.search(r'<input[^>]*checked[^>]*name="photos"', page)
    assert counts() == (0, 0, 0, 0)

    response = client.post(url, data=filled_in(page))
    assert response.status_code == 303
    assert db.session.scalar(select(SignedConsent)).form_version == 2


def test_unreadable_consent_version_is_treated_as_out_of_date(client, clinic):
    response = book(client, "microneedling", consent_version="²")
    assert response.status_code == 422
    assert "The consent form has been updated" in text(response)
    assert counts() == (0, 0, 0, 0)


def under_18_on_visit_day() -> str:
    # 17 on Wednesday 4 March 2026: the 18th birthday is the day after.
    return "05/03/2008"


@pytest.mark.parametrize("slug", NEEDLING)
def test_under_18_cannot_book_needling_online(client, clinic, slug):
    response = book(client, slug, date_of_birth=under_18_on_visit_day())
    assert response.status_code == 422
    assert "We can't book this visit online" in text(response)
    assert counts() == (0, 0, 0, 0)


def test_under_18_may_book_a_consultation(client, clinic):
    response = book(client, "consultation", date_of_birth=under_18_on_visit_day())
    assert response.status_code == 303
    assert db.session.scalar(select(Appointment)).status == AppointmentStatus.BOOKED


def test_turning_18_on_the_visit_day_is_old_enough(client, clinic):
    assert book(client, "microneedling", date_of_birth="04/03/2008").status_code == 303


# --- what is recorded ----------------------------------------------------------------------------


def test_signed_consent_records_version_hash_name_choices_and_browser(client, clinic):
    long_agent = "Mozilla/5.0 (X11; Linux) " + "x" * 400
    response = book(
        client,
        "microneedling",
        headers={"User-Agent": long_agent},
        photos="y",
        sms_opt_in="y",
    )
    assert response.status_code == 303
    consent = db.session.scalar(select(SignedConsent))
    appointment = db.session.scalar(select(Appointment))
    current = consent_texts.BUILT_IN
    assert consent.appointment_id == appointment.id
    assert consent.form_version == current.version
    assert consent.form_sha256 == hashlib.sha256(current.text.encode("utf-8")).hexdigest()
    assert consent.signed_name == "Sam Patel"
    assert consent.clinical_photos is True
    assert consent.care_texts is True
    assert consent.ip_address == "127.0.0.1"
    assert consent.user_agent == long_agent[:300]
    assert appointment.patient.sms_opt_in is True


def test_photos_and_texts_are_separate_choices_left_off_by_default(client, clinic):
    assert book(client, "microneedling").status_code == 303
    consent = db.session.scalar(select(SignedConsent))
    assert consent.clinical_photos is False
    assert consent.care_texts is False
    assert db.session.scalar(select(Patient)).sms_opt_in is False


def test_screening_row_holds_the_answers_and_the_questionnaire_version(client, clinic):
    url = details_url("microneedling-prp")
    page = text(client.get(url))
    asked = asked_on(page)
    assert client.post(url, data=filled_in(page, yes=["prp_relative"])).status_code == 303
    screening = db.session.scalar(select(Screening))
    assert screening.questionnaire_version == questions.VERSION_1.version
    assert screening.asked == asked
    assert screening.answers == {key: key == "prp_relative" for key in asked}
    assert screening.outcome == "review"
    assert screening.source == "online"


def test_consultation_keeps_the_general_answers_without_a_consent(client, clinic):
    assert book(client, "consultation", yes=["pregnancy"]).status_code == 303
    screening = db.session.scalar(select(Screening))
    assert screening.answers["pregnancy"] is True
    assert screening.outcome == "clear"
    assert counts() == (1, 1, 1, 0)


def test_health_answers_stay_out_of_the_logs(client, clinic, caplog):
    caplog.set_level(logging.DEBUG)
    assert book(client, "microneedling", yes=["anticoagulant"]).status_code == 303
    stopped = book(client, "microneedling-prp", yes=["pregnancy"], phone="07911 000111")
    assert stopped.status_code == 422
    assert "We can't book this visit online" in text(stopped)
    for key in ("anticoagulant", "pregnancy"):
        assert key not in caplog.text
        assert questions.VERSION_1.question(key).text not in caplog.text


# --- a booking held for review -------------------------------------------------------------------

REVIEW_NOTE = (
    "A clinician will check your answers and confirm your visit; "
    "we will contact you if we need to talk first."
)


def book_for_review(client) -> tuple[Appointment, str]:
    response = book(client, "microneedling", yes=["anticoagulant"])
    assert response.status_code == 303
    appointment = db.session.scalar(select(Appointment))
    return appointment, manage_token(appointment)


@pytest.fixture
def practitioner(app):
    return make_staff(role="practitioner", email="dr@example.com", name="Dr Rao")


def test_held_booking_says_a_clinician_will_confirm(client, clinic):
    appointment, token = book_for_review(client)
    assert appointment.status == AppointmentStatus.NEEDS_REVIEW
    confirmation = client.get(f"/manage/{token}/confirmed")
    assert confirmation.status_code == 200
    assert REVIEW_NOTE in words(confirmation)
    assert "You are booked" not in words(confirmation)
    manage = client.get(f"/manage/{token}")
    assert "Awaiting confirmation" in words(manage)
    assert REVIEW_NOTE in words(manage)
    # The time is the patient's to move or cancel while they wait.
    assert f"/manage/{token}/reschedule" in text(manage)


def test_plain_booking_says_booked_without_the_review_note(client, clinic):
    assert book(client, "microneedling").status_code == 303
    token = manage_token(db.session.scalar(select(Appointment)))
    for path in (f"/manage/{token}/confirmed", f"/manage/{token}"):
        assert REVIEW_NOTE not in words(client.get(path))
    assert "Booked" in words(client.get(f"/manage/{token}"))


def test_approved_booking_shows_confirmed(client, clinic, practitioner):
    appointment, token = book_for_review(client)
    screening = screening_services.latest_for(appointment)
    screening_services.approve(screening.id, practitioner)
    page = words(client.get(f"/manage/{token}"))
    assert "Confirmed" in page
    assert "Awaiting confirmation" not in page
    assert REVIEW_NOTE not in page


def test_declined_booking_asks_the_patient_to_call(client, clinic, practitioner):
    appointment, token = book_for_review(client)
    screening = screening_services.latest_for(appointment)
    screening_services.decline(screening.id, practitioner, "Needs a word about the anticoagulant")
    # Declining cancels the visit, which closes its link: it answers 410 and asks for a call.
    response = client.get(f"/manage/{token}")
    assert response.status_code == 410
    page = words(response)
    assert "This visit has been cancelled" in page
    assert f"please call us on {LOCATION_PHONE}" in page
    # The clinician's note is for the clinic, not the patient's page.
    assert "anticoagulant" not in page
    assert "Book another visit" not in page


def test_patient_cancelled_booking_does_not_ask_for_a_call(client, clinic):
    appointment, token = book_for_review(client)
    page = text(client.get(f"/manage/{token}"))
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(f"/manage/{token}/cancel", data={"csrf_token": csrf})
    assert response.status_code == 303
    # Back to the booking page, to book another time.
    assert response.headers["Location"] == "/"
    page = words(client.get("/"))
    assert "Your visit has been cancelled" in page
    assert "to talk about your booking" not in page


def test_stopped_page_needs_no_inline_script_or_style(client, clinic):
    response = book(client, "microneedling", yes=["keloid"])
    page = text(response)
    assert response.status_code == 422
    assert "<script" not in page and "<style" not in page and " style=" not in page
    assert re.search(r"\son[a-z]+=", page) is None
    assert response.headers["Cache-Control"] == "no-store"
