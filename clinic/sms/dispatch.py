"""The dispatcher: claim due rows atomically, send them, record what happened.

Two dispatchers never send the same row: claims take the database's write lock (SQLite's
BEGIN IMMEDIATE) or skip rows another transaction holds (PostgreSQL's FOR UPDATE SKIP LOCKED).
A claim is a lease: a row left in ``sending`` by a crashed dispatcher is, once its lease runs
out, reconciled by asking Twilio whether it already took the text, before any resend.
"""

from __future__ import annotations

import secrets
import time as monotonic_time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from clinic.aftercare.plan import Kind, next_opening, within_quiet_hours
from clinic.booking.models import Appointment, AppointmentStatus
from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.sms import alerts, outbox
from clinic.sms.gsm import encoding_of
from clinic.sms.models import MessageTemplate, OutboundText, TextStatus
from clinic.sms.senders import (
    PermanentSendError,
    TransientSendError,
    get_sender,
)
from clinic.sms.wording import DEFAULTS, OPT_OUT_LINE, render
from clinic.web.formatting import format_time

# Answers that may still go to a patient who has opted out.
ALLOWED_AFTER_OPT_OUT = {Kind.REPLY_OPT_OUT, Kind.REPLY_HELP, Kind.REPLY_SYMPTOMS}
REPLY_KINDS = {k for k in Kind if k.value.startswith("reply_")}


@dataclass
class PassReport:
    counts: Counter = field(default_factory=Counter)

    def add(self, outcome: str, n: int = 1) -> None:
        self.counts[outcome] += n

    def __str__(self) -> str:
        if not self.counts:
            return "nothing due"
        return ", ".join(f"{name} {n}" for name, n in sorted(self.counts.items()))


