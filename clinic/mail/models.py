"""The email outbox: one row per planned email, holding the whole message as it will go."""

from __future__ import annotations

import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clinic.db_types import UTCDateTime
from clinic.extensions import db


class EmailStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class OutboundEmail(db.Model):
    __tablename__ = "outbound_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    # A patient's email, or a staff member's (an invitation or a password reset link): one of
    # the two, never both.
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    # Fixed when planned, so a message sent again after a crash is the same message.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    message: Mapped[str] = mapped_column(Text)  # RFC 5322, headers and body
    send_at = mapped_column(UTCDateTime(), nullable=False)
    expires_at = mapped_column(UTCDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(12), default=EmailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    lease_until = mapped_column(UTCDateTime())
    # Written just before the end-of-data mark goes to the server: from here on the server may
    # hold the message, so a claim abandoned later is never sent again.
    handed_over_at = mapped_column(UTCDateTime())
    error_message: Mapped[str] = mapped_column(String(300), default="")
    created_at = mapped_column(UTCDateTime(), nullable=False)
    updated_at = mapped_column(UTCDateTime(), nullable=False)
    sent_at = mapped_column(UTCDateTime())

    __table_args__ = (
        # One email of a kind per visit.
        UniqueConstraint("appointment_id", "kind", name="uq_outbound_email_appointment_kind"),
        CheckConstraint(
            "status IN ('pending','sending','sent','failed','skipped')", name="status_known"
        ),
        Index("ix_outbound_email_due", "status", "send_at"),
        CheckConstraint("(patient_id IS NULL) <> (staff_user_id IS NULL)", name="one_recipient"),
    )
