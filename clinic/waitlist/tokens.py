"""The patient's private waitlist links: an entry's (to see or withdraw it) and an offer's.

Signed [id, key] pairs without a timestamp: an offer lapses by its own expiry and an entry by
its last day, which the database holds. A forged, mangled or foreign link opens nothing.
"""

from __future__ import annotations

import hmac

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from clinic.errors import LinkInvalid
from clinic.extensions import db

MAX_TOKEN_LENGTH = 200
MAX_ID = 2**31 - 1
ENTRY = "waitlist-entry"
OFFER = "waitlist-offer"


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def make_token(salt: str, row_id: int, key: str) -> str:
    return _serializer(salt).dumps([row_id, key])


def url_for_token(salt: str, row_id: int, key: str) -> str:
    """The full link from plain values (the text dispatcher reads rows, not objects)."""
    path = "offer" if salt == OFFER else "entry"
    base = current_app.config["PUBLIC_BASE_URL"]
    return f"{base}/waitlist/{path}/{make_token(salt, row_id, key)}"


def load(salt: str, model, token: str, message: str):
    """The row a link names, or LinkInvalid (404) for anything else."""
    invalid = LinkInvalid(message)
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise invalid
    try:
        payload = _serializer(salt).loads(token)
    except BadSignature as exc:
        raise invalid from exc
    if not (isinstance(payload, list) and len(payload) == 2):
        raise invalid
    row_id, key = payload
    if type(row_id) is not int or not 0 < row_id <= MAX_ID or not isinstance(key, str):
        raise invalid
    row = db.session.get(model, row_id)
    if row is None or not hmac.compare_digest(key, row.key):
        raise invalid
    return row
