"""Staff accounts as admins run them: invitations, roles, deactivation and password links.

Every change runs under the staff write lock (``write_transaction("staff")``: BEGIN IMMEDIATE
on SQLite, an advisory lock on PostgreSQL), checks again there that the one acting is still an
active admin, and records one audit row. Two admins demoting each other at once therefore
cannot both succeed: the second finds itself no longer an admin, and the last active admin can
never be demoted or deactivated.

One-time links: a random token (256 bits) goes into the email, only its SHA-256 is stored. A
link is spent when used, replaced by a newer one for the same account, withdrawn when the
account is deactivated, and expires after ``STAFF_INVITE_HOURS`` (an invitation) or
``STAFF_RESET_HOURS`` (a reset). Neither tokens nor passwords reach the audit log or a log line;
the stored email loses its body once settled (clinic/mail/dispatch.py).

Apart from services.py because it writes the audit log and plans emails, which sit above the
sign-in half of the staff package (clinic.staff.auth must stay importable by every staff page).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from clinic.actors import Actor
from clinic.audit.services import record
from clinic.catalog.models import Practitioner
from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.errors import (
    ChangeNotAllowed,
    LinkExpired,
    LinkInvalid,
    LinkRevoked,
    NotFound,
    ValidationFailed,
)
from clinic.extensions import db
from clinic.mail import outbox
from clinic.mail.models import EmailStatus, OutboundEmail
from clinic.staff import services
from clinic.staff.models import Role, StaffToken, StaffUser, TokenPurpose
from clinic.staff.services import _password_problem, build_staff, normalise_email

LOCK = "staff"
# Email kinds in the outbox.
INVITE_EMAIL = "staff_invite"
RESET_EMAIL = "staff_password_reset"
EMAIL_KINDS = {TokenPurpose.INVITE: INVITE_EMAIL, TokenPurpose.RESET: RESET_EMAIL}
# secrets.token_urlsafe(32): 43 characters of the URL-safe base64 alphabet.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")

EMAIL_OFF = (
    "Email is not set up (SMTP_URL is empty), so no link can be sent. Ask whoever runs the "
    "server to set SMTP_URL, or to use flask create-staff and flask reset-password."
)
STALE = (
    "Someone changed this account after you opened the page. Here it is as it is now: "
    "check it and make your change again."
)
LAST_ADMIN = (
    "This is the last active administrator: make another account an administrator first, "
    "so someone can still run the clinic's settings."
)


class StaleAccountForm(ChangeNotAllowed):
    """The page was opened before another change to the account."""


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountRow:
    user: StaffUser
    practitioner_name: str | None
    # The newest invitation or reset email's status ("pending", "sent", "failed"...), if any.
    email_status: str | None

    @property
    def version(self) -> str:
        return fingerprint(self.user)


def accounts() -> list[AccountRow]:
    """Every account, active ones first, by name; two queries whatever the number."""
    rows = db.session.execute(
        select(StaffUser, Practitioner.name)
        .outerjoin(Practitioner, Practitioner.id == StaffUser.practitioner_id)
        .order_by(StaffUser.active.desc(), func.lower(StaffUser.name), StaffUser.id)
    ).all()
    newest = (
        select(OutboundEmail.staff_user_id, func.max(OutboundEmail.id).label("id"))
        .where(OutboundEmail.staff_user_id.is_not(None))
        .group_by(OutboundEmail.staff_user_id)
        .subquery()
    )
    statuses = dict(
        db.session.execute(
            select(OutboundEmail.staff_user_id, OutboundEmail.status).join(
                newest, newest.c.id == OutboundEmail.id
            )
        ).all()
    )
    return [AccountRow(user, name, statuses.get(user.id)) for user, name in rows]


def account(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        raise NotFound("There is no such staff account.")
    return user


def practitioner_choices() -> list[tuple[int, str]]:
    return list(
        db.session.execute(
            select(Practitioner.id, Practitioner.name).order_by(Practitioner.name)
        ).tuples()
    )


def fingerprint(user: StaffUser) -> str:
    """What the account looked like when a page showed it: a change since then is a 409."""
    shown = "\x1f".join(
        str(value)
        for value in (
            user.name,
            user.email,
            user.role,
            user.practitioner_id,
            user.active,
            user.invite_pending,
        )
    )
    return hashlib.sha256(shown.encode()).hexdigest()[:20]


# --- admins' changes -------------------------------------------------------------------------


def invite(
    *, name: str, email: str, role: str, practitioner_id: int | None, by: Actor
) -> StaffUser:
    """A new account that signs in once its owner has chosen a password from the emailed link."""
    if not normalise_email(email).isascii():
        # The outbox speaks plain SMTP (no SMTPUTF8): such an address could not be sent to.
        raise ValidationFailed({"email": ["Give an address in plain letters (a-z, 0-9)."]})
    if not outbox.email_on():
        raise ChangeNotAllowed(EMAIL_OFF)
    try:
        with write_transaction(LOCK):
            admin = _acting_admin(by)
            now = utcnow()
            # A random password nobody knows, hashed like any other: the account cannot sign
            # in, and a sign-in attempt costs what it costs for any account.
            user = build_staff(
                email=email,
                name=name,
                role=role,
                password=secrets.token_urlsafe(32),
                practitioner_id=practitioner_id,
            )
            user.invited_at = now
            user.invite_pending = True
            db.session.flush()
            _send_link(user, TokenPurpose.INVITE, admin, now)
            record(
                by,
                "settings.staff_invited",
                at=now,
                changes={
                    "name": (None, user.name),
                    "email": (None, user.email),
                    "role": (None, user.role),
                    "practitioner_id": (None, user.practitioner_id),
                },
                detail=_who(user),
            )
    except IntegrityError as exc:
        # Another admin invited the same address between our check and the insert.
        taken = normalise_email(email)
        raise ValidationFailed({"email": [f"There is already an account for {taken}."]}) from exc
    return user


def resend_invite(user_id: int, *, version: str, by: Actor) -> StaffUser:
    """A fresh invitation link; the one sent before stops working at once."""
    if not outbox.email_on():
        raise ChangeNotAllowed(EMAIL_OFF)
    with write_transaction(LOCK):
        admin = _acting_admin(by)
        user = _account_as_shown(user_id, version)
        if not user.invite_pending:
            raise ChangeNotAllowed("This person has accepted the invitation already.")
        if not user.active:
            raise ChangeNotAllowed("Reactivate the account before inviting again.")
        now = utcnow()
        _send_link(user, TokenPurpose.INVITE, admin, now)
        record(by, "settings.staff_invite_resent", at=now, detail=_who(user))
    return user


def change_role(
    user_id: int, *, role: str, practitioner_id: int | None, version: str, by: Actor
) -> bool:
    """A new role (and practitioner link); False when the form changed nothing. The new role
    applies from the account's next page: every request reads the role afresh, so nothing
    else needs ending."""
    errors: dict[str, list[str]] = {}
    if role not in {r.value for r in Role}:
        errors["role"] = ["Choose admin, desk or practitioner."]
    if practitioner_id is not None and role != Role.PRACTITIONER:
        errors["practitioner_id"] = ["Only a practitioner account can be linked to a diary."]
    if errors:
        raise ValidationFailed(errors)
    with write_transaction(LOCK):
        _acting_admin(by)
        user = _account_as_shown(user_id, version)
        if practitioner_id is not None and db.session.get(Practitioner, practitioner_id) is None:
            raise ValidationFailed({"practitioner_id": ["That practitioner no longer exists."]})
        changes = {}
        if user.role != role:
            if user.role == Role.ADMIN:
                _keep_an_admin(user)
            if user.id == by.staff_id:
                raise ChangeNotAllowed(
                    "You cannot change your own role: another administrator can."
                )
            changes["role"] = (user.role, role)
        if user.practitioner_id != practitioner_id:
            changes["practitioner_id"] = (user.practitioner_id, practitioner_id)
        if not changes:
            return False
        user.role, user.practitioner_id = role, practitioner_id
        record(by, "settings.staff_role_changed", at=utcnow(), changes=changes, detail=_who(user))
    return True


def deactivate(user_id: int, *, version: str, by: Actor) -> StaffUser:
    """The account can no longer sign in; its sessions and any link sent to it end at once."""
    with write_transaction(LOCK):
        _acting_admin(by)
        user = _account_as_shown(user_id, version)
        if not user.active:
            return user
        if user.role == Role.ADMIN:
            _keep_an_admin(user)
        if user.id == by.staff_id:
            raise ChangeNotAllowed("You cannot deactivate your own account.")
        now = utcnow()
        user.active = False
        user.session_version += 1
        end_links(user, now)
        record(
            by,
            "settings.staff_deactivated",
            at=now,
            changes={"active": (True, False)},
            detail=_who(user),
        )
    return user


def reactivate(user_id: int, *, version: str, by: Actor) -> StaffUser:
    """The account may sign in again with the password it had (or, invited, once it has one)."""
    with write_transaction(LOCK):
        _acting_admin(by)
        user = _account_as_shown(user_id, version)
        if user.active:
            return user
        user.active = True
        record(
            by,
            "settings.staff_reactivated",
            at=utcnow(),
            changes={"active": (False, True)},
            detail=_who(user),
        )
    return user


def send_password_reset(user_id: int, *, version: str, by: Actor) -> StaffUser:
    """Email a link to choose a new password. The old password stops working at once, and
    every session of the account ends.

    At once rather than when the new one is chosen: an admin resets a password when it may be
    known to someone else (a shared screen, a colleague who left) as well as when it was
    forgotten, and ending the sessions would mean little if the old password could simply
    open a new one.
    """
    if not outbox.email_on():
        raise ChangeNotAllowed(EMAIL_OFF)
    with write_transaction(LOCK):
        admin = _acting_admin(by)
        user = _account_as_shown(user_id, version)
        if user.id == by.staff_id:
            raise ChangeNotAllowed(
                "You cannot reset your own password here (it would sign you out with no way "
                "back until the email came): another administrator can, or flask "
                "reset-password."
            )
        if not user.active:
            raise ChangeNotAllowed("Reactivate the account before sending it a password link.")
        if user.invite_pending:
            raise ChangeNotAllowed("This person has not accepted the invitation: send it again.")
        now = utcnow()
        user.set_password(secrets.token_urlsafe(32))
        user.session_version += 1
        _send_link(user, TokenPurpose.RESET, admin, now)
        record(by, "settings.staff_password_reset_sent", at=now, detail=_who(user))
    return user


# --- following a link ------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkHolder:
    name: str
    email: str
    purpose: str


def link_holder(raw: str) -> LinkHolder:
    """Who a one-time link is for; LinkInvalid (404), LinkExpired or LinkRevoked (410)."""
    token, user = _live_token(raw, utcnow())
    return LinkHolder(user.name, user.email, token.purpose)


def choose_password(raw: str, password: str) -> StaffUser:
    """Set the account's password from a one-time link, spending the link.

    The person then signs in with it (the page sends them to sign-in): the link alone never
    opens a session, and signing in once tells them, and their password manager, that the
    password they typed is the one kept.
    """
    if problem := _password_problem(password):
        raise ValidationFailed({"password": [problem]})
    with write_transaction(LOCK):
        now = utcnow()
        token, user = _live_token(raw, now)
        token.used_at = now
        end_links(user, now)  # any other link still open for the account
        user.set_password(password)
        user.session_version += 1
        user.failed_sign_ins = 0
        user.locked_until = None
        accepted = user.invite_pending
        user.invite_pending = False
        record(
            Actor.staff(user),
            "staff.password_set",
            at=now,
            changes={"invite_pending": (True, False)} if accepted else None,
            detail="from an invitation"
            if token.purpose == TokenPurpose.INVITE
            else "from a reset link",
        )
    return user


# --- inside the lock -------------------------------------------------------------------------


def _acting_admin(by: Actor) -> StaffUser:
    """The admin making the change, read again under the lock: an account demoted or
    deactivated a moment ago can change nothing."""
    admin = db.session.get(StaffUser, by.staff_id) if by.staff_id is not None else None
    if admin is None or not admin.active or admin.invite_pending or admin.role != Role.ADMIN:
        raise ChangeNotAllowed("Your account can no longer change staff accounts.")
    return admin


def _account_as_shown(user_id: int, version: str) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        raise NotFound("There is no such staff account.")
    # As bytes: compare_digest refuses str with non-ASCII characters, which a form can send.
    if not secrets.compare_digest(str(version or "").encode(), fingerprint(user).encode()):
        raise StaleAccountForm(STALE)
    return user


def _keep_an_admin(leaving: StaffUser) -> None:
    """Refuse when ``leaving`` is the last active admin who can sign in."""
    others = db.session.scalar(
        select(func.count(StaffUser.id)).where(
            StaffUser.role == Role.ADMIN,
            StaffUser.active.is_(True),
            StaffUser.invite_pending.is_(False),
            StaffUser.id != leaving.id,
        )
    )
    if not others:
        raise ChangeNotAllowed(LAST_ADMIN)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _live_token(raw: str, now: datetime) -> tuple[StaffToken, StaffUser]:
    invalid = LinkInvalid("This link is not valid. Check that it was copied whole.")
    if not isinstance(raw, str) or not _TOKEN_SHAPE.fullmatch(raw):
        raise invalid
    token = db.session.scalar(select(StaffToken).where(StaffToken.token_hash == _hash(raw)))
    if token is None:
        raise invalid
    user = token.user
    ask = "Ask an administrator to send a new one."
    if token.used_at is not None:
        raise LinkRevoked(f"This link has been used already. Sign in, or if you cannot: {ask}")
    if token.revoked_at is not None or not user.active:
        raise LinkRevoked(f"This link was replaced by a newer one or withdrawn. {ask}")
    if now >= token.expires_at:
        expired = LinkExpired(f"This link has expired. {ask}")
        expired.title = "This link has expired"
        raise expired
    return token, user


def end_links(user: StaffUser, now: datetime) -> None:
    """Withdraw every open link of the account and drop its emails not yet sent."""
    services.end_links(user, now)
    drop_unsent_link_emails(user.id, now)


def drop_unsent_link_emails(user_id: int, now: datetime) -> None:
    """The account's staff emails not sent yet will not go: the links they carry are closed."""
    db.session.execute(
        update(OutboundEmail)
        .where(
            OutboundEmail.staff_user_id == user_id,
            OutboundEmail.status == EmailStatus.PENDING,
        )
        .values(
            status=EmailStatus.SKIPPED,
            message="",
            error_message="a newer link replaced it, or the account was closed",
            updated_at=now,
        )
    )