class _RateLimiter:
    """Segments per second to the provider; 0 switches it off (tests, benchmarks)."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_free = 0.0

    def wait(self, segments: int) -> None:
        if not self.interval:
            return
        now = monotonic_time.monotonic()
        if self.next_free > now:
            monotonic_time.sleep(self.next_free - now)
        self.next_free = max(now, self.next_free) + self.interval * segments


def dispatch_pass(*, max_rows: int | None = None) -> PassReport:
    """Reconcile abandoned claims, then send every due text (up to max_rows)."""
    config = current_app.config
    report = PassReport()
    reconcile_abandoned(report)
    limiter = _RateLimiter(config["SMS_SEGMENTS_PER_SECOND"])
    handled = 0
    while max_rows is None or handled < max_rows:
        size = config["SMS_BATCH_SIZE"]
        if max_rows is not None:
            size = min(size, max_rows - handled)
        token, rows = claim_batch(size)
        if not rows:
            break
        _send_batch(token, rows, limiter, report)
        handled += len(rows)
    return report


# --- claiming ---------------------------------------------------------------------------------


def claim_batch(size: int) -> tuple[str, list[OutboundText]]:
    now = utcnow()
    token = secrets.token_hex(16)
    lease = now + timedelta(seconds=current_app.config["SMS_CLAIM_LEASE_SECONDS"])
    with write_transaction("sms-dispatch", lock=False):
        query = (
            select(OutboundText)
            .where(OutboundText.status == TextStatus.PENDING, OutboundText.send_at <= now)
            .order_by(OutboundText.send_at, OutboundText.id)
            .limit(size)
            .options(selectinload(OutboundText.patient))
        )
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=OutboundText)
        rows = list(db.session.scalars(query))
        templates = _templates() if rows else {}
        for row in rows:
            row.status = TextStatus.SENDING
            row.claim_token = token
            row.claimed_at = now
            row.lease_until = lease
            row.attempts += 1
            row.updated_at = now
            # The exact text and number are kept before sending, so a crash can be reconciled
            # against what Twilio holds.
            row.to_number = row.patient.phone
            row.body = _body_for(row, templates)
            row.segments = encoding_of(row.body).segments
    return token, rows


def _body_for(row: OutboundText, templates: dict[str, str]) -> str:
    template = templates.get(row.kind) or DEFAULTS[Kind(row.kind)]
    text = render(template, _values(row))
    if row.patient.first_text_at is None and row.kind != Kind.REPLY_OPT_OUT:
        text += OPT_OUT_LINE
    return text


def _templates() -> dict[str, str]:
    return dict(db.session.execute(select(MessageTemplate.kind, MessageTemplate.body)).all())


def _values(row: OutboundText) -> dict[str, str]:
    from clinic.booking.tokens import manage_url

    config = current_app.config
    values = {
        "clinic": config["CLINIC_NAME"],
        "phone": config["CLINIC_PHONE"],
        "link": config["PUBLIC_BASE_URL"] + "/",
    }
    appointment = db.session.get(Appointment, row.appointment_id) if row.appointment_id else None
    if row.kind == Kind.REPLY_CONFIRM:
        appointment = _next_visit(row.patient_id)
    if appointment is not None:
        tz = ZoneInfo(appointment.practitioner.location.timezone)
        local = appointment.start_at.astimezone(tz)
        values["date"] = f"{local:%A} {local.day} {local:%B}"
        values["time"] = format_time(appointment.start_at, tz)
        values["phone"] = appointment.practitioner.location.phone
        if row.kind != Kind.COURSE_NUDGE:
            values["link"] = manage_url(appointment)
    if row.kind == Kind.REVIEW_7D:
        upcoming = _next_visit(row.patient_id)
        if upcoming is not None:
            tz = ZoneInfo(upcoming.practitioner.location.timezone)
            local = upcoming.start_at.astimezone(tz)
            values["next_visit"] = (
                f"Your next visit: {local:%A} {local.day} {local:%B} at {local:%H:%M}."
            )
        else:
            values["next_visit"] = f"Book your next visit: {config['PUBLIC_BASE_URL']}/"
    return values


def _next_visit(patient_id: int) -> Appointment | None:
    return db.session.scalars(
        select(Appointment)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.start_at > utcnow(),
            Appointment.status.in_(
                (
                    AppointmentStatus.BOOKED,
                    AppointmentStatus.CONFIRMED,
                    AppointmentStatus.NEEDS_REVIEW,
                )
            ),
        )
        .order_by(Appointment.start_at)
    ).first()


# --- sending ----------------------------------------------------------------------------------


def _send_batch(token: str, rows: list[OutboundText], limiter, report: PassReport) -> None:
    sender = get_sender()
    callback = current_app.config["PUBLIC_BASE_URL"] + "/sms/status"
    tz = ZoneInfo(current_app.config["CLINIC_TIMEZONE"])
    policy = outbox.care_policy()
    results: list[dict] = []
    followups: list[tuple[str, OutboundText, object]] = []
    for row in rows:
        now = utcnow()
        patient: Patient = row.patient
        if now >= row.expires_at:
            results.append(
                _outcome(row, TextStatus.SKIPPED, error_message="expired before it could go")
            )
            report.add("skipped (expired)")
            continue
        if patient.phone_unusable:
            results.append(_outcome(row, TextStatus.SKIPPED, error_message="number unusable"))
            report.add("skipped (number unusable)")
            continue
        if not _may_text(row, patient):
            results.append(_outcome(row, TextStatus.SKIPPED, error_message="no consent to texts"))
            report.add("skipped (no consent)")
            continue
        if not row.immediate and within_quiet_hours(now, tz, policy):
            opening = next_opening(now, tz, policy)
            if opening >= row.expires_at:
                results.append(
                    _outcome(row, TextStatus.SKIPPED, error_message="expired in quiet hours")
                )
                report.add("skipped (expired)")
            else:
                results.append(
                    _outcome(row, TextStatus.PENDING, send_at=opening, attempts=row.attempts - 1)
                )
                report.add("deferred (quiet hours)")
            continue
        limiter.wait(row.segments or 1)
        try:
            sent = sender.send(row.to_number, row.body, status_callback=callback)
        except TransientSendError as exc:
            if row.attempts >= current_app.config["SMS_MAX_ATTEMPTS"]:
                results.append(_outcome(row, TextStatus.FAILED, error=exc))
                followups.append(("failed", row, exc))
                report.add("failed")
            else:
                retry_at = now + _backoff(row.attempts)
                results.append(_outcome(row, TextStatus.PENDING, send_at=retry_at, error=exc))
                report.add("retry later")
            continue
        except PermanentSendError as exc:
            results.append(_outcome(row, TextStatus.FAILED, error=exc))
            followups.append(("failed", row, exc))
            report.add("failed")
            continue
        results.append(
            _outcome(
                row, TextStatus.SENT, provider_sid=sent.sid, sent_at=now, segments=sent.segments
            )
        )
        if patient.first_text_at is None:
            followups.append(("first", row, None))
        report.add("sent")
    _record(token, results, followups)


def _may_text(row: OutboundText, patient: Patient) -> bool:
    if row.kind in REPLY_KINDS:
        return patient.sms_opt_in or row.kind in ALLOWED_AFTER_OPT_OUT
    return patient.sms_opt_in


def _backoff(attempts: int) -> timedelta:
    # 30 s, 1 min, 2 min ... capped at an hour; the jitter spreads a storm's retries apart.
    base = min(30 * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=base + secrets.randbelow(max(base // 4, 1)))


def _outcome(row, status, *, error=None, **values) -> dict:
    change = {"id": row.id, "status": status, **values}
    if error is not None:
        change["error_code"] = str(error.code or error.status or "")[:10]
        change["error_message"] = str(error)[:300]
    return change


def _record(token: str, results: list[dict], followups) -> None:
    """Write a batch's outcomes; rows whose claim was taken over are left alone."""
    now = utcnow()
    with write_transaction("sms-dispatch", lock=False):
        for change in results:
            values = {k: v for k, v in change.items() if k != "id"}
            values["updated_at"] = now
            if values["status"] != TextStatus.SENDING:
                values.update(claim_token=None, lease_until=None)
            db.session.execute(
                update(OutboundText)
                .where(OutboundText.id == change["id"], OutboundText.claim_token == token)
                .values(**values)
            )
        for what, row, exc in followups:
            patient = db.session.get(Patient, row.patient_id)
            if what == "first":
                if patient.first_text_at is None:
                    patient.first_text_at = now
                continue
            alerts.after_failed_send(row, patient, exc.code)


