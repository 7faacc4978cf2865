"""Staff use cases: sign-in checks and accounts (what the desk sees on a day is in queries)."""

from __future__ import annotations

import re
import secrets
from functools import cache

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from clinic.catalog.models import Practitioner
from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.errors import ValidationFailed
from clinic.extensions import db
from clinic.staff.models import Role, StaffUser

MIN_PASSWORD_LENGTH = 12
# scrypt hashes long input fine, but there is no reason to accept a novel as a password.
MAX_PASSWORD_LENGTH = 256
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(raw: str | None) -> str:
    return (raw or "").strip().lower()


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method="scrypt")


def authenticate(email: str, password: str) -> StaffUser | None:
    """The active account these credentials open, or None.

    The answer takes about as long whether or not the email is known, so response times do not
    tell an outsider which addresses have accounts.
    """
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    return user


def active_staff(user_id: str) -> StaffUser | None:
    """The signed-in account behind a session's user id; deactivated accounts lose their session."""
    try:
        ident = int(user_id)
    except (TypeError, ValueError):
        return None
    user = db.session.get(StaffUser, ident)
    if user is None or not user.active:
        return None
    return user


def build_staff(
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    practitioner_id: int | None = None,
) -> StaffUser:
    """Validate a new account and add it to the session, leaving the commit to the caller."""
    email = normalise_email(email)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not _EMAIL_SHAPE.match(email) or len(email) > 254:
        errors["email"] = ["Give a valid email address."]
    elif db.session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        errors["email"] = [f"There is already an account for {email}."]
    if not name or len(name) > 120:
        errors["name"] = ["Give a name of at most 120 characters."]
    if role not in {r.value for r in Role}:
        errors["role"] = ["The role must be admin, desk or practitioner."]
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = [f"The password needs at least {MIN_PASSWORD_LENGTH} characters."]
    elif len(password) > MAX_PASSWORD_LENGTH:
        errors["password"] = [f"The password may have at most {MAX_PASSWORD_LENGTH} characters."]
    if practitioner_id is not None:
        if role != Role.PRACTITIONER:
            errors["practitioner_id"] = ["Only a practitioner account can be linked to one."]
        elif db.session.get(Practitioner, practitioner_id) is None:
            errors["practitioner_id"] = [f"There is no practitioner with id {practitioner_id}."]
    if errors:
        raise ValidationFailed(errors)
    user = StaffUser(
        email=email,
        name=name,
        role=role,
        practitioner_id=practitioner_id,
        active=True,
        created_at=utcnow(),
    )
    user.set_password(password)
    db.session.add(user)
    return user


def create_staff(
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    practitioner_id: int | None = None,
) -> StaffUser:
    """Create a staff account; raises ValidationFailed for bad input or a taken email."""
    try:
        with write_transaction("staff"):
            user = build_staff(
                email=email,
                name=name,
                role=role,
                password=password,
                practitioner_id=practitioner_id,
            )
            db.session.flush()
    except IntegrityError as exc:
        # Another process created the same email between our check and the insert.
        email = normalise_email(email)
        raise ValidationFailed({"email": [f"There is already an account for {email}."]}) from exc
    return user
