"""Identity without accounts: a booking never rewrites a patient, STOP holds whatever a form
says, refusals name no other visit, and the same form sent twice books once."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from clinic.audit.models import AuditEvent
from clinic.booking.models import Appointment
from clinic.booking.tokens import manage_token
from clinic.errors import ValidationFailed
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.patients.names import fold_name
from clinic.screening.models import Screening
from clinic.sms import inbound
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.kinds import Kind
from clinic.sms.models import OutboundText, SmsSuppression
from tests.factories import make_booking, make_clinic, patient_details

# The clock starts on Monday 2 March 2026, 08:00 London.
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
WEDNESDAY_10 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
MON_10 = "2026-03-02T10:00:00+00:00"


def fresh(patient_id: int) -> Patient:
    db.session.expire_all()
    return db.session.get(Patient, patient_id)


def patients() -> list[Patient]:
    db.session.expire_all()
    return list(db.session.scalars(select(Patient).order_by(Patient.id)))


def audit_actions(patient_id: int | None = None) -> list[str]:
    query = select(AuditEvent.action).order_by(AuditEvent.id)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    return list(db.session.scalars(query))


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("José Álvarez", "jose alvarez"),
        ("  JOSE   alvarez ", "jose alvarez"),
        ("Zoë O\u2019Brien", "zoe o\u2019brien"),
        ("STRASSE", "strasse"),
        ("", ""),
    ],
)
def test_names_fold_case_spacing_and_accents(written, folded):
    assert fold_name(written) == folded


def test_different_names_stay_different_when_folded():
    assert fold_name("Alex Morgan") != fold_name("Alexa Morgan")


# --- who a booking is for ---------------------------------------------------------------------


def test_another_name_with_a_known_phone_and_birthday_is_a_new_flagged_patient(any_app):
    make_clinic()
    first = make_booking("consultation", TUESDAY_10, sms_opt_in=True)
    known = fresh(first.patient_id)
    before = (
        known.full_name,
        known.email,
        known.date_of_birth,
        known.sms_opt_in,
        known.sms_opt_in_at,
        known.sms_opt_in_source,
        known.email_opt_in,
    )

    second = make_booking(
        "consultation",
        WEDNESDAY_10,
        patient=patient_details(full_name="Someone Else", email="other@example.com"),
        sms_opt_in=False,
        email_opt_in=True,
    )

    known = fresh(first.patient_id)
    assert (
        known.full_name,
        known.email,
        known.date_of_birth,
        known.sms_opt_in,
        known.sms_opt_in_at,
        known.sms_opt_in_source,
        known.email_opt_in,
    ) == before
    assert second.patient_id != first.patient_id
    newcomer = fresh(second.patient_id)
    assert newcomer.full_name == "Someone Else"
    assert newcomer.possible_duplicate_of_id == first.patient_id
    assert newcomer.sms_opt_in is False  # their own first choice


def test_the_same_name_in_other_case_spacing_and_accents_is_the_same_untouched_patient(any_app):
    make_clinic()
    first = make_booking(
        "consultation",
        TUESDAY_10,
        patient=patient_details(full_name="José Álvarez"),
        sms_opt_in=True,
    )
    second = make_booking(
        "consultation",
        WEDNESDAY_10,
        patient=patient_details(full_name="  jose   ALVAREZ", email="changed@example.com"),
        sms_opt_in=False,
    )
    assert second.patient_id == first.patient_id
    patient = fresh(first.patient_id)
    assert patient.full_name == "José Álvarez"
    assert patient.email == "alex@example.com"
    assert patient.sms_opt_in is True
    assert patient.possible_duplicate_of_id is None
    assert len(patients()) == 1


# --- STOP holds -------------------------------------------------------------------------------


def test_a_stopped_number_stays_suppressed_through_a_booking_with_texts_ticked(
    twilio_app, fake_twilio, clock
):
    make_clinic(rooms=2)
    first = make_booking("consultation", WEDNESDAY_10, sms_opt_in=True)
    number = fresh(first.patient_id).phone
    inbound.receive("SM" + "1" * 32, number, "+447700900001", "STOP")
    assert db.session.get(SmsSuppression, number) is not None
    dispatch_pass()  # the answer to STOP is the one text that may still go
    kinds_sent = [m["to"] for m in fake_twilio.messages]
    assert kinds_sent == [number]
    sent_before = fake_twilio.count()

    # Same person, and someone else with the same phone and birthday: both tick texts.
    again = make_booking("consultation", WEDNESDAY_10 + timedelta(days=1), sms_opt_in=True)
    other = make_booking(
        "consultation",
        WEDNESDAY_10 + timedelta(hours=2),
        patient=patient_details(full_name="Robin Morgan"),
        sms_opt_in=True,
    )
    assert again.patient_id == first.patient_id
    assert fresh(first.patient_id).sms_opt_in is False  # the booking did not opt it back in
    assert db.session.get(SmsSuppression, number) is not None

    clock.advance(timedelta(minutes=1))
    dispatch_pass()
    clock.set(datetime(2026, 3, 3, 10, 30, tzinfo=UTC))  # past the reminders' times
    dispatch_pass()
    assert fake_twilio.count() == sent_before  # nothing more reached that number
    planned = db.session.scalars(
        select(OutboundText).where(OutboundText.patient_id == other.patient_id)
    ).all()
    assert all(text.status in ("skipped", "cancelled", "pending") for text in planned)


def test_start_from_the_number_itself_lifts_the_suppression(app, clock):
    make_clinic()
    appointment = make_booking("consultation", WEDNESDAY_10, sms_opt_in=True)
    number = fresh(appointment.patient_id).phone
    inbound.receive("SM" + "2" * 32, number, "+447700900001", "STOP")
    assert db.session.get(SmsSuppression, number) is not None
    inbound.receive("SM" + "3" * 32, number, "+447700900001", "START")
    db.session.expire_all()
    assert db.session.get(SmsSuppression, number) is None
    assert fresh(appointment.patient_id).sms_opt_in is True


def test_booking_with_texts_ticked_from_a_stopped_number_is_told_to_text_start(app, client, clock):
    make_clinic()
    inbound.receive("SM" + "4" * 32, "+447911123456", "+447700900001", "STOP")
    url = "/book/microneedling/details?" + urlencode({"start": MON_10, "practitioner": ""})
    form = _details_form(client.get(url).get_data(as_text=True), sms_opt_in="y")

    response = client.post(url, data=form)

    assert response.status_code == 303
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "text START" in page
    assert db.session.get(SmsSuppression, "+447911123456") is not None
    assert not db.session.scalars(
        select(OutboundText).where(OutboundText.status.in_(("sent", "sending")))
    ).all()


# --- the manage page's own toggle -------------------------------------------------------------


def test_the_manage_page_changes_text_consent_audited_with_its_wording(app, client, clock):
    make_clinic()
    appointment = make_booking("consultation", WEDNESDAY_10, sms_opt_in=False)
    token = manage_token(appointment)
    page = client.get(f"/manage/{token}").get_data(as_text=True)
    assert "Text me about my visits and aftercare" in page
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    response = client.post(f"/manage/{token}/texts", data={"csrf_token": csrf, "wanted": "yes"})

    assert response.status_code == 303
    patient = fresh(appointment.patient_id)
    assert patient.sms_opt_in is True and patient.sms_opt_in_source == "manage"
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "patient.text_consent_changed")
    )
    assert event.patient_id == patient.id
    assert event.changes["sms_opt_in"] == [False, True]
    assert "Text me about my visits and aftercare" in event.detail


def test_the_manage_page_cannot_lift_a_stop(app, client, clock):
    make_clinic()
    appointment = make_booking("consultation", WEDNESDAY_10, sms_opt_in=True)
    number = fresh(appointment.patient_id).phone
    inbound.receive("SM" + "5" * 32, number, "+447700900001", "STOP")
    token = manage_token(appointment)
    page = client.get(f"/manage/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post(f"/manage/{token}/texts", data={"csrf_token": csrf, "wanted": "yes"})
    assert fresh(appointment.patient_id).sms_opt_in is True  # their choice, recorded
    assert db.session.get(SmsSuppression, number) is not None  # but STOP still holds


# --- refusals name no other visit -------------------------------------------------------------


def test_a_second_online_booking_that_day_is_refused_pointing_to_the_link(any_app):
    make_clinic(practitioners=2, rooms=2)
    make_booking("consultation", WEDNESDAY_10)
    with pytest.raises(ValidationFailed) as caught:
        make_booking("consultation", WEDNESDAY_10 + timedelta(hours=3))
    message = caught.value.errors["start"][0]
    assert "link in your confirmation text" in message
    assert not re.search(r"\d", message)  # no time, no date
    # The desk may book the same patient twice on a day (a planned follow-up, say).
    make_booking("consultation", WEDNESDAY_10 + timedelta(hours=3), source="desk")
    # Another day online is fine.
    make_booking("consultation", WEDNESDAY_10 + timedelta(days=1))


def test_the_online_gap_refusal_names_no_date(any_app):
    make_clinic(practitioners=2, rooms=2)
    make_booking("microneedling", TUESDAY_10)
    with pytest.raises(ValidationFailed) as caught:
        make_booking("microneedling-prp", TUESDAY_10 + timedelta(days=3))
    message = caught.value.errors["start"][0]
    assert message.startswith("We could not book this time for you; please call us on ")
    assert "March" not in message and "days" not in message


# --- the same form sent twice -----------------------------------------------------------------


def _details_form(page: str, **overrides) -> dict:
    form = {}
    for tag in re.findall(r'<input[^>]*type="hidden"[^>]*>', page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            form[name.group(1)] = html.unescape(value.group(1)) if value else ""
    form.update(
        full_name="Sam Patel",
        mobile="07911 123456",
        email="sam@example.com",
        date_of_birth="1985-06-30",
    )
    for name in re.findall(r'<input[^>]*name="(answer_[a-z0-9_]+)"', page):
        form[name] = "no"
    if "consent_version" in form:
        form.update(signed_name="Sam Patel", agree="y")
    form.update(overrides)
    return form


def test_the_same_form_sent_twice_returns_the_first_booking(app, client, clock):
    make_clinic()
    url = "/book/microneedling/details?" + urlencode({"start": MON_10, "practitioner": ""})
    page = client.get(url).get_data(as_text=True)
    form = _details_form(page)
    assert form.get("submission_key")

    first = client.post(url, data=form)
    again = client.post(url, data=form)

    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1
    # A fresh form (a new key) for the same day is a second booking: refused, no details.
    fresh_form = _details_form(client.get(url).get_data(as_text=True))
    refused = client.post(url, data=fresh_form)
    assert refused.status_code == 422
    assert "link in your confirmation text" in html.unescape(refused.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1


# --- the desk merges or dismisses -------------------------------------------------------------


def _flagged_pair():
    make_clinic(practitioners=2, rooms=2)
    first = make_booking("microneedling", TUESDAY_10)
    second = make_booking(
        "consultation",
        WEDNESDAY_10,
        patient=patient_details(full_name="Alex Morgan-Smith"),
    )
    return first, second


def _post(client, path: str):
    page = client.get("/desk/patients/duplicates").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return client.post(path, data={"csrf_token": csrf})


def test_merging_moves_the_duplicates_records_to_the_kept_patient_audited(any_app, signed_in):
    first, second = _flagged_pair()
    kept_id, duplicate_id = first.patient_id, second.patient_id
    desk = signed_in("desk")
    page = desk.get("/desk/patients/duplicates")
    assert page.status_code == 200
    assert "Alex Morgan-Smith" in page.get_data(as_text=True)

    response = _post(desk, f"/desk/patients/duplicates/{duplicate_id}/merge")

    assert response.status_code == 303
    db.session.expire_all()
    visits = db.session.scalars(select(Appointment).order_by(Appointment.id)).all()
    assert [visit.patient_id for visit in visits] == [kept_id, kept_id]
    assert [visit.status for visit in visits] == [first.status, second.status]
    screenings = db.session.scalars(select(Screening.patient_id)).all()
    assert set(screenings) == {kept_id}
    assert not db.session.scalars(
        select(OutboundText).where(OutboundText.patient_id == duplicate_id)
    ).all()
    kept = fresh(kept_id)
    assert kept.full_name == "Alex Morgan"  # the kept patient's details stay
    assert fresh(duplicate_id).merged_into_id == kept_id
    assert "patient.merged" in audit_actions(kept_id)
    assert "patient.merged_away" in audit_actions(duplicate_id)
    assert "Alex Morgan-Smith" not in desk.get("/desk/patients/duplicates").get_data(as_text=True)
    # A later booking under the merged name lands on the kept patient.
    later = make_booking(
        "consultation",
        WEDNESDAY_10 + timedelta(days=1),
        patient=patient_details(full_name="Alex Morgan-Smith"),
    )
    assert later.patient_id == kept_id


def test_dismissing_keeps_both_patients_and_is_audited(any_app, signed_in):
    first, second = _flagged_pair()
    desk = signed_in("desk")

    response = _post(desk, f"/desk/patients/duplicates/{second.patient_id}/dismiss")

    assert response.status_code == 303
    assert fresh(second.patient_id).possible_duplicate_of_id is None
    assert fresh(second.patient_id).merged_into_id is None
    assert db.session.get(Appointment, second.id).patient_id == second.patient_id
    assert audit_actions(second.patient_id)[-1] == "patient.duplicate_dismissed"
    # Dismissed twice (a second tab) is not found, not a second row.
    again = _post(desk, f"/desk/patients/duplicates/{second.patient_id}/dismiss")
    assert again.status_code == 404
    assert audit_actions(second.patient_id).count("patient.duplicate_dismissed") == 1


def test_stop_from_a_number_that_matches_nobody_is_still_kept(app, clock):
    inbound.receive("SM" + "6" * 32, "+447911999888", "+447700900001", "STOP")
    assert db.session.get(SmsSuppression, "+447911999888") is not None


def test_a_reply_kind_stop_answer_still_goes_to_a_suppressed_number(twilio_app, fake_twilio):
    make_clinic()
    appointment = make_booking("consultation", WEDNESDAY_10, sms_opt_in=True)
    number = fresh(appointment.patient_id).phone
    inbound.receive("SM" + "7" * 32, number, "+447700900001", "STOP")
    dispatch_pass()
    kinds = db.session.scalars(select(OutboundText.kind).where(OutboundText.status == "sent")).all()
    assert list(kinds) == [Kind.REPLY_OPT_OUT]


# --- the desk changes text consent with a reason ----------------------------------------------


def test_the_desk_changes_text_consent_only_with_a_reason_audited(app, signed_in, clock):
    make_clinic()
    appointment = make_booking("consultation", WEDNESDAY_10, sms_opt_in=True)
    desk = signed_in("desk")
    path = f"/desk/patients/{appointment.patient_id}/texts"
    page = desk.get(path).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    refused = desk.post(path, data={"csrf_token": csrf, "wanted": "no", "reason": ""})
    assert refused.status_code == 422
    assert fresh(appointment.patient_id).sms_opt_in is True

    saved = desk.post(path, data={"csrf_token": csrf, "wanted": "no", "reason": "Asked by phone"})
    assert saved.status_code == 303
    patient = fresh(appointment.patient_id)
    assert patient.sms_opt_in is False and patient.sms_opt_in_source == "desk"
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "patient.text_consent_changed")
    )
    assert event.changes["sms_opt_in"] == [True, False]
    assert "Asked by phone" in event.detail
