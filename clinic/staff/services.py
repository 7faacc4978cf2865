"""Staff use cases: accounts, passwords and sessions (sign-in attempts are in attempts.py)."""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from clinic.catalog.models import Practitioner
from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.errors import ValidationFailed
from clinic.extensions import db
from clinic.staff.models import Role, StaffToken, StaffUser

MIN_PASSWORD_LENGTH = 12
# scrypt hashes long input fine, but there is no reason to accept a novel as a password.
MAX_PASSWORD_LENGTH = 256
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(raw: str | None) -> str:
    return (raw or "").strip().lower()


def active_staff(user_id: str) -> StaffUser | None:
    """The account behind a session's user id ("<id>:<session version>"), or None.

    Deactivated accounts, and sessions from before the account's last sign-out or password
    change, lose their session.
    """
    try:
        ident, version = (int(part) for part in str(user_id).split(":"))
    except (TypeError, ValueError):
        return None
    user = db.session.get(StaffUser, ident)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def end_sessions(user_id: int) -> None:
    """End every session of the account at once, on every device."""
    with write_transaction("staff"):
        db.session.execute(
            update(StaffUser)
            .where(StaffUser.id == user_id)
            .values(session_version=StaffUser.session_version + 1)
        )


def set_password(email: str, password: str) -> StaffUser:
    """Give the account a new password and end its sessions; ValidationFailed for bad input."""
    problem = _password_problem(password)
    if problem:
        raise ValidationFailed({"password": [problem]})
    with write_transaction("staff"):
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))
        if user is None:
            raise ValidationFailed({"email": ["There is no account with that email."]})
        user.set_password(password)
        user.session_version += 1
        user.failed_sign_ins = 0
        user.locked_until = None
        # A password given here settles an invitation or reset sent from the settings page:
        # the account is no longer waiting, and the links sent to it stop working.
        user.invite_pending = False
        end_links(user, utcnow())
    return user


def end_links(user: StaffUser, now) -> None:
    """Withdraw every open password link of the account (invitation or reset).

    The emails still carrying them are dropped by clinic.staff.accounts: this module sits
    beneath the email outbox (every staff page imports it through clinic.staff.auth).
    """
    db.session.execute(
        update(StaffToken)
        .where(
            StaffToken.staff_user_id == user.id,
            StaffToken.used_at.is_(None),
            StaffToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


def _password_problem(password: str | None) -> str | None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return f"The password needs at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password may have at most {MAX_PASSWORD_LENGTH} characters."
    return None


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
    if problem := _password_problem(password):
        errors["password"] = [problem]
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
