"""Replies and delivery reports from Twilio, each handled once (idempotent on MessageSid).

A reply is triaged first (clinic/sms/triage.py). Symptoms beat every other word: the alert is
raised and the safety reply queued before anything else, and only then is an opt-out in the same
message applied (STOP ends texts, not the answer to this message nor clinical phone follow-up).
A number that matches no patient gets the same safety reply and an "unknown sender" alert.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.sms import alerts, hooks, outbox, senders, suppression
from clinic.sms.kinds import Kind
from clinic.sms.models import (
    STATUS_RANK,
    AlertLevel,
    DeliveryReport,
    InboundText,
    OutboundText,
    TextStatus,
)
from clinic.sms.senders import RETRY_ONCE_CODES
from clinic.sms.triage import Intent, Level, Triage, triage

# Twilio's message statuses, on our scale.
TWILIO_STATUSES = {
    "accepted": TextStatus.SENT,
    "scheduled": TextStatus.SENT,
    "queued": TextStatus.SENT,
    "sending": TextStatus.SENT,
    "sent": TextStatus.SENT,
    "delivered": TextStatus.DELIVERED,
    "undelivered": TextStatus.UNDELIVERED,
    "failed": TextStatus.FAILED,
    "canceled": TextStatus.FAILED,
}
RETRY_ONCE_AFTER = timedelta(hours=1)
REPLIES = {
    Intent.OPT_OUT: Kind.REPLY_OPT_OUT,
    Intent.OPT_IN: Kind.REPLY_OPT_IN,
    Intent.HELP: Kind.REPLY_HELP,
}
ALERT_LEVELS = {Level.EMERGENCY: AlertLevel.EMERGENCY, Level.URGENT: AlertLevel.URGENT}
# A number we can text back: E.164 as the webhook normalised it (not "VODAFONE").
TEXTABLE_NUMBER = re.compile(r"\+[1-9]\d{6,14}")


def safety_reply_kind(level: Level) -> Kind:
    """The answer to a reply that mentions symptoms at ``level``: an emergency is told to call
    the emergency number now; an urgent one when a clinician will call, by opening hours."""
    return alerts.safety_reply_kind(ALERT_LEVELS[level])


def receive(message_sid: str, from_number: str, to_number: str, body: str) -> InboundText:
    """File a reply and act on it; a repeat of the same MessageSid changes nothing."""
    existing = db.session.scalar(select(InboundText).where(InboundText.message_sid == message_sid))
    if existing is not None:
        return existing
    try:
        with write_transaction("sms-inbound"):
            return _receive(message_sid, from_number, to_number, body)
    except IntegrityError:
        # The same webhook arrived twice at once; the other request filed it.
        return db.session.scalar(select(InboundText).where(InboundText.message_sid == message_sid))


def _receive(message_sid, from_number, to_number, body) -> InboundText:
    now = utcnow()
    patients = list(
        db.session.scalars(
            select(Patient).where(Patient.phone == from_number).order_by(Patient.id.desc())
        )
    )
    patient = _most_relevant(patients)
    result = triage(body)
    intent = result.intent
    inbound = InboundText(
        message_sid=message_sid,
        from_number=from_number,
        to_number=to_number,
        body=body,
        patient_id=patient.id if patient else None,
        intent=intent,
        needs_attention=False,
        received_at=now,
    )
    db.session.add(inbound)
    db.session.flush()
    # STOP and START are about the number, whoever it belongs to (or nobody we know).
    if TEXTABLE_NUMBER.fullmatch(from_number):
        if result.opt_out or intent is Intent.OPT_OUT:
            suppression.suppress(from_number, "sms")
        elif intent is Intent.OPT_IN:
            suppression.lift(from_number)
    if result.symptoms:
        # First the alert and the safety reply; then, if asked, the opt-out.
        _answer_symptoms(result, inbound, patient)
        if patient is not None and result.opt_out:
            _opt_out(patients, patient, inbound, now)
        return inbound
    if patient is None:
        inbound.needs_attention = True  # nobody we know: a person should look
        return inbound
    if intent is Intent.OPT_OUT:
        _opt_out(patients, patient, inbound, now)
        return inbound
    if intent is Intent.OPT_IN:
        for each in patients:
            _set_opt_in(each, True, "sms")
    elif intent is Intent.CONFIRM:
        # Booking (above us) decides what a confirm means for a visit.
        appointment_id = hooks.confirm_reply(patient.id, now)
        if appointment_id is None:
            inbound.needs_attention = True
            return inbound
        outbox.queue_reply(
            patient.id, Kind.REPLY_CONFIRM, inbound.id, appointment_id=appointment_id
        )
        return inbound
    elif intent is Intent.OTHER:
        inbound.needs_attention = True
        return inbound
    outbox.queue_reply(patient.id, REPLIES[intent], inbound.id)
    return inbound


def _answer_symptoms(result: Triage, inbound: InboundText, patient: Patient | None) -> None:
    """Alert staff at the reply's level and queue the safety reply, to a patient or, from a
    number that matches no patient, to that number."""
    inbound.needs_attention = True
    kind = safety_reply_kind(result.level)
    if patient is not None:
        reason = "Reply mentions symptoms: a clinician should call the patient now."
        if result.opt_out:
            reason += " They also asked for no more texts: phone them."
        alerts.raise_alert(
            ALERT_LEVELS[result.level], reason, patient_id=patient.id, inbound_id=inbound.id
        )
        outbox.queue_reply(patient.id, kind, inbound.id)
        return
    number = inbound.from_number
    textable = TEXTABLE_NUMBER.fullmatch(number) is not None
    alerts.raise_alert(
        ALERT_LEVELS[result.level],
        f"Reply from an unknown sender ({number}) mentions symptoms: phone them now"
        + ("; they get the safety reply by text." if textable else "; it cannot take texts."),
        inbound_id=inbound.id,
    )
    if textable:
        outbox.queue_reply_to_number(number, kind, inbound.id)


def _opt_out(patients: list[Patient], patient: Patient, inbound: InboundText, now) -> None:
    # One mobile may belong to several patients (a family): STOP is about the number. The
    # answers to this very message (a safety reply) still go.
    for each in patients:
        _set_opt_in(each, False, "sms")
        outbox.stop_all_for_patient(each.id, "patient replied STOP", keep_reply_to=inbound.id)
    if not _recent_opt_out_reply(patient.id, now):  # one confirmation of an opt-out is enough
        outbox.queue_reply(patient.id, Kind.REPLY_OPT_OUT, inbound.id)


def _most_relevant(patients: list[Patient]) -> Patient | None:
    """Of the patients sharing a number, the one with the nearest upcoming visit, else the
    most recently registered."""
    if len(patients) <= 1:
        return patients[0] if patients else None
    best = None
    for patient in patients:
        visit = hooks.next_visit(patient.id)
        if visit is not None and (best is None or visit.start_at < best[0]):
            best = (visit.start_at, patient)
    return best[1] if best else patients[0]


def _set_opt_in(patient: Patient, value: bool, source: str) -> None:
    if patient.sms_opt_in != value:
        patient.sms_opt_in = value
        patient.sms_opt_in_at = utcnow()
        patient.sms_opt_in_source = source


def _recent_opt_out_reply(patient_id: int, now) -> bool:
    return (
        db.session.scalar(
            select(OutboundText.id).where(
                OutboundText.patient_id == patient_id,
                OutboundText.kind == Kind.REPLY_OPT_OUT,
                OutboundText.created_at >= now - timedelta(minutes=5),
            )
        )
        is not None
    )


def status_report(message_sid: str, status: str, error_code: str | None) -> OutboundText | None:
    """Log a delivery report and apply it; statuses only move forward (delivered stays
    delivered). A report for a sid not yet written is applied when it is (see apply_reports)."""
    if TWILIO_STATUSES.get((status or "").lower()) is None:
        return None
    with write_transaction("sms-status"):
        exists = db.session.scalar(
            select(DeliveryReport.id).where(
                DeliveryReport.message_sid == message_sid,
                DeliveryReport.status == status.lower(),
            )
        )
        if exists is None:
            db.session.add(
                DeliveryReport(
                    message_sid=message_sid,
                    status=status.lower(),
                    error_code=str(senders.error_code(error_code) or ""),
                    received_at=utcnow(),
                )
            )
            db.session.flush()
        applied = apply_reports([message_sid])
        row = applied.get(message_sid) or db.session.scalar(
            select(OutboundText).where(OutboundText.provider_sid == message_sid)
        )
    return row


def apply_reports(sids: list[str]) -> dict[str, OutboundText]:
    """Apply logged reports to their texts, inside the caller's transaction. Returns the texts
    that had reports waiting (usually none: the dispatcher calls this for every batch)."""
    reports = list(
        db.session.scalars(
            select(DeliveryReport)
            .where(DeliveryReport.message_sid.in_(sids), DeliveryReport.applied.is_(False))
            .order_by(DeliveryReport.id)
        )
    )
    if not reports:
        return {}
    rows = {
        row.provider_sid: row
        for row in db.session.scalars(
            select(OutboundText).where(
                OutboundText.provider_sid.in_({r.message_sid for r in reports})
            )
        )
    }
    for report in reports:
        row = rows.get(report.message_sid)
        if row is not None:
            report.applied = True
            _apply(row, report)
    return rows


def _apply(row: OutboundText, report: DeliveryReport) -> None:
    new = TWILIO_STATUSES[report.status]
    current = TextStatus(row.status)
    if current in (TextStatus.SKIPPED, TextStatus.CANCELLED, TextStatus.PENDING):
        return
    if STATUS_RANK[new] <= STATUS_RANK[current]:
        return
    now = utcnow()
    row.status = new
    row.updated_at = now
    if new is TextStatus.DELIVERED:
        row.delivered_at = now
        return
    if new in (TextStatus.UNDELIVERED, TextStatus.FAILED):
        code = senders.error_code(report.error_code)
        row.error_code = str(code or "")
        row.error_message = f"Twilio reported {report.status}"
        if code in RETRY_ONCE_CODES and row.attempts < 2 and now < row.expires_at:
            # Unreachable or unknown for now: worth one more try later.
            row.status = TextStatus.PENDING
            row.provider_sid = None
            row.send_at = now + RETRY_ONCE_AFTER
            return
        patient = db.session.get(Patient, row.patient_id) if row.patient_id else None
        alerts.after_failed_send(row, patient, code)
