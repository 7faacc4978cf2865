from __future__ import annotations

import enum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
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