# --- reconciliation ---------------------------------------------------------------------------


def reconcile_abandoned(report: PassReport) -> None:
    """Rows a crashed dispatcher left in ``sending``: sent already, or send again."""
    now = utcnow()
    token = secrets.token_hex(16)
    lease = now + timedelta(seconds=current_app.config["SMS_CLAIM_LEASE_SECONDS"])
    with write_transaction("sms-dispatch", lock=False):
        query = (
            select(OutboundText)
            .where(OutboundText.status == TextStatus.SENDING, OutboundText.lease_until < now)
            .order_by(OutboundText.id)
            .limit(500)
        )
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(db.session.scalars(query))
        for row in rows:
            row.claim_token, row.lease_until = token, lease
        claimed = [(row.id, row.to_number, row.body, row.claimed_at) for row in rows]
    if not claimed:
        return
    sender = get_sender()
    results = []
    for row_id, to, body, claimed_at in claimed:
        try:
            sid = sender.find_sent(to, body, claimed_at)
        except (TransientSendError, PermanentSendError):
            report.add("reconcile later")
            continue
        if sid:
            results.append(
                {
                    "id": row_id,
                    "status": TextStatus.SENT,
                    "provider_sid": sid,
                    "sent_at": claimed_at,
                }
            )
            report.add("reconciled (already sent)")
        else:
            results.append({"id": row_id, "status": TextStatus.PENDING, "send_at": now})
            report.add("reconciled (send again)")
    with write_transaction("sms-dispatch", lock=False):
        for change in results:
            values = {k: v for k, v in change.items() if k != "id"}
            values.update(updated_at=now, claim_token=None, lease_until=None)
            db.session.execute(
                update(OutboundText)
                .where(OutboundText.id == change["id"], OutboundText.claim_token == token)
                .values(**values)
            )
        for change in results:
            if change["status"] == TextStatus.SENT:
                row = db.session.get(OutboundText, change["id"])
                patient = db.session.get(Patient, row.patient_id)
                if patient.first_text_at is None:
                    patient.first_text_at = now
