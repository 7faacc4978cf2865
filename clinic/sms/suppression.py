"""The list of numbers that asked for no texts. STOP adds a number, START takes it off; nothing
else does, so a booking or a web form cannot opt someone else's phone back in."""

from __future__ import annotations

from sqlalchemy import delete, select

from clinic.clock import utcnow
from clinic.extensions import db
from clinic.sms.models import SmsSuppression


def is_suppressed(phone: str) -> bool:
    return db.session.get(SmsSuppression, phone) is not None


def suppressed_among(phones) -> set[str]:
    phones = set(phones)
    if not phones:
        return set()
    query = select(SmsSuppression.phone).where(SmsSuppression.phone.in_(phones))
    return set(db.session.scalars(query))


def suppress(phone: str, source: str = "sms") -> None:
    """Add a number, inside the caller's transaction; adding it again changes nothing."""
    if db.session.get(SmsSuppression, phone) is None:
        db.session.add(SmsSuppression(phone=phone, created_at=utcnow(), source=source))
        db.session.flush()


def lift(phone: str) -> None:
    """Take a number off, inside the caller's transaction: only for the number's own START."""
    db.session.execute(delete(SmsSuppression).where(SmsSuppression.phone == phone))
