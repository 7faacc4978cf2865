"""Twilio's webhooks: replies (/sms/inbound) and delivery reports (/sms/status).

Both verify X-Twilio-Signature against the public URL Twilio called (PUBLIC_BASE_URL plus the
request's path and query, so a proxy in front does not break it); anything else gets 403.
"""

from __future__ import annotations

import functools

from flask import Blueprint, Response, abort, current_app, request

from clinic.patients.phones import InvalidPhone, normalize_mobile
from clinic.sms import inbound

bp = Blueprint("sms", __name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_FIELD = 1600  # Twilio's longest message body


def twilio_signed(view):
    @functools.wraps(view)
    def checked(*args, **kwargs):
        from twilio.request_validator import RequestValidator

        token = current_app.config["TWILIO_AUTH_TOKEN"]
        signature = request.headers.get("X-Twilio-Signature", "")
        query = request.query_string.decode("latin-1")
        url = current_app.config["PUBLIC_BASE_URL"] + request.path + (f"?{query}" if query else "")
        if not token or not signature:
            abort(403)
        if not RequestValidator(token).validate(url, request.form.to_dict(flat=True), signature):
            abort(403)
        return view(*args, **kwargs)

    return checked


def _field(name: str, *, required: bool = True) -> str:
    value = request.form.get(name, "")
    # A NUL cannot be stored (PostgreSQL refuses it) and never comes from Twilio.
    if (required and not value) or len(value) > MAX_FIELD or "\x00" in value:
        abort(400, f"{name} is missing, too long or malformed")
    return value


@bp.post("/inbound")
@twilio_signed
def inbound_message():
    sid = _field("MessageSid")
    region = current_app.config["DEFAULT_PHONE_REGION"]
    raw_from = _field("From")
    try:
        from_number = normalize_mobile(raw_from, region)
    except InvalidPhone:
        from_number = raw_from[:20]  # filed for staff to see, matched to nobody
    inbound.receive(
        sid[:64], from_number, _field("To", required=False)[:20], _field("Body", required=False)
    )
    return Response(EMPTY_TWIML, mimetype="text/xml")


@bp.post("/status")
@twilio_signed
def status_callback():
    inbound.status_report(
        _field("MessageSid")[:64],
        _field("MessageStatus")[:20],
        _field("ErrorCode", required=False)[:10],
    )
    return Response(status=204)
