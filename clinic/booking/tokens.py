"""The patient's private manage link: signed, expiring, and revocable per appointment."""

from __future__ import annotations

import hmac
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from clinic.booking.models import Appointment
from clinic.clock import utcnow
from clinic.errors import LinkExpired, LinkInvalid
from clinic.extensions import db

MAX_TOKEN_LENGTH = 200


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
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)):
        raise invalid
    appointment_id, key = payload
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or not hmac.compare_digest(str(key), appointment.manage_key):
        raise invalid
    return appointment
