"""Planning emails: whole messages written as rows in the transaction of the event that plans
them. The message (and its Message-ID) is fixed here, so whatever happens to a dispatcher the
row holds exactly what goes out."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

from flask import current_app

from clinic.clock import utcnow
from clinic.extensions import db
from clinic.mail.models import EmailStatus, OutboundEmail


def email_on() -> bool:
    return bool(current_app.config["SMTP_URL"])


def may_email(patient) -> bool:
    """Email goes only where the clinic sends email and the patient gave an address and agreed."""
    return email_on() and bool(patient.email) and bool(patient.email_opt_in)


def _host() -> str:
    return urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"


def sender() -> str:
    config = current_app.config
    return config["EMAIL_FROM"] or f"{config['CLINIC_NAME']} <no-reply@{_host()}>"


def _message(kind: str, to: str, subject: str, text: str, html: str, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender()
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(idstring=kind.replace("_", "-"), domain=_host())
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def plan_staff(
    kind: str,
    *,
    staff_user_id: int,
    to_address: str,
    subject: str,
    text: str,
    html: str,
    expires_at: datetime,
) -> OutboundEmail:
    """One email to a staff member (an invitation, a password link), sent by the next pass.

    The caller checks ``email_on()`` first: a staff email is asked for by an admin, who must be
    told when it cannot go. The dispatcher empties the stored message once it is settled, as it
    holds a one-time link.
    """
    now = utcnow()
    message = _message(kind, to_address, subject, text, html, now)
    row = OutboundEmail(
        kind=kind,
        staff_user_id=staff_user_id,
        to_address=to_address,
        subject=subject,
        message_id=message["Message-ID"],
        message=message.as_string(policy=SMTP),
        send_at=now,
        expires_at=expires_at,
        status=EmailStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    db.session.add(row)
    return row


def plan(
    kind: str,
    patient,
    *,
    subject: str,
    text: str,
    html: str,
    expires_at: datetime,
    appointment_id: int | None = None,
    attachments: tuple[tuple[bytes, str, str], ...] = (),
) -> OutboundEmail | None:
    """One email to the patient, sent by the next dispatcher pass; None when they take no email.

    ``attachments`` are (content, MIME type, file name).
    """
    if not may_email(patient):
        return None
    now = utcnow()
    message = _message(kind, patient.email, subject, text, html, now)
    for content, mime_type, filename in attachments:
        maintype, subtype = mime_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    row = OutboundEmail(
        kind=kind,
        patient_id=patient.id,
        appointment_id=appointment_id,
        to_address=patient.email,
        subject=subject,
        message_id=message["Message-ID"],
        message=message.as_string(policy=SMTP),
        send_at=now,
        expires_at=expires_at,
        status=EmailStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    db.session.add(row)
    return row
