"""The desk's visit page: the check-in gate, re-screening and consent at the desk."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from clinic.booking.models import AppointmentStatus
from clinic.consent import texts as consent_texts
from clinic.consent.models import SignedConsent
from clinic.courses.services import CourseRequest, book_course, sessions
from clinic.extensions import db
from clinic.screening.models import Screening
from tests.factories import all_no, make_booking, make_clinic
from tests.helpers import csrf_token

TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
MISSING_SCREENING = "Screening is missing or out of date"
PENDING_REVIEW = "Screening is waiting for a practitioner's review"
NO_CONSENT = "No signed consent for the current form"
CHANGES = "The patient reported changes since the last visit: screen again"


@pytest.fixture
def desk(app, signed_in):
    make_clinic()
    return signed_in("desk")


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def post(client, appointment, action, data):
    token = csrf_token(client, f"/desk/visits/{appointment.id}")
    return client.post(
        f"/desk/visits/{appointment.id}/{action}", data={"csrf_token": token, **data}
    )


def check_in(client, appointment, changes="no"):
    arrive(client, appointment)
    return post(client, appointment, "check-in", {"changes": changes})


def arrive(client, appointment):
    """Patients are checked in on the day: move the test's clock to half an hour before the
    visit, unless it is already later."""
    clock = client.application.extensions["clock"]
    clock.set(max(clock.now(), appointment.start_at - timedelta(minutes=30)))


def rescreen(client, appointment, **yes):
    answers = all_no(appointment.service.slug) | dict.fromkeys(yes, True)
    return post(
        client,
        appointment,
        "rescreen",
        {f"screening-{key}": "yes" if value else "no" for key, value in answers.items()},
    )


def sign_consent(client, appointment, **overrides):
    data = {
        "version": str(consent_texts.BUILT_IN.version),
        "signed_name": appointment.patient.full_name,
        "agree": "y",
        "photos": "y",
    }
    data.update(overrides)
    return post(client, appointment, "consent", {k: v for k, v in data.items() if v is not None})


def status_of(appointment) -> str:
    db.session.rollback()
    db.session.refresh(appointment)
    return appointment.status


def gate(client, appointment) -> str:
    page = text(client.get(f"/desk/visits/{appointment.id}"))
    return page.split("Before the session", 1)[1].split("</section>", 1)[0]


# --- the gate -----------------------------------------------------------------------------


def test_a_screened_and_consented_online_booking_is_ready_and_checks_in(desk):
    appointment = make_booking("microneedling", TUESDAY_10)
    assert "Ready for check-in" in gate(desk, appointment)
    response = check_in(desk, appointment)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/desk/visits/{appointment.id}"
    assert status_of(appointment) == AppointmentStatus.CHECKED_IN
    page = text(desk.get(f"/desk/visits/{appointment.id}"))
    assert "Checked in." in page and "ready for the session" in page


def test_gate_refuses_a_visit_without_a_screening(desk):
    appointment = make_booking("microneedling", TUESDAY_10, source="desk")
    assert MISSING_SCREENING in gate(desk, appointment)
    response = check_in(desk, appointment)
    assert response.status_code == 409
    page = text(response)
    assert "This visit cannot go ahead yet" in page
    assert MISSING_SCREENING in page and NO_CONSENT in page
    assert status_of(appointment) == AppointmentStatus.BOOKED


def test_gate_refuses_a_visit_whose_screening_did_not_clear(desk):
    appointment = make_booking("microneedling", TUESDAY_10, source="desk")
    sign_consent(desk, appointment)
    response = rescreen(desk, appointment, pregnancy=True)
    assert response.status_code == 303
    assert "<dt>Screening</dt><dd> Did not clear" in text(
        desk.get(f"/desk/visits/{appointment.id}")
    )
    assert "Screening did not clear" in gate(desk, appointment)
    assert check_in(desk, appointment).status_code == 409
    assert status_of(appointment) == AppointmentStatus.BOOKED


def test_gate_refuses_a_visit_held_for_review(desk):
    answers = all_no("microneedling") | {"anticoagulant": True}
    appointment = make_booking("microneedling", TUESDAY_10, screening=answers)
    assert PENDING_REVIEW in gate(desk, appointment)
    page = text(desk.get(f"/desk/visits/{appointment.id}"))
    assert "Waiting for clinical review" in page
    assert f'action="/desk/visits/{appointment.id}/check-in"' not in page
    response = check_in(desk, appointment)
    assert response.status_code == 409
    assert status_of(appointment) == AppointmentStatus.NEEDS_REVIEW


def test_a_desk_rescreen_with_a_review_answer_waits_for_a_practitioner(desk):
    appointment = make_booking("microneedling", TUESDAY_10)
    rescreen(desk, appointment, metal_allergy=True)
    assert "<dt>Screening</dt><dd> Waiting for review" in text(
        desk.get(f"/desk/visits/{appointment.id}")
    )
    assert PENDING_REVIEW in gate(desk, appointment)
    response = check_in(desk, appointment)
    assert response.status_code == 409 and PENDING_REVIEW in text(response)
    screening = db.session.scalars(select(Screening).order_by(Screening.id.desc())).first()
    assert (screening.source, screening.review_status) == ("desk", "pending")


def test_gate_refuses_a_visit_without_current_consent_until_signed_at_the_desk(desk):
    appointment = make_booking("microneedling", TUESDAY_10, source="desk")
    rescreen(desk, appointment)
    assert gate(desk, appointment).count("Not ready yet") == 1
    assert NO_CONSENT in gate(desk, appointment)
    assert check_in(desk, appointment).status_code == 409
    assert sign_consent(desk, appointment).status_code == 303
    assert "Ready for check-in" in gate(desk, appointment)
    assert check_in(desk, appointment).status_code == 303


def test_a_course_session_needs_a_screening_no_older_than_the_valid_days(desk, app, clock):
    patient = make_booking("consultation", TUESDAY_10).patient
    course = book_course(
        CourseRequest(
            patient.id, "microneedling-prp", "four-weekly-6", TUESDAY_10 + timedelta(days=7)
        )
    )
    first, *_, fifth, sixth = sessions(course.id)
    rescreen(desk, first)
    sign_consent(desk, first)
    assert "Ready for check-in" in gate(desk, first)
    # The fourth session, 84 days on, is still covered; the fifth, 112 days on, is not.
    assert app.config["SCREENING_VALID_DAYS"] == 90
    clock.set(fifth.start_at - timedelta(hours=1))
    assert MISSING_SCREENING in gate(desk, fifth)
    assert NO_CONSENT not in gate(desk, fifth)  # the course's consent still covers it
    assert check_in(desk, fifth).status_code == 409
    rescreen(desk, fifth)
    assert check_in(desk, fifth).status_code == 303
    assert "Ready for check-in" in gate(desk, sixth)


def test_a_course_needs_its_own_consent(desk):
    earlier = make_booking("microneedling", TUESDAY_10)  # signed online for this visit
    course = book_course(
        CourseRequest(
            earlier.patient_id,
            "microneedling-steroid",
            "three-weekly-3",
            TUESDAY_10 + timedelta(days=7),
        )
    )
    first = sessions(course.id)[0]
    assert NO_CONSENT in gate(desk, first)
    rescreen(desk, first)  # the course is screened for itself
    assert sign_consent(desk, first).status_code == 303
    assert "Ready for check-in" in gate(desk, first)
    signature = db.session.scalars(select(SignedConsent).order_by(SignedConsent.id.desc())).first()
    assert (signature.course_id, signature.appointment_id) == (course.id, first.id)


def test_reporting_changes_reopens_screening_until_a_desk_rescreen(desk):
    appointment = make_booking("microneedling", TUESDAY_10)
    response = check_in(desk, appointment, changes="yes")
    assert response.status_code == 409
    assert CHANGES in text(response)
    assert status_of(appointment) == AppointmentStatus.BOOKED
    # Answering "no" now does not undo it: the patient has to be screened again.
    assert check_in(desk, appointment, changes="no").status_code == 409
    page = text(desk.get(f"/desk/visits/{appointment.id}"))
    assert CHANGES in page
    assert '<details open> <summary><h2 id="rescreen-title">' in page  # the questions, unfolded
    assert rescreen(desk, appointment).status_code == 303
    page = text(desk.get(f"/desk/visits/{appointment.id}"))
    assert "Screening recorded." in page and "<dt>Screening</dt><dd> Clear," in page
    assert check_in(desk, appointment, changes="no").status_code == 303
    assert status_of(appointment) == AppointmentStatus.CHECKED_IN


def response_html(client, appointment) -> str:
    return client.get(f"/desk/visits/{appointment.id}").get_data(as_text=True)


def test_a_consultation_needs_neither_screening_nor_consent(desk):
    appointment = make_booking("consultation", TUESDAY_10, source="desk")
    assert "Ready for check-in" in gate(desk, appointment)
    page = text(desk.get(f"/desk/visits/{appointment.id}"))
    assert "Not needed for a consultation" in page
    assert "Sign consent at the desk" not in page
    assert check_in(desk, appointment, changes="yes").status_code == 303
    assert status_of(appointment) == AppointmentStatus.CHECKED_IN


def test_a_cancelled_visit_cannot_be_checked_in(desk):
    from clinic.booking.services import cancel

    appointment = make_booking("microneedling", TUESDAY_10)
    cancel(appointment, by_patient=False)
    page = text(desk.get(f"/desk/visits/{appointment.id}"))
    assert "Before the session" not in page and "Check in" not in page
    response = check_in(desk, appointment)
    assert response.status_code == 409
    assert "This visit is cancelled, so you cannot check it in." in text(response)


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("changes", [None, "", "maybe"])
def test_check_in_needs_a_yes_or_no_answer(desk, changes):
    appointment = make_booking("microneedling", TUESDAY_10)
    data = {} if changes is None else {"changes": changes}
    response = post(desk, appointment, "check-in", data)
    assert response.status_code == 422
    assert "Ask the patient, then choose yes or no." in text(response)
    assert status_of(appointment) == AppointmentStatus.BOOKED


def test_a_desk_rescreen_needs_every_answer(desk, db):
    appointment = make_booking("microneedling", TUESDAY_10, source="desk")
    answers = {f"screening-{key}": "no" for key in all_no("microneedling")}
    answers.pop("screening-keloid")
    answers["screening-pregnancy"] = "perhaps"
    response = post(desk, appointment, "rescreen", answers)
    assert response.status_code == 422
    assert text(response).count("Please answer yes or no.") == 2 * 2  # summary and field
    assert db.session.scalar(select(Screening)) is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"signed_name": "Someone Else"}, "same full name"),
        ({"signed_name": ""}, "Type the patient's full name"),
        ({"agree": None}, "Please confirm that you agree"),
        ({"version": "99"}, "The consent form has been updated"),
        ({"version": "not a number"}, "Not a valid integer value"),
    ],
)
def test_consent_at_the_desk_refuses_incomplete_signatures(desk, overrides, message):
    appointment = make_booking("microneedling", TUESDAY_10, source="desk")
    response = sign_consent(desk, appointment, **overrides)
    assert response.status_code == 422
    assert message in text(response)
    assert db.session.scalar(select(SignedConsent)) is None


def test_consent_name_ignores_case_and_spacing(desk):
    appointment = make_booking("microneedling", TUESDAY_10, source="desk")
    assert sign_consent(desk, appointment, signed_name="  alex   MORGAN ").status_code == 303
    assert db.session.scalar(select(SignedConsent)).signed_name == "alex MORGAN"


def test_unknown_and_impossible_visits_are_not_found(desk):
    for path in ("/desk/visits/999", "/desk/visits/99999999999999999999", "/desk/visits/x1"):
        assert desk.get(path).status_code == 404


def test_signed_out_visitors_cannot_open_a_visit(client):
    make_clinic()
    appointment = make_booking("microneedling", TUESDAY_10)
    response = client.get(f"/desk/visits/{appointment.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the consent record -------------------------------------------------------------------


def test_the_printable_consent_record_shows_what_was_signed(desk, clock):
    appointment = make_booking(
        "microneedling", datetime(2026, 4, 7, 9, 0, tzinfo=UTC), source="desk"
    )
    clock.set(datetime(2026, 4, 7, 8, 40, 15, tzinfo=UTC))  # 09:40:15 summer time
    sign_consent(desk, appointment, photos=None)
    signature = db.session.scalar(select(SignedConsent))
    page_link = f"/desk/visits/consents/{signature.id}"
    assert page_link in response_html(desk, appointment)
    response = desk.get(page_link)
    assert response.status_code == 200
    page = text(response)
    form = consent_texts.BUILT_IN
    assert hashlib.sha256(form.text.encode()).hexdigest() in page
    assert "The text below still matches this fingerprint." in page
    assert " ".join(form.text.split()) in page
    assert f"<dt>Version</dt><dd>{form.version}</dd>" in page
    assert "1 January 2026" in page  # the version's effective date
    assert "Alex Morgan" in page
    assert "Tuesday 7 April 2026 at 09:40:15 (Europe/London)" in page
    assert "127.0.0.1" in page  # the address the desk signed from
    assert "Werkzeug" in page  # the test client's user agent
    assert "<dt>Clinical photos</dt><dd>Declined</dd>" in page
    assert "<dt>Care texts</dt><dd>Not agreed on this form</dd>" in page
    assert "css/staff.css" in page


def test_the_staff_stylesheet_prints_only_the_record(app):
    css = app.static_folder + "/css/staff.css"
    with open(css) as handle:
        rules = handle.read()
    printing = rules.split("@media print", 1)[1]
    assert ".site-header" in printing and "display: none" in printing


def test_unknown_consent_records_are_not_found(desk):
    assert desk.get("/desk/visits/consents/5").status_code == 404


# --- consultations and no-shows -------------------------------------------------------------


def test_a_checked_in_consultation_is_completed_without_a_session_record(desk, clock):
    appointment = make_booking("consultation", TUESDAY_10, source="desk")
    assert check_in(desk, appointment).status_code == 303
    assert post(desk, appointment, "finish", {}).status_code == 409  # not started yet
    clock.set(TUESDAY_10 + timedelta(minutes=20))
    response = post(desk, appointment, "finish", {})
    assert response.status_code == 303
    assert status_of(appointment) == AppointmentStatus.COMPLETED


def test_a_treatment_cannot_be_finished_without_its_record(desk):
    appointment = make_booking("microneedling", TUESDAY_10)
    assert check_in(desk, appointment).status_code == 303
    assert post(desk, appointment, "finish", {}).status_code == 409
    assert status_of(appointment) == AppointmentStatus.CHECKED_IN


def test_a_started_visit_can_be_marked_a_no_show_and_its_texts_stop(desk, clock):
    from clinic.sms.models import OutboundText, TextStatus

    appointment = make_booking("microneedling", TUESDAY_10, sms_opt_in=True)
    assert post(desk, appointment, "no-show", {}).status_code == 409  # not started yet
    clock.set(TUESDAY_10 + timedelta(minutes=20))
    assert post(desk, appointment, "no-show", {}).status_code == 303
    assert status_of(appointment) == AppointmentStatus.NO_SHOW
    pending = db.session.scalars(
        select(OutboundText).where(OutboundText.status == TextStatus.PENDING)
    ).all()
    assert pending == []


def test_a_cancelled_visit_cannot_be_screened_again_at_the_desk(desk):
    from clinic.booking import services as booking

    appointment = make_booking("microneedling", TUESDAY_10)
    booking.cancel(appointment, by_patient=False)
    before = db.session.scalar(select(func.count()).select_from(Screening))
    rescreen(desk, appointment)
    assert db.session.scalar(select(func.count()).select_from(Screening)) == before


def test_a_check_in_made_by_mistake_is_undone_on_the_day_only(desk, clock):
    appointment = make_booking("microneedling", TUESDAY_10)
    assert check_in(desk, appointment).status_code == 303
    assert "Undo the check-in" in text(desk.get(f"/desk/visits/{appointment.id}"))
    assert post(desk, appointment, "undo-check-in", {}).status_code == 303
    assert status_of(appointment) == AppointmentStatus.BOOKED
    assert check_in(desk, appointment).status_code == 303
    clock.set(TUESDAY_10 + timedelta(days=1))
    response = post(desk, appointment, "undo-check-in", {})
    assert response.status_code == 409
    assert "only on the day of the visit" in text(response)
    assert status_of(appointment) == AppointmentStatus.CHECKED_IN


def test_check_in_opens_on_the_day_of_the_visit(desk, clock):
    appointment = make_booking("microneedling", TUESDAY_10 + timedelta(days=2))
    page = text(desk.get(f"/desk/visits/{appointment.id}"))
    assert "Check-in opens on the day of the visit" in page
    response = post(desk, appointment, "check-in", {"changes": "no"})
    assert response.status_code == 409
    assert "only on the day of the visit" in text(response)
    assert status_of(appointment) == AppointmentStatus.BOOKED
