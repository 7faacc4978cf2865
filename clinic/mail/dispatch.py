"""The email dispatcher: claim due rows, send each over SMTP, record what the server said.

Exactly once, across a dispatcher killed at any moment. SMTP cannot be asked afterwards what
it took, so the one question a restarted dispatcher must answer is "could the server hold this
message?" The message is sent in two steps:

1. MAIL, RCPT, DATA and the whole message, but not the end-of-data mark (``.``). A server keeps
   nothing from a transaction whose data never ended (RFC 5321, 4.1.1.4), so a dispatcher killed
   up to here leaves nothing behind and the row is simply sent again.
2. ``handed_over_at`` is committed, and only then the end mark goes and the reply is read.

A claim abandoned after step 2 is never sent again: it is recorded as sent (the server was handed
the complete message). The only way left to lose one is a kill in the microseconds between that
commit and writing two bytes to the socket; the row then says when it was handed over, and the
choice is deliberate: a second copy of a care email cannot be taken back, and the patient also
has the printed sheet. Every copy carries the same Message-ID, fixed when it was planned.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import smtplib
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr

from flask import Flask, current_app
from sqlalchemy import select

from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.extensions import db
from clinic.mail import outbox, smtp
from clinic.mail.models import EmailStatus, OutboundEmail
from clinic.patients.models import Patient
from clinic.sms import alerts, hooks
from clinic.sms.models import AlertLevel

LOCK = "mail-dispatch"


class Temporary(Exception):
    """Worth trying again later: a 4xx reply, a refused or dropped connection."""


class Refused(Exception):
    """A 5xx reply: this message will not go to this address."""


class ClaimLost(Exception):
    """Another dispatcher settled this claim (its lease ran out): it owns the email now."""


@dataclass(frozen=True)
class Claimed:
    id: int
    patient_id: int | None
    to_address: str
    message: str
    attempts: int


def init_app(app: Flask) -> None:
    # The texts' dispatcher pass (scheduler and `flask dispatch`) runs this after the texts.
    hooks.register_dispatch_step(app, "email", email_pass)


def email_pass() -> Counter:
    """Settle abandoned claims, then send every due email. Nothing at all when email is off."""
    report: Counter = Counter()
    if not outbox.email_on():
        return report
    settle_abandoned(report)
    size = current_app.config["SMS_BATCH_SIZE"]
    connection = None
    try:
        while True:
            token, batch = claim_batch(size, report)
            if not batch:
                break
            for email in batch:
                connection = _send_and_record(connection, token, email, report)
    finally:
        if connection is not None:
            _quit(connection)
    return report


# --- claiming ---------------------------------------------------------------------------------


def claim_batch(size: int, report: Counter) -> tuple[str, list[Claimed]]:
    now = utcnow()
    token = secrets.token_hex(16)
    lease = now + timedelta(seconds=current_app.config["SMS_CLAIM_LEASE_SECONDS"])
    with write_transaction(LOCK, lock=False):
        query = (
            select(OutboundEmail, Patient.email, Patient.email_opt_in)
            # Outer: a staff member's email (an invitation, a password link) has no patient.
            .outerjoin(Patient, Patient.id == OutboundEmail.patient_id)
            .where(OutboundEmail.status == EmailStatus.PENDING, OutboundEmail.send_at <= now)
            .order_by(OutboundEmail.send_at, OutboundEmail.id)
            .limit(size)
        )
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=OutboundEmail)
        claimed = []
        for row, address, opted_in in db.session.execute(query).all():
            row.updated_at = now
            if now >= row.expires_at:
                _finish(row, EmailStatus.SKIPPED, "expired before it could go")
                report["skipped (expired)"] += 1
            elif row.patient_id is not None and (not opted_in or address != row.to_address):
                # Consent withdrawn, or the address changed, since the email was planned.
                _finish(row, EmailStatus.SKIPPED, "no consent to email at this address")
                report["skipped (no consent)"] += 1
            else:
                row.status, row.claim_token, row.lease_until = EmailStatus.SENDING, token, lease
                row.attempts += 1
                claimed.append(
                    Claimed(row.id, row.patient_id, row.to_address, row.message, row.attempts)
                )
    return token, claimed


def _finish(row: OutboundEmail, status: str, reason: str = "") -> None:
    row.status, row.error_message = status, reason[:300]
    row.claim_token = row.lease_until = None
    forget_secret(row)


SETTLED = frozenset({EmailStatus.SENT, EmailStatus.FAILED, EmailStatus.SKIPPED})


def forget_secret(row: OutboundEmail) -> None:
    """A settled staff email loses its body: it held a one-time link to choose a password,
    which no copy at rest should keep once the email will not be sent again."""
    if row.staff_user_id is not None and row.status in SETTLED:
        row.message = ""


# --- sending ----------------------------------------------------------------------------------


def _send_and_record(connection, token: str, email: Claimed, report: Counter):
    """Send one claimed email; returns the connection to use for the next (None if it broke)."""
    try:
        if connection is None:
            connection = smtp.connect(smtp.parse(current_app.config["SMTP_URL"]))
        reply = _send(connection, token, email)
    except Temporary as exc:
        _retry_or_fail(token, email, str(exc), report)
        return _drop(connection)
    except Refused as exc:
        _failed(token, email, str(exc), report)
        return connection
    except ClaimLost:
        # The end mark never went, so the server keeps nothing; the new owner sends it.
        report["claim lost"] += 1
        return _drop(connection)
    except (OSError, smtplib.SMTPException) as exc:
        # Connecting or signing in failed: nothing was handed over.
        _retry_or_fail(token, email, f"{type(exc).__name__}: {exc}", report)
        return _drop(connection)
    if reply is None:
        # The end mark went but no reply came: the server may hold it, so it is not sent again.
        _record(
            token,
            email.id,
            status=EmailStatus.SENT,
            sent_at=utcnow(),
            error_message=("handed to the mail server; no reply came"),
        )
        report["sent (no reply)"] += 1
        return _drop(connection)
    code, text = reply
    if code == 250:
        _record(token, email.id, status=EmailStatus.SENT, sent_at=utcnow(), error_message="")
        report["sent"] += 1
    elif 400 <= code < 500:
        # Refused for now after the data ended: the server keeps nothing, so send again later.
        _retry_or_fail(token, email, f"{code} {text}", report)
    else:
        _failed(token, email, f"{code} {text}", report)
    return connection


def _send(connection: smtplib.SMTP, token: str, email: Claimed) -> tuple[int, str] | None:
    """The SMTP transaction in two steps (see the module's docstring)."""
    _expect(connection.mail(_envelope_sender()), (250,), connection)
    _expect(connection.rcpt(email.to_address), (250, 251), connection)
    _expect(connection.docmd("DATA"), (354,), connection)
    try:
        connection.send(_data_without_end(email.message))
    except (OSError, smtplib.SMTPException) as exc:
        raise Temporary(f"connection lost while sending: {exc}") from exc
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["SMS_CLAIM_LEASE_SECONDS"])
    # The lease is renewed with the record, so nobody settles the claim while the reply is read.
    if not _record(token, email.id, handed_over_at=now, lease_until=lease, keep_claim=True):
        raise ClaimLost
    try:
        connection.send(b".\r\n")
        code, text = connection.getreply()
    except (OSError, smtplib.SMTPException):
        return None
    return code, text.decode("utf-8", "replace")[:200]


