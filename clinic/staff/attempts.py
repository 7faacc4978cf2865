"""Sign-in attempts: the credentials check, and the lock after too many failures in a row.

Apart from clinic.staff.services because it writes the audit log, which sits above the staff
package's sign-in half (clinic.staff.auth must stay importable by every staff page).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from clinic.actors import Actor
from clinic.audit.services import record
from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.extensions import db
from clinic.staff.models import StaffUser
from clinic.staff.services import normalise_email

# After this many failed sign-ins in a row an account waits LOCKOUT, on top of the per-address
# rate limit on the sign-in page.
MAX_FAILED_SIGN_INS = 10
LOCKOUT = timedelta(minutes=15)


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method="scrypt")


def authenticate(email: str, password: str, *, ip_address: str = "") -> StaffUser | None:
    """The active account these credentials open, or None.

    The answer takes about as long whether or not the email is known, so response times do not
    tell an outsider which addresses have accounts. The tenth failed sign-in in a row locks the
    account for ``LOCKOUT``: until then even the right password opens nothing, and the caller
    shows the same message as for an unknown email.
    """
    with write_transaction("staff"):
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))
        if user is None:
            check_password_hash(_dummy_hash(), password or "")
            return None
        now = utcnow()
        if user.locked_until is not None and user.locked_until > now:
            check_password_hash(_dummy_hash(), password or "")
            return None
        if not user.check_password(password or ""):
            _count_failure(user, now, ip_address)
            return None
        user.failed_sign_ins = 0
        user.locked_until = None
        if user.active:
            user.last_sign_in_at = now
    if not user.active:
        return None
    return user


def _count_failure(user: StaffUser, now: datetime, ip_address: str) -> None:
    user.failed_sign_ins += 1
    if user.failed_sign_ins < MAX_FAILED_SIGN_INS:
        return
    user.failed_sign_ins = 0
    user.locked_until = now + LOCKOUT
    record(
        Actor.staff(user, ip_address=ip_address),
        "staff.locked_out",
        at=now,
        changes={"locked_until": (None, user.locked_until)},
        detail=f"{MAX_FAILED_SIGN_INS} failed sign-ins in a row",
    )
