"""Planning texts: rows written in the same transaction as the event that plans them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update

from clinic.catalog.policy import clinic_policy
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.sms.kinds import IMMEDIATE_KINDS, SAFETY_REPLY_KINDS, Kind
from clinic.sms.models import OutboundText, TextStatus
from clinic.sms.plan import (
    CarePolicy,
    PlannedText,
    plan_aftercare,
    plan_before_visit,
    plan_booking,
    plan_course_nudge,
)

# The texts planned ahead of a visit, which move with it.
BEFORE_VISIT_KINDS = (
    Kind.PRECARE_NOW,
    Kind.PRECARE_7D,
    Kind.PRECARE_3D,
    Kind.REMINDER_48H,
    Kind.REMINDER_24H,
)
MOVED = "visit moved"
# An answer to a reply is worth sending only while the conversation is fresh.
REPLY_LIFETIME = timedelta(hours=1)


def care_policy() -> CarePolicy:
    # Read when a text is planned and again by the dispatcher when it is due, so a change of
    # quiet hours also holds back texts planned before it.
    policy = clinic_policy()
    return CarePolicy(quiet_start=policy.quiet_start, quiet_end=policy.quiet_end)


def _tz(appointment) -> ZoneInfo:
    return ZoneInfo(appointment.practitioner.location.timezone)


def _add(
    patient_id: int | None,
    planned: PlannedText,
    *,
    appointment_id=None,
    reply_to_id=None,
    to_number: str = "",
):
    now = utcnow()
    row = OutboundText(
        kind=planned.kind,
        patient_id=patient_id,
        to_number=to_number,
        appointment_id=appointment_id,
        reply_to_id=reply_to_id,
        send_at=planned.send_at,
        expires_at=planned.expires_at,
        immediate=planned.kind in IMMEDIATE_KINDS,
        status=TextStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    db.session.add(row)
    return row


def plan_for_booking(appointment, *, confirm: bool = True, held: bool = False):
    """Confirmation now (unless part of a series already confirmed), the pre-care advice for a
    visit that needles, and the reminders.

    A booking held for a clinician's check is told so: its confirmation says the time is held.
    """
    db.session.flush()
    planned = plan_booking(
        start=appointment.start_at,
        now=utcnow(),
        tz=_tz(appointment),
        policy=care_policy(),
        needles=bool(appointment.needles),
    )
    if not confirm:
        planned = [p for p in planned if p.kind is not Kind.CONFIRMATION]
    elif held:
        planned = [
            PlannedText(Kind.CONFIRMATION_HELD, p.send_at, p.expires_at)
            if p.kind is Kind.CONFIRMATION
            else p
            for p in planned
        ]
    return [_add(appointment.patient_id, p, appointment_id=appointment.id) for p in planned]


def tell_now(appointment, kind: Kind) -> OutboundText:
    """A text about this visit that goes at once (whatever the hour: it answers what the
    clinic just did), such as its confirmation after a clinician's check."""
    now = utcnow()
    planned = PlannedText(kind, now, now + care_policy().confirmation_lifetime)
    return _add(appointment.patient_id, planned, appointment_id=appointment.id)


def plan_for_patient(
    patient_id: int, kind: Kind, *, send_at: datetime, expires_at: datetime
) -> OutboundText:
    """A text about no visit (a waitlist offer, say), planned by a feature above this package.
    What it says of its subject comes through hooks.text_values when it is sent; quiet hours
    apply unless the kind goes at once."""
    row = _add(patient_id, PlannedText(kind, send_at, expires_at))
    db.session.flush()
    return row


def cancel_text(text_id: int, reason: str) -> bool:
    """Cancel one text that has not been claimed for sending yet; False when it is already on
    its way (or gone)."""
    result = db.session.execute(
        update(OutboundText)
        .where(OutboundText.id == text_id, OutboundText.status == TextStatus.PENDING)
        .values(status=TextStatus.CANCELLED, error_message=reason[:300], updated_at=utcnow())
    )
    return bool(result.rowcount)


