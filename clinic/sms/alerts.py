"""Alerts and tasks for staff: symptoms in a reply, a safety text that did not arrive, a number
that cannot take texts. Called inside the caller's transaction, except the per-pass job
``raise_missed_safety_tasks``, which owns its own."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import exists, select

from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.extensions import db
from clinic.localtime import day_bounds, local_date
from clinic.sms import hours, outbox, suppression
from clinic.sms.kinds import SAFETY_KINDS, Kind
from clinic.sms.models import AlertLevel, OutboundText, StaffAlert, TextStatus
from clinic.sms.senders import INVALID_NUMBER_CODES, OPTED_OUT_CODES, error_code

KIND_NAMES = {
    Kind.INFECTION_72H: "the 72-hour warning-signs text",
    Kind.REVIEW_7D: "the one-week check text",
}

# A text in one of these will never reach the patient.
MISSED_STATUSES = (
    TextStatus.SKIPPED,
    TextStatus.CANCELLED,
    TextStatus.FAILED,
    TextStatus.UNDELIVERED,
)
# How far back each pass looks: it bounds the query, and a scheduler stopped for longer than this
# has bigger news for the desk than a two-week-old text.
MISSED_LOOKBACK = timedelta(days=14)


def safety_reply_kind(level: AlertLevel) -> Kind:
    """The answer to a reply with symptom words: an emergency is told to call the emergency
    number; an urgent one when a clinician will call, honestly, by the clinic's opening hours."""
    if level is AlertLevel.EMERGENCY:
        return Kind.REPLY_EMERGENCY
    return Kind.REPLY_URGENT if clinic_open_now() else Kind.REPLY_URGENT_CLOSED


def clinic_open_now() -> bool:
    config = current_app.config
    return hours.is_open(
        utcnow(), ZoneInfo(config["CLINIC_TIMEZONE"]), hours.parse(config["CLINIC_OPEN_HOURS"])
    )


def raise_alert(
    level: AlertLevel, reason: str, *, patient_id=None, inbound_id=None, outbound_id=None
):
    alert = StaffAlert(
        level=level,
        reason=reason[:300],
        patient_id=patient_id,
        inbound_id=inbound_id,
        outbound_id=outbound_id,
        created_at=utcnow(),
    )
    db.session.add(alert)
    return alert


def after_failed_send(row, patient, code) -> None:
    """What a refused or undelivered text means for the patient and for staff."""
    code = error_code(code)
    if patient is None:
        # A text to the clinician on call; a safety reply to an unknown number needs no more.
        if getattr(row, "alert_id", None) is not None:
            _escalation_failed(row, code)
        return
    if code in OPTED_OUT_CODES:
        patient.sms_opt_in = False
        patient.sms_opt_in_at = utcnow()
        patient.sms_opt_in_source = "carrier"
        suppression.suppress(patient.phone, "carrier")
        outbox.stop_all_for_patient(patient.id, "opted out with the carrier")
        return
    if code in INVALID_NUMBER_CODES:
        patient.phone_unusable = True
        outbox.stop_all_for_patient(patient.id, "number cannot take texts")
        raise_alert(
            AlertLevel.TASK,
            f"Phone the patient: their number cannot take texts (error {code}); check it.",
            patient_id=patient.id,
            outbound_id=row.id,
        )
        return
    if row.kind in SAFETY_KINDS and not _task_exists(row.id):
        raise_alert(
            AlertLevel.TASK,
            f"Phone the patient: {KIND_NAMES[Kind(row.kind)]} did not reach them.",
            patient_id=patient.id,
            outbound_id=row.id,
        )


def _task_exists(outbound_id: int) -> bool:
    return (
        db.session.scalar(select(StaffAlert.id).where(StaffAlert.outbound_id == outbound_id))
        is not None
    )


def raise_missed_safety_tasks() -> int:
    """A "phone the patient" task for each warning-signs or one-week text that will not reach
    the patient, once the time it was due has come: skipped (no consent, opted out, number
    unusable, expired), cancelled (an opt-out, say), failed or undelivered. Calls are allowed
    after STOP, so opted-out patients get one too. Run by every dispatch pass; returns how many
    tasks it raised.

    One task per text: the look-up and the inserts share one write transaction under one lock,
    so two schedulers running at once raise it once."""
    now = utcnow()
    if not _missed_safety_texts(now):
        db.session.commit()  # end the read; nothing to do
        return 0
    with write_transaction("sms-safety-tasks"):
        missed = _missed_safety_texts(now)
        for row in missed:
            why = _why(row)
            raise_alert(
                AlertLevel.TASK,
                f"Phone the patient: {KIND_NAMES[Kind(row.kind)]} will not reach them{why}.",
                patient_id=row.patient_id,
                outbound_id=row.id,
            )
    return len(missed)


def _missed_safety_texts(now):
    has_task = exists().where(StaffAlert.outbound_id == OutboundText.id)
    return db.session.execute(
        select(
            OutboundText.id,
            OutboundText.kind,
            OutboundText.patient_id,
            OutboundText.status,
            OutboundText.error_message,
        )
        .where(
            OutboundText.status.in_(MISSED_STATUSES),
            OutboundText.send_at <= now,
            OutboundText.send_at > now - MISSED_LOOKBACK,
            OutboundText.kind.in_(SAFETY_KINDS),
            ~has_task,
        )
        .order_by(OutboundText.send_at, OutboundText.id)
    ).all()


def _why(row) -> str:
    # Skips and cancellations carry our own short reasons; a provider's error text stays out.
    if row.status in (TextStatus.SKIPPED, TextStatus.CANCELLED) and row.error_message:
        return f" ({row.error_message})"
    return " (not delivered)"


def _escalation_failed(row, code) -> None:
    """A text to the clinician on call did not arrive: the desk must phone them."""
    if _task_exists(row.id):
        return
    raise_alert(
        AlertLevel.TASK,
        f"A text to the on-call phone did not arrive (error {code or 'unknown'}): "
        "phone the clinician on call about the open alerts.",
        outbound_id=row.id,
    )


def texts_held(for_number: bool, number: str, patient_id: int | None, now) -> None:
    """A desk task when the daily text caps hold texts: once per number per day, once per day
    for the clinic's cap. Called inside the dispatcher's transaction."""
    config = current_app.config
    if for_number:
        reason = (
            f"Texts to {number} held: the number reached its daily limit of "
            f"{config['SMS_MAX_PER_NUMBER_PER_DAY']} texts. The rest go tomorrow; "
            "check nobody is misusing it."
        )
    else:
        reason = (
            f"Texts held: the clinic reached its daily limit of {config['SMS_MAX_PER_DAY']} "
            "texts (SMS_MAX_PER_DAY). The rest go tomorrow; check nobody is misusing the booking."
        )
    tz = ZoneInfo(config["CLINIC_TIMEZONE"])
    day_start, _ = day_bounds(local_date(now, tz), tz)
    already = db.session.scalar(
        select(
            exists().where(
                StaffAlert.level == AlertLevel.TASK,
                StaffAlert.reason == reason[:300],
                StaffAlert.created_at >= day_start,
            )
        )
    )
    if not already:
        raise_alert(AlertLevel.TASK, reason, patient_id=patient_id if for_number else None)
