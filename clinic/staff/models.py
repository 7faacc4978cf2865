from __future__ import annotations

import enum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from clinic.catalog.models import Practitioner
from clinic.db_types import UTCDateTime
from clinic.extensions import db


class Role(enum.StrEnum):
    ADMIN = "admin"
    DESK = "desk"
    PRACTITIONER = "practitioner"


class StaffUser(UserMixin, db.Model):
    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at = mapped_column(UTCDateTime(), nullable=False)
    # Stored in the session cookie at sign-in and compared on every request: signing out or a
    # new password bumps it, which ends every session of the account at once.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # Failed sign-ins since the last success; the tenth in a row locks the account a while.
    failed_sign_ins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until = mapped_column(UTCDateTime(), nullable=True)
    # Set by a successful sign-in; None for an account that never signed in.
    last_sign_in_at = mapped_column(UTCDateTime(), nullable=True)
    # An account made by an invitation has no password of its own until the person follows the
    # link and chooses one; until then it cannot sign in and does not count as an admin.
    invited_at = mapped_column(UTCDateTime(), nullable=True)
    invite_pending: Mapped[bool] = mapped_column(default=False, server_default=sa_false())

    practitioner: Mapped[Practitioner | None] = relationship()

    __table_args__ = (
        CheckConstraint("role IN ('admin','desk','practitioner')", name="role_known"),
    )

    def get_id(self) -> str:
        # Flask-Login keeps this in the session cookie: the version makes an old cookie useless
        # once the account has signed out or changed its password (see services.active_staff).
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def set_password(self, password: str) -> None:
        # scrypt, Werkzeug's default: memory-hard and salted.
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class TokenPurpose(enum.StrEnum):
    INVITE = "invite"
    RESET = "reset"


class StaffToken(db.Model):
    """A one-time link to choose a password: an invitation or a reset sent by an admin.

    Only the SHA-256 of the random token is kept, so the table alone opens nothing. A token is
    spent once (``used_at``), ends when a newer one replaces it or the account is deactivated
    (``revoked_at``), and expires at ``expires_at``.
    """

    __tablename__ = "staff_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at = mapped_column(UTCDateTime(), nullable=False)
    expires_at = mapped_column(UTCDateTime(), nullable=False)
    used_at = mapped_column(UTCDateTime(), nullable=True)
    revoked_at = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[StaffUser] = relationship(foreign_keys=[staff_user_id])

    __table_args__ = (CheckConstraint("purpose IN ('invite','reset')", name="purpose_known"),)