def visit_moved(appointment) -> None:
    """Move the pending pre-care texts and reminders with the visit; drop those whose time has
    now passed (pre-care advice they carried goes at once, as at booking)."""
    wanted = {
        p.kind: p
        for p in plan_before_visit(
            start=appointment.start_at,
            now=utcnow(),
            tz=_tz(appointment),
            policy=care_policy(),
            needles=bool(appointment.needles),
        )
    }
    existing = {
        row.kind: row
        for row in db.session.scalars(
            select(OutboundText).where(
                OutboundText.appointment_id == appointment.id,
                OutboundText.kind.in_(BEFORE_VISIT_KINDS),
            )
        )
    }
    now = utcnow()
    for kind in BEFORE_VISIT_KINDS:
        row, plan = existing.get(kind), wanted.get(kind)
        if row is None:
            if plan is not None:
                _add(appointment.patient_id, plan, appointment_id=appointment.id)
            continue
        if row.status != TextStatus.PENDING:
            went_out = row.status in (TextStatus.SENT, TextStatus.DELIVERED)
            # The at-once advice names no date: once given, it holds for the new time too.
            reusable = (went_out and kind is not Kind.PRECARE_NOW) or (
                row.status == TextStatus.CANCELLED and row.error_message == MOVED
            )
            if plan is not None and reusable:
                # Sent about the old time, or dropped by an earlier move: plan it again.
                row.status, row.provider_sid, row.body = TextStatus.PENDING, None, ""
                row.attempts, row.error_code, row.error_message = 0, "", ""
                row.sent_at = row.delivered_at = None
                row.send_at, row.expires_at, row.updated_at = plan.send_at, plan.expires_at, now
            continue
        if plan is None:
            row.status, row.error_message, row.updated_at = TextStatus.CANCELLED, MOVED, now
        else:
            row.send_at, row.expires_at, row.updated_at = plan.send_at, plan.expires_at, now


def visit_called_off(appointment, reason: str) -> int:
    """Cancel every text still waiting for this visit (cancelled, no-show, declined)."""
    result = db.session.execute(
        update(OutboundText)
        .where(
            OutboundText.appointment_id == appointment.id,
            OutboundText.status == TextStatus.PENDING,
        )
        .values(status=TextStatus.CANCELLED, error_message=reason[:300], updated_at=utcnow())
    )
    return result.rowcount


def plan_for_completed_session(appointment) -> list[OutboundText]:
    session_end = appointment.completed_at or appointment.end_at
    planned = plan_aftercare(session_end=session_end, tz=_tz(appointment), policy=care_policy())
    return [_add(appointment.patient_id, p, appointment_id=appointment.id) for p in planned]


def plan_nudge(appointment, due: datetime) -> OutboundText | None:
    """A nudge tied to an unbooked course session (once per session)."""
    exists = db.session.scalar(
        select(OutboundText.id).where(
            OutboundText.appointment_id == appointment.id,
            OutboundText.kind == Kind.COURSE_NUDGE,
        )
    )
    if exists:
        return None
    planned = plan_course_nudge(due=due, tz=_tz(appointment), policy=care_policy())
    return _add(appointment.patient_id, planned, appointment_id=appointment.id)


def queue_reply(
    patient_id: int, kind: Kind, inbound_id: int, *, appointment_id: int | None = None
) -> OutboundText | None:
    """An answer to a reply, sent at once. An answer about a visit goes once per visit."""
    if appointment_id is not None and db.session.scalar(
        select(OutboundText.id).where(
            OutboundText.appointment_id == appointment_id, OutboundText.kind == kind
        )
    ):
        return None
    now = utcnow()
    planned = PlannedText(kind, now, now + REPLY_LIFETIME)
    return _add(patient_id, planned, appointment_id=appointment_id, reply_to_id=inbound_id)


def queue_reply_to_number(number: str, kind: Kind, inbound_id: int) -> OutboundText:
    """An answer to a reply from a number that matches no patient (the safety reply only)."""
    now = utcnow()
    planned = PlannedText(kind, now, now + REPLY_LIFETIME)
    return _add(None, planned, reply_to_id=inbound_id, to_number=number)


def stop_all_for_patient(patient_id: int, reason: str, *, keep_reply_to: int | None = None) -> int:
    """Opt-out: nothing planned goes out any more, except the answer to the opt-out itself, a
    safety answer to symptoms (it may go after STOP, see dispatch) and every answer to
    ``keep_reply_to``: the reply to "stop, it's bleeding" still goes."""
    kept = [OutboundText.kind.not_in([Kind.REPLY_OPT_OUT, *SAFETY_REPLY_KINDS])]
    if keep_reply_to is not None:
        kept.append(
            or_(OutboundText.reply_to_id.is_(None), OutboundText.reply_to_id != keep_reply_to)
        )
    result = db.session.execute(
        update(OutboundText)
        .where(
            OutboundText.patient_id == patient_id,
            OutboundText.status == TextStatus.PENDING,
            *kept,
        )
        .values(status=TextStatus.CANCELLED, error_message=reason[:300], updated_at=utcnow())
    )
    return result.rowcount
