"""Twilio's webhooks: signatures, replies (/sms/inbound) and delivery reports (/sms/status)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from clinic.booking.models import AppointmentStatus
from clinic.booking.services import cancel
from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.extensions import db
from clinic.sms import hooks
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.kinds import Kind
from clinic.sms.models import (
    AlertLevel,
    InboundText,
    OutboundText,
    StaffAlert,
    TextStatus,
)
from clinic.sms.senders import get_sender
from tests.factories import all_no, make_booking, make_clinic, patient_details

TOKEN = "test-auth-token-0123456789abcdef"
BASE = "http://clinic.test"
CLINIC_NUMBER = "+447700900000"
ADA_PHONE = "+447911123456"
THURSDAY_10 = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
_sids = itertools.count(1)


@pytest.fixture
def app_config():
    return {"TWILIO_AUTH_TOKEN": TOKEN, "SMS_SEGMENTS_PER_SECOND": 0}


@pytest.fixture
def clinic(app):
    return make_clinic()


def sign(url: str, params: dict, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def webhook(client, path: str, params: dict, *, signed_url: str | None = None, token=TOKEN):
    """POST as Twilio does: form fields signed for the public URL (or the one given)."""
    signature = sign(signed_url or BASE + path, params, token)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def new_sid(prefix="SM") -> str:
    return f"{prefix}{next(_sids):032x}"


def inbound_params(body: str, from_number: str = ADA_PHONE, sid: str | None = None) -> dict:
    return {
        "MessageSid": sid or new_sid(),
        "AccountSid": "AC" + "0" * 32,
        "From": from_number,
        "To": CLINIC_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


def text_in(client, body: str, from_number: str = ADA_PHONE, sid: str | None = None):
    response = webhook(client, "/sms/inbound", inbound_params(body, from_number, sid))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def status(client, sid: str, message_status: str, error_code: str | None = None):
    params = {"MessageSid": sid, "MessageStatus": message_status, "To": ADA_PHONE}
    if error_code:
        params["ErrorCode"] = error_code
    return webhook(client, "/sms/status", params)


def booked(start=THURSDAY_10, **patient):
    details = patient_details(phone=patient.pop("phone", ADA_PHONE), **patient)
    return make_booking("microneedling", start, patient=details, sms_opt_in=True)


def count(model, *where) -> int:
    db.session.commit()  # a fresh snapshot: the request wrote in its own session
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def replies(kind: Kind | None = None) -> list[OutboundText]:
    db.session.commit()
    query = select(OutboundText).where(OutboundText.reply_to_id.is_not(None))
    if kind is not None:
        query = query.where(OutboundText.kind == kind)
    return list(db.session.scalars(query.order_by(OutboundText.id)))


def sent_text(appointment, kind: Kind, sid: str, *, attempts: int = 1) -> OutboundText:
    """A text of ``kind`` the provider has accepted as ``sid``, for delivery reports."""
    with write_transaction("test"):
        now = utcnow()
        row = db.session.scalar(
            select(OutboundText).where(
                OutboundText.appointment_id == appointment.id, OutboundText.kind == kind
            )
        )
        if row is None:
            row = OutboundText(
                kind=kind,
                patient_id=appointment.patient_id,
                appointment_id=appointment.id,
                send_at=now,
                expires_at=now + timedelta(days=2),
                created_at=now,
            )
            db.session.add(row)
        row.status = TextStatus.SENT
        row.provider_sid = sid
        row.to_number = ADA_PHONE
        row.body = "text as sent"
        row.attempts = attempts
        row.sent_at = now
        row.updated_at = now
    return row


def reload(row):
    db.session.commit()
    db.session.refresh(row)
    return row


# --- signatures ---------------------------------------------------------------------------


def test_a_correctly_signed_reply_is_accepted_and_answered_with_empty_twiml(client, clinic):
    booked()
    response = text_in(client, "Thanks!")
    assert response.mimetype == "text/xml"
    assert "<Response></Response>" in response.get_data(as_text=True)
    assert count(InboundText) == 1


def test_a_correctly_signed_status_report_is_accepted(client, clinic):
    appointment = booked()
    row = sent_text(appointment, Kind.CONFIRMATION, "SMdelivered")
    assert status(client, "SMdelivered", "delivered").status_code == 204
    assert reload(row).status == TextStatus.DELIVERED


@pytest.mark.parametrize("path", ["/sms/inbound", "/sms/status"])
@pytest.mark.parametrize(
    "forgery",
    [
        "forged signature",
        "no signature",
        "signed by another token",
        "signed for another host",
        "signed for https",
        "signed for another path",
        "signed with a query",
        "posted with a query",
        "a field changed",
        "a field added",
    ],
)
def test_a_request_that_twilio_did_not_sign_for_this_url_is_refused(client, clinic, path, forgery):
    appointment = booked()
    row = sent_text(appointment, Kind.CONFIRMATION, "SMknown")
    if path == "/sms/inbound":
        params = inbound_params("STOP")
    else:
        params = {"MessageSid": "SMknown", "MessageStatus": "failed", "ErrorCode": "21610"}
    post_path, signed_url, token = path, BASE + path, TOKEN
    headers = {}
    sent = dict(params)
    if forgery == "signed by another token":
        token = "someone-elses-token"
    elif forgery == "signed for another host":
        signed_url = "http://evil.test" + path
    elif forgery == "signed for https":
        signed_url = "https://clinic.test" + path
    elif forgery == "signed for another path":
        signed_url = BASE + ("/sms/status" if path == "/sms/inbound" else "/sms/inbound")
    elif forgery == "signed with a query":
        signed_url = BASE + path + "?replay=1"
    elif forgery == "posted with a query":
        post_path = path + "?replay=1"
    elif forgery == "a field changed":
        sent = {**params, "From" if "From" in params else "ErrorCode": "+447000000001"}
    elif forgery == "a field added":
        sent = {**params, "Extra": "1"}
    signature = sign(signed_url, params, token)
    if forgery == "forged signature":
        headers["X-Twilio-Signature"] = "bm90IGEgc2lnbmF0dXJl"
    elif forgery != "no signature":
        headers["X-Twilio-Signature"] = signature
    response = client.post(post_path, data=sent, headers=headers)
    assert response.status_code == 403
    assert count(InboundText) == 0
    assert reload(row).status == TextStatus.SENT
    db.session.refresh(appointment.patient)
    assert appointment.patient.sms_opt_in is True


def test_a_query_string_is_part_of_what_is_signed(client, clinic):
    booked()
    params = inbound_params("Thanks!")
    signature = sign(BASE + "/sms/inbound?site=north", params)
    response = client.post(
        "/sms/inbound?site=north", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200
    assert count(InboundText) == 1


def test_without_an_auth_token_configured_every_webhook_is_refused(app, client, clinic):
    app.config["TWILIO_AUTH_TOKEN"] = ""
    booked()
    for token in (TOKEN, ""):
        response = webhook(client, "/sms/inbound", inbound_params("STOP"), token=token)
        assert response.status_code == 403
    response = webhook(client, "/sms/status", {"MessageSid": "SM1", "MessageStatus": "sent"})
    assert response.status_code == 403
    assert count(InboundText) == 0


def test_webhooks_answer_only_post(client, clinic):
    assert client.get("/sms/inbound").status_code == 405
    assert client.get("/sms/status").status_code == 405


# --- malformed requests -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/sms/inbound", {"From": ADA_PHONE, "To": CLINIC_NUMBER, "Body": "hi"}),
        ("/sms/inbound", {"MessageSid": "", "From": ADA_PHONE, "Body": "hi"}),
        ("/sms/inbound", {"MessageSid": "SMbig", "From": ADA_PHONE, "Body": "x" * 1601}),
        ("/sms/inbound", {"MessageSid": "SMnofrom", "To": CLINIC_NUMBER, "Body": "hi"}),
        ("/sms/status", {"MessageStatus": "delivered"}),
        ("/sms/status", {"MessageSid": "SM1"}),
        ("/sms/status", {"MessageSid": "SM1", "MessageStatus": "d" * 1601}),
    ],
)
def test_malformed_but_signed_form_data_is_a_bad_request(client, clinic, path, params):
    booked()
    response = webhook(client, path, params)
    assert response.status_code == 400
    assert count(InboundText) == 0


def test_odd_but_well_formed_values_are_filed_not_crashed_on(client, clinic):
    booked()
    # The longest body Twilio sends, a sender that is not a phone number, a missing To.
    text_in(client, "y" * 1600)
    webhook(client, "/sms/inbound", {"MessageSid": new_sid(), "From": "VODAFONE", "Body": "?"})
    unknown = webhook(client, "/sms/status", {"MessageSid": "SMnobody", "MessageStatus": "sent"})
    weird = webhook(
        client,
        "/sms/status",
        {"MessageSid": "SMnobody", "MessageStatus": "teleported", "ErrorCode": "abc"},
    )
    assert (unknown.status_code, weird.status_code) == (204, 204)
    db.session.commit()
    filed = db.session.scalars(select(InboundText).order_by(InboundText.id)).all()
    assert [len(reply.body) for reply in filed] == [1600, 1]
    assert filed[1].from_number == "VODAFONE" and filed[1].patient_id is None


# --- idempotency --------------------------------------------------------------------------


def test_the_same_reply_delivered_twice_is_filed_and_answered_once(client, clinic):
    booked()
    sid = new_sid()
    text_in(client, "HELP", sid=sid)
    text_in(client, "HELP", sid=sid)
    assert count(InboundText) == 1
    assert len(replies(Kind.REPLY_HELP)) == 1


def test_a_repeated_symptom_reply_raises_one_alert(client, clinic):
    booked()
    sid = new_sid()
    text_in(client, "there's pus", sid=sid)
    text_in(client, "there's pus", sid=sid)
    assert count(StaffAlert) == 1
    # 08:00 on a Monday in London: before the clinic opens.
    assert [r.kind for r in replies()] == [Kind.REPLY_URGENT_CLOSED]


def test_the_same_status_report_twice_is_harmless(client, clinic, clock):
    appointment = booked()
    row = sent_text(appointment, Kind.REMINDER_24H, "SMtwice")
    status(client, "SMtwice", "delivered")
    first = reload(row).delivered_at
    clock.advance(minutes=5)
    assert status(client, "SMtwice", "delivered").status_code == 204
    assert (reload(row).status, row.delivered_at) == (TextStatus.DELIVERED, first)


# --- replies ------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["STOP", "stop", "please stop texting me"])
def test_stop_ends_every_planned_text_for_everyone_on_that_number(client, clinic, word):
    parent = booked(full_name="Sam Parent", date_of_birth=datetime(1980, 1, 1).date())
    child = booked(
        THURSDAY_10 + timedelta(hours=2),
        full_name="Kit Parent",
        date_of_birth=datetime(2004, 6, 1).date(),
    )
    other = booked(THURSDAY_10 + timedelta(hours=4), phone="+447911999888", full_name="Other")
    assert parent.patient_id != child.patient_id
    text_in(client, word)
    db.session.commit()
    for appointment in (parent, child):
        db.session.refresh(appointment.patient)
        assert appointment.patient.sms_opt_in is False
        assert appointment.patient.sms_opt_in_source == "sms"
        pending = count(
            OutboundText,
            OutboundText.appointment_id == appointment.id,
            OutboundText.status == TextStatus.PENDING,
        )
        assert pending == 0
        cancelled = count(
            OutboundText,
            OutboundText.appointment_id == appointment.id,
            OutboundText.status == TextStatus.CANCELLED,
        )
        assert cancelled == 4  # confirmation, the advice that goes with it, both reminders
    # Someone else's texts are untouched.
    assert (
        count(
            OutboundText,
            OutboundText.appointment_id == other.id,
            OutboundText.status == TextStatus.PENDING,
        )
        == 4
    )
    [confirmation] = replies(Kind.REPLY_OPT_OUT)
    assert confirmation.status == TextStatus.PENDING and confirmation.immediate


def test_one_opt_out_confirmation_within_five_minutes_then_it_goes(client, clinic, clock):
    booked()
    text_in(client, "STOP")
    clock.advance(minutes=2)
    text_in(client, "please stop texting me")
    clock.advance(minutes=2)
    text_in(client, "UNSUBSCRIBE")
    assert len(replies(Kind.REPLY_OPT_OUT)) == 1
    report = dispatch_pass()
    assert report.counts["sent"] == 1
    _sid, to, body = get_sender().sent[-1]
    assert to == ADA_PHONE and "no more texts" in body and "START" in body
    clock.advance(minutes=6)
    text_in(client, "STOP")
    assert len(replies(Kind.REPLY_OPT_OUT)) == 2


@pytest.mark.parametrize("word", ["START", "UNSTOP"])
def test_start_resumes_texts_for_everyone_on_the_number(client, clinic, clock, word):
    first = booked(full_name="Sam Parent", date_of_birth=datetime(1980, 1, 1).date())
    second = booked(
        THURSDAY_10 + timedelta(hours=2),
        full_name="Kit Parent",
        date_of_birth=datetime(2004, 6, 1).date(),
    )
    text_in(client, "STOP")
    clock.advance(minutes=1)
    text_in(client, word)
    db.session.commit()
    for appointment in (first, second):
        db.session.refresh(appointment.patient)
        assert appointment.patient.sms_opt_in is True
    assert len(replies(Kind.REPLY_OPT_IN)) == 1
    dispatch_pass()
    bodies = [body for _sid, _to, body in get_sender().sent]
    assert any("texts restarted" in body for body in bodies)


def test_help_is_answered_with_the_clinics_number(client, clinic, app):
    booked()
    text_in(client, "help")
    [answer] = replies(Kind.REPLY_HELP)
    assert answer.immediate
    dispatch_pass()
    _sid, _to, body = get_sender().sent[-1]
    assert app.config["CLINIC_PHONE"] in body and "STOP" in body


@pytest.mark.parametrize("word", ["C", "CONFIRM", "confirm"])
def test_c_confirms_the_next_booked_visit_and_says_so(client, clinic, word):
    later = booked(THURSDAY_10 + timedelta(days=8))
    sooner = booked()
    text_in(client, word)
    db.session.commit()
    db.session.refresh(sooner)
    db.session.refresh(later)
    assert sooner.status == AppointmentStatus.CONFIRMED
    assert later.status == AppointmentStatus.BOOKED
    assert len(replies(Kind.REPLY_CONFIRM)) == 1
    dispatch_pass()
    bodies = [body for _sid, _to, body in get_sender().sent]
    assert any("your visit on Thursday 5 March at 10:00 is confirmed" in b for b in bodies)


def test_the_answer_to_c_names_the_visit_it_confirmed(client, clinic):
    held = make_booking(
        "microneedling",
        datetime(2026, 3, 3, 11, 0, tzinfo=UTC),
        patient=patient_details(phone=ADA_PHONE),
        screening=all_no("microneedling") | {"anticoagulant": True},
        sms_opt_in=True,
    )
    later = make_booking(
        "consultation",
        datetime(2026, 3, 4, 11, 0, tzinfo=UTC),
        patient=patient_details(phone=ADA_PHONE),
        sms_opt_in=True,
    )
    assert held.status == AppointmentStatus.NEEDS_REVIEW
    text_in(client, "C")
    db.session.refresh(later)
    assert later.status == AppointmentStatus.CONFIRMED
    dispatch_pass()
    [answer] = [body for _sid, _to, body in get_sender().sent if "thank you, your visit" in body]
    assert "Wednesday 4 March at 11:00 is confirmed" in answer


def test_c_with_nothing_booked_goes_to_the_inbox(client, clinic):
    appointment = booked()
    cancel(appointment, by_patient=False)
    text_in(client, "C")
    db.session.commit()
    reply = db.session.scalar(select(InboundText))
    assert reply.needs_attention and replies() == []


def test_what_c_confirms_is_decided_by_the_handler_booking_registered(app, client, clinic):
    """The texts package files the reply and answers it; the visit's change is booking's."""
    visit = booked()
    visit_id, patient_id = visit.id, visit.patient_id
    calls = []

    def handler(patient_id, now):
        calls.append((patient_id, now))
        return visit_id

    hooks.register_confirm_reply(app, handler)
    text_in(client, "C")
    assert calls == [(patient_id, utcnow())]
    [answer] = replies(Kind.REPLY_CONFIRM)
    assert answer.appointment_id == visit_id
    db.session.refresh(visit)
    assert visit.status == AppointmentStatus.BOOKED  # the stand-in handler changed nothing


@pytest.mark.parametrize(
    ("body", "level"),
    [
        ("there's pus", AlertLevel.URGENT),
        ("It's really red and hot tonight", AlertLevel.URGENT),
        ("I have red streaks down my neck", AlertLevel.EMERGENCY),
        ("I can't breathe properly", AlertLevel.EMERGENCY),
        ("stop texting me, I keep vomiting", AlertLevel.EMERGENCY),
    ],
)
def test_symptom_words_raise_an_alert_and_plan_the_auto_reply(client, clinic, clock, body, level):
    appointment = booked()
    # Late at night: the answer to a worried patient still goes at once.
    clock.set(datetime(2026, 3, 2, 23, 30, tzinfo=UTC))
    text_in(client, body)
    db.session.commit()
    alert = db.session.scalar(select(StaffAlert))
    reply = db.session.scalar(select(InboundText))
    assert (alert.level, alert.patient_id, alert.inbound_id) == (
        level,
        appointment.patient_id,
        reply.id,
    )
    assert alert.acknowledged_at is None
    # The safety reply (an opt-out in the same message is answered too, after it).
    [answer] = [r for r in replies() if r.kind != Kind.REPLY_OPT_OUT]
    assert answer.immediate and answer.send_at == clock.now()
    dispatch_pass()
    sent = reload(answer).body
    if level is AlertLevel.EMERGENCY:
        assert answer.kind == Kind.REPLY_EMERGENCY
        assert sent.startswith("Northside Hair Clinic: please call 999 now.")
    else:
        # Late at night nobody will call at once, and the text says so.
        assert answer.kind == Kind.REPLY_URGENT_CLOSED
        assert "We are closed now" in sent and "09:00 tomorrow" in sent
        assert "For urgent advice call NHS 111." in sent and "call 999 now" in sent


@pytest.mark.parametrize("body", ["Can I move my appointment?", "Thanks, see you then", ""])
def test_anything_else_lands_in_the_inbox_without_a_reply(client, clinic, body):
    appointment = booked()
    text_in(client, body)
    db.session.commit()
    reply = db.session.scalar(select(InboundText))
    assert (reply.patient_id, reply.needs_attention, reply.intent) == (
        appointment.patient_id,
        True,
        "other",
    )
    assert replies() == [] and count(StaffAlert) == 0


def test_a_number_we_do_not_know_lands_in_the_inbox_with_no_reply(client, clinic):
    booked()
    for body in ("HELP", "STOP", "see you at 10:30"):
        text_in(client, body, from_number="+447900111222")
    db.session.commit()
    filed = db.session.scalars(select(InboundText)).all()
    assert len(filed) == 3
    assert all(r.patient_id is None and r.needs_attention for r in filed)
    assert replies() == [] and count(StaffAlert) == 0


def test_stop_with_symptoms_alerts_answers_then_opts_out(client, clinic, clock):
    appointment = booked()
    clock.set(datetime(2026, 3, 2, 23, 30, tzinfo=UTC))  # quiet hours: the answer still goes
    text_in(client, "stop, it's bleeding and hot")
    db.session.commit()
    [alert] = db.session.scalars(select(StaffAlert)).all()
    assert (alert.level, alert.patient_id) == (AlertLevel.URGENT, appointment.patient_id)
    assert "no more texts" in alert.reason
    reply = db.session.scalar(select(InboundText))
    assert (reply.intent, reply.needs_attention) == ("urgent", True)
    # Then the opt-out: the visit's texts are cancelled, the answers to this message are not.
    db.session.refresh(appointment.patient)
    assert appointment.patient.sms_opt_in is False
    planned = db.session.scalars(
        select(OutboundText).where(OutboundText.appointment_id == appointment.id)
    ).all()
    assert planned and {row.status for row in planned} == {TextStatus.CANCELLED}
    safety, confirmation = replies()
    # Monday 08:00, before the clinic opens: the urgent answer says when someone will call.
    assert (safety.kind, confirmation.kind) == (Kind.REPLY_URGENT_CLOSED, Kind.REPLY_OPT_OUT)
    assert safety.status == confirmation.status == TextStatus.PENDING
    report = dispatch_pass()
    assert report.counts["sent"] == 2
    # The safety reply goes first, to a patient who is now opted out.
    assert [reload(safety).status, reload(confirmation).status] == [TextStatus.SENT] * 2
    (_sid1, to1, first), (_sid2, _to2, second) = get_sender().sent[-2:]
    assert to1 == ADA_PHONE and first == safety.body and second == confirmation.body
    # Later texts stay stopped.
    text_in(client, "thanks")
    assert replies() == [safety, confirmation]


@pytest.mark.parametrize("body", ["cant breathe", "STOP my lips r swelling"])
def test_an_unknown_sender_with_symptoms_gets_the_safety_reply_and_an_alert(client, clinic, body):
    booked()
    stranger = "+447900111222"
    text_in(client, body, from_number=stranger)
    db.session.commit()
    [alert] = db.session.scalars(select(StaffAlert)).all()
    reply = db.session.scalar(select(InboundText))
    assert (alert.level, alert.patient_id, alert.inbound_id) == (
        AlertLevel.EMERGENCY,
        None,
        reply.id,
    )
    assert "unknown sender" in alert.reason and stranger in alert.reason
    [answer] = replies()
    assert (answer.kind, answer.patient_id, answer.to_number) == (
        Kind.REPLY_EMERGENCY,
        None,
        stranger,
    )
    dispatch_pass()
    assert reload(answer).status == TextStatus.SENT
    [(_sid, sent)] = [(sid, body) for sid, to, body in get_sender().sent if to == stranger]
    assert sent == answer.body and sent.startswith("Northside Hair Clinic: please call 999 now.")
    # A failed delivery of that answer has no patient to mark: it is recorded, nothing more.
    assert status(client, answer.provider_sid, "failed", "30005").status_code == 204
    assert reload(answer).status == TextStatus.FAILED
    assert count(StaffAlert) == 1


def test_an_unknown_sender_we_cannot_text_back_still_raises_the_alert(client, clinic):
    booked()
    response = webhook(
        client,
        "/sms/inbound",
        {"MessageSid": new_sid(), "From": "VODAFONE", "Body": "there's pus and a fever"},
    )
    assert response.status_code == 200
    db.session.commit()
    [alert] = db.session.scalars(select(StaffAlert)).all()
    assert alert.level == AlertLevel.URGENT and "VODAFONE" in alert.reason
    assert replies() == []


def test_a_national_number_is_matched_to_the_patient(client, clinic):
    appointment = booked()
    text_in(client, "HELP", from_number="07911 123456")
    db.session.commit()
    assert db.session.scalar(select(InboundText.patient_id)) == appointment.patient_id


# --- delivery reports ---------------------------------------------------------------------


def test_status_moves_forward_and_never_back(client, clinic):
    appointment = booked()
    row = sent_text(appointment, Kind.REMINDER_24H, "SMforward")
    status(client, "SMforward", "sent")
    assert reload(row).status == TextStatus.SENT
    status(client, "SMforward", "delivered")
    assert reload(row).status == TextStatus.DELIVERED
    for late in ("sent", "queued", "undelivered", "failed"):
        status(client, "SMforward", late, "30003" if late == "undelivered" else None)
        assert reload(row).status == TextStatus.DELIVERED
    assert count(StaffAlert) == 0


@pytest.mark.parametrize("kind", [Kind.INFECTION_72H, Kind.REVIEW_7D])
def test_an_undelivered_safety_text_raises_one_phone_the_patient_task(client, clinic, kind):
    appointment = booked()
    sent_text(appointment, kind, "SMsafety")
    status(client, "SMsafety", "undelivered", "30007")
    status(client, "SMsafety", "undelivered", "30007")
    status(client, "SMsafety", "failed", "30007")
    db.session.commit()
    [task] = db.session.scalars(select(StaffAlert)).all()
    assert (task.level, task.patient_id) == (AlertLevel.TASK, appointment.patient_id)
    assert task.reason.startswith("Phone the patient")


def test_an_undelivered_reminder_raises_no_task(client, clinic):
    appointment = booked()
    row = sent_text(appointment, Kind.REMINDER_24H, "SMreminder")
    status(client, "SMreminder", "undelivered", "30007")
    assert reload(row).status == TextStatus.UNDELIVERED and row.error_code == "30007"
    assert count(StaffAlert) == 0


def test_an_unreachable_phone_is_retried_once_later(client, clinic, clock):
    appointment = booked()
    row = sent_text(appointment, Kind.INFECTION_72H, "SMfirsttry")
    status(client, "SMfirsttry", "undelivered", "30003")
    reload(row)
    assert (row.status, row.provider_sid) == (TextStatus.PENDING, None)
    assert row.send_at == clock.now() + timedelta(hours=1)
    assert count(StaffAlert) == 0
    clock.advance(minutes=59)
    dispatch_pass()
    assert reload(row).status == TextStatus.PENDING
    clock.advance(minutes=1)  # 09:00 in London: inside the sending window
    dispatch_pass()
    second_sid = reload(row).provider_sid
    assert row.status == TextStatus.SENT and row.attempts == 2 and second_sid
    status(client, second_sid, "undelivered", "30003")
    assert reload(row).status == TextStatus.UNDELIVERED
    assert count(StaffAlert, StaffAlert.level == AlertLevel.TASK) == 1


def test_a_carrier_opt_out_in_a_report_opts_the_patient_out(client, clinic):
    appointment = booked()
    row = sent_text(appointment, Kind.CONFIRMATION, "SMcarrier")
    status(client, "SMcarrier", "failed", "21610")
    assert reload(row).status == TextStatus.FAILED
    db.session.refresh(appointment.patient)
    assert appointment.patient.sms_opt_in is False
    assert appointment.patient.sms_opt_in_source == "carrier"
    assert (
        count(
            OutboundText,
            OutboundText.patient_id == appointment.patient_id,
            OutboundText.status == TextStatus.PENDING,
        )
        == 0
    )
    assert count(StaffAlert) == 0


def test_the_safety_reply_to_an_unknown_number_goes_out_on_both_databases(any_app):
    """The dispatcher claims a text with no patient (an outer join, locked on PostgreSQL)."""
    with any_app.app_context():
        make_clinic()
        booked()
        client = any_app.test_client()
        text_in(client, "cant breathe", from_number="+447900111333")
        report = dispatch_pass()
        # The booking's confirmation, its pre-visit advice and the safety reply.
        assert report.counts["sent"] == 3
        [answer] = replies(Kind.REPLY_EMERGENCY)
        assert (answer.status, answer.patient_id, answer.to_number) == (
            TextStatus.SENT,
            None,
            "+447900111333",
        )
        assert count(StaffAlert, StaffAlert.patient_id.is_(None)) == 1
