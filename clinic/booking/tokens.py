"""The patient's private manage link: signed, expiring, and revocable per appointment."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from clinic.booking.models import Appointment
from clinic.clock import utcnow
from clinic.errors import LinkExpired, LinkInvalid, LinkRevoked
from clinic.extensions import db

MAX_TOKEN_LENGTH = 200
# Ids are 32-bit integers on PostgreSQL (and SQLite's rowids fit them here): a signed id beyond
# that range names no visit, and PostgreSQL would refuse the query with an error, not a miss.
MAX_ID = 2**31 - 1


class _ClockSigner(TimestampSigner):
    # Ages are measured on the application's clock, so tests can advance time instead of sleeping.
    def get_timestamp(self) -> int:
        return int(utcnow().timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt="manage-booking", signer=_ClockSigner
    )


def manage_token(appointment: Appointment) -> str:
    return _serializer().dumps([appointment.id, appointment.manage_key])


def manage_url(appointment: Appointment) -> str:
    return manage_url_for(appointment.id, appointment.manage_key)


def manage_url_for(appointment_id: int, manage_key: str) -> str:
    """The link from plain values (the text dispatcher reads rows, not objects)."""
    token = _serializer().dumps([appointment_id, manage_key])
    return f"{current_app.config['PUBLIC_BASE_URL']}/manage/{token}"


def appointment_from_token(token: str) -> Appointment:
    """The appointment a link opens; LinkInvalid for tampered or revoked, LinkExpired when old."""
    invalid = LinkInvalid("This booking link is not valid. Please check it, or call the clinic.")
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise invalid
    max_age = timedelta(days=current_app.config["MANAGE_LINK_MAX_AGE_DAYS"])
    try:
        payload = _serializer().loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired as exc:
        raise LinkExpired(
            "This booking link has expired. Please call the clinic to manage your visit."
        ) from exc
    except BadSignature as exc:
        raise invalid from exc
    if not (isinstance(payload, list) and len(payload) == 2):
        raise invalid
    appointment_id, key = payload
    if type(appointment_id) is not int or not 0 < appointment_id <= MAX_ID:
        raise invalid
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        raise invalid
    if not hmac.compare_digest(str(key), appointment.manage_key):
        # We signed this link, so its key was this visit's once: the key rotated when the
        # visit was cancelled or completed (clinic.visits.subscribers.close_manage_link).
        raise _closed(appointment)
    return appointment


def rotate_manage_key(appointment: Appointment) -> None:
    """Every link sent for this visit so far stops opening it (texts, emails, logs)."""
    appointment.manage_key = secrets.token_hex(16)


def _closed(appointment: Appointment) -> LinkRevoked:
    phone = appointment.practitioner.location.phone or current_app.config["CLINIC_PHONE"]
    ended = "has taken place" if appointment.status == "completed" else "has been cancelled"
    return LinkRevoked(
        f"This visit {ended}, so its link no longer opens it. "
        f"If you have a question about it, please call us on {phone}.",
        details={"visit_status": str(appointment.status), "phone": phone},
    )