def _expect(reply: tuple[int, bytes], wanted: tuple[int, ...], connection) -> None:
    code, text = reply
    if code in wanted:
        return
    message = f"{code} {text.decode('utf-8', 'replace')}"[:200]
    with contextlib.suppress(OSError, smtplib.SMTPException):
        connection.rset()
    if 500 <= code < 600:
        raise Refused(message)
    raise Temporary(message)


def _data_without_end(message: str) -> bytes:
    data = message.encode("ascii").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    data = re.sub(rb"(?m)^\.", b"..", data)  # dot-stuffing (RFC 5321, 4.5.2)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _envelope_sender() -> str:
    return parseaddr(outbox.sender())[1]


def _drop(connection) -> None:
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.close()


def _quit(connection) -> None:
    try:
        connection.quit()
    except (OSError, smtplib.SMTPException):
        connection.close()


# --- recording --------------------------------------------------------------------------------


def _record(token: str, email_id: int, *, keep_claim: bool = False, **values) -> bool:
    """Write one email's outcome in its own transaction, if the claim is still ours."""
    with write_transaction(LOCK, lock=False):
        row = db.session.get(OutboundEmail, email_id)
        if row is None or row.claim_token != token:
            return False
        for name, value in values.items():
            setattr(row, name, value)
        if not keep_claim:
            row.claim_token = row.lease_until = None
        row.updated_at = utcnow()
        forget_secret(row)
        if values.get("status") == EmailStatus.FAILED:
            _raise_task(row)
    return True


def _retry_or_fail(token: str, email: Claimed, reason: str, report: Counter) -> None:
    """The server kept nothing of this attempt: try again after a pause, while tries remain."""
    if email.attempts >= current_app.config["SMS_MAX_ATTEMPTS"]:
        _failed(token, email, reason, report)
        return
    _record(
        token,
        email.id,
        status=EmailStatus.PENDING,
        send_at=utcnow() + backoff(email.attempts),
        handed_over_at=None,
        error_message=reason[:300],
    )
    report["retry later"] += 1


def _failed(token: str, email: Claimed, reason: str, report: Counter) -> None:
    _record(token, email.id, status=EmailStatus.FAILED, error_message=reason[:300])
    report["failed"] += 1


def _raise_task(row: OutboundEmail) -> None:
    if row.patient_id is None:
        # A staff email: the staff accounts page shows the admin that it failed.
        return
    alerts.raise_alert(
        AlertLevel.TASK,
        "An email to the patient could not be sent: check the email address they gave.",
        patient_id=row.patient_id,
    )


def backoff(attempts: int) -> timedelta:
    # 1 min, 2 min, 4 min ... capped at an hour; the jitter spreads a storm's retries apart.
    base = min(60 * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=base + secrets.randbelow(max(base // 4, 1)))


# --- abandoned claims -------------------------------------------------------------------------


def settle_abandoned(report: Counter) -> None:
    """Rows a killed dispatcher left in ``sending``: sent when the complete message was handed
    over, otherwise due again (the server kept nothing of it)."""
    now = utcnow()
    max_attempts = current_app.config["SMS_MAX_ATTEMPTS"]
    with write_transaction(LOCK, lock=False):
        query = (
            select(OutboundEmail)
            .where(OutboundEmail.status == EmailStatus.SENDING, OutboundEmail.lease_until < now)
            .order_by(OutboundEmail.id)
        )
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        for row in db.session.scalars(query):
            row.updated_at = now
            if row.handed_over_at is not None:
                _finish(row, EmailStatus.SENT, "handed to the mail server; not sent again")
                row.sent_at = row.handed_over_at
                report["settled (already handed over)"] += 1
            elif row.attempts >= max_attempts:
                _finish(row, EmailStatus.FAILED, "tries used up")
                _raise_task(row)
                report["failed"] += 1
            else:
                _finish(row, EmailStatus.PENDING)
                row.send_at = now
                report["settled (send again)"] += 1