def settle_after_command_line_password(user_id: int) -> None:
    """After ``flask reset-password``: the emails carrying the links it closed do not go."""
    with write_transaction(LOCK):
        drop_unsent_link_emails(user_id, utcnow())


def _send_link(user: StaffUser, purpose: TokenPurpose, admin: StaffUser, now: datetime) -> None:
    """A new one-time link for the account, emailed by the next dispatcher pass; the links
    sent before stop working."""
    end_links(user, now)
    hours = current_app.config[
        "STAFF_INVITE_HOURS" if purpose == TokenPurpose.INVITE else "STAFF_RESET_HOURS"
    ]
    raw = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=hours)
    db.session.add(
        StaffToken(
            staff_user_id=user.id,
            purpose=purpose,
            token_hash=_hash(raw),
            created_by_id=admin.id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    clinic = current_app.config["CLINIC_NAME"]
    values = {
        "clinic": clinic,
        "name": user.name,
        "admin": admin.name,
        "link": f"{current_app.config['PUBLIC_BASE_URL']}/password/{raw}",
        "hours": hours,
        "invite": purpose == TokenPurpose.INVITE,
    }
    subject = (
        f"Your staff account at {clinic}"
        if purpose == TokenPurpose.INVITE
        else f"Choose a new password for {clinic}"
    )
    outbox.plan_staff(
        EMAIL_KINDS[purpose],
        staff_user_id=user.id,
        to_address=user.email,
        subject=subject,
        text=render_template("email/staff_link.txt", **values),
        html=render_template("email/staff_link.html", **values),
        expires_at=expires_at,
    )


def _who(user: StaffUser) -> str:
    return f"staff #{user.id} {user.email}"
