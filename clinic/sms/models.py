"""Texts in and out, and the alerts and tasks they raise for staff.

Every planned text is a row (the outbox): the scheduler only sends what the rows say, so a
restart, a deploy or a crash loses nothing, and a rescheduled visit simply moves its rows.
"""

from __future__ import annotations

import enum
import hashlib

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.db_types import UTCDateTime
from clinic.extensions import db
from clinic.patients.models import Patient


class TextStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


# How far along a text is; a status callback never moves a text to a lower rank.
STATUS_RANK = {
    TextStatus.PENDING: 0,
    TextStatus.SENDING: 1,
    TextStatus.SENT: 2,
    TextStatus.UNDELIVERED: 3,
    TextStatus.FAILED: 3,
    TextStatus.DELIVERED: 4,
    TextStatus.SKIPPED: 5,
    TextStatus.CANCELLED: 5,
}
UNSENT_STATUSES = (TextStatus.PENDING, TextStatus.SENDING)


class OutboundText(db.Model):
    __tablename__ = "outbound_text"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    # None for a text to staff (the clinician on call) or the safety reply to a number that
    # matches no patient: both go to ``to_number`` as planned.
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    # The reply this text answers (HELP, STOP, symptoms ...), for texts that answer a reply.
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_text.id"))
    # The alert an escalation text is about. No foreign key: staff_alert already points at
    # outbound_text (the text that did not arrive), and a key back would make a cycle.
    alert_id: Mapped[int | None] = mapped_column(index=True)
    # The number it went to; a patient's is written when the text is claimed for sending.
    to_number: Mapped[str] = mapped_column(String(20), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # as sent; rendered when sent
    send_at = mapped_column(UTCDateTime(), nullable=False)
    expires_at = mapped_column(UTCDateTime(), nullable=False)
    immediate: Mapped[bool] = mapped_column(default=False)  # ignores quiet hours
    status: Mapped[str] = mapped_column(String(12), default=TextStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at = mapped_column(UTCDateTime())
    lease_until = mapped_column(UTCDateTime())
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    segments: Mapped[int] = mapped_column(default=0)
    error_code: Mapped[str] = mapped_column(String(10), default="")
    error_message: Mapped[str] = mapped_column(String(300), default="")
    created_at = mapped_column(UTCDateTime(), nullable=False)
    updated_at = mapped_column(UTCDateTime(), nullable=False)
    sent_at = mapped_column(UTCDateTime())
    delivered_at = mapped_column(UTCDateTime())

    patient: Mapped[Patient | None] = relationship()

    __table_args__ = (
        # A text goes to a patient, or to the number planned with it (staff).
        CheckConstraint("patient_id IS NOT NULL OR to_number <> ''", name="recipient_known"),
        # At most one text of a kind per visit, and one answer of a kind per reply.
        UniqueConstraint("appointment_id", "kind", name="uq_outbound_text_appointment_kind"),
        UniqueConstraint("reply_to_id", "kind", name="uq_outbound_text_reply_kind"),
        CheckConstraint(
            "status IN ('pending','sending','sent','delivered','undelivered','failed',"
            "'skipped','cancelled')",
            name="status_known",
        ),
        # The dispatcher's query: due pending rows in send order.
        Index("ix_outbound_text_due", "status", "send_at"),
        # The daily caps count what went out since the local midnight, per number.
        Index("ix_outbound_text_sent_at", "sent_at", "to_number"),
    )


class InboundText(db.Model):
    __tablename__ = "inbound_text"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)  # retries are ignored
    from_number: Mapped[str] = mapped_column(String(20), index=True)
    to_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    intent: Mapped[str] = mapped_column(String(12))
    needs_attention: Mapped[bool] = mapped_column(default=False)  # the staff inbox
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    handled_at = mapped_column(UTCDateTime())
    received_at = mapped_column(UTCDateTime(), nullable=False)

    patient: Mapped[Patient | None] = relationship()


class DeliveryReport(db.Model):
    """Every status callback Twilio sent, as received. A report can arrive before the
    dispatcher has written the message's sid; it is applied when the sid is written."""

    __tablename__ = "delivery_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str] = mapped_column(String(10), default="")
    received_at = mapped_column(UTCDateTime(), nullable=False)
    applied: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        UniqueConstraint("message_sid", "status", name="uq_delivery_report_sid_status"),
    )


class AlertLevel(enum.StrEnum):
    EMERGENCY = "emergency"
    URGENT = "urgent"
    TASK = "task"  # "phone the patient": an undelivered safety text, an unusable number


ALERT_ORDER = {AlertLevel.EMERGENCY: 0, AlertLevel.URGENT: 1, AlertLevel.TASK: 2}


class AlertOutcome(enum.StrEnum):
    """What the person who took an alert did; every one but NO_ANSWER closes it."""

    CALLED_ADVISED = "called_advised"
    EMERGENCY_CARE = "emergency_care"
    BOOKED = "booked"
    NO_ANSWER = "no_answer"  # the alert stays open and its escalation goes on


OUTCOME_LABELS = {
    AlertOutcome.CALLED_ADVISED: "Called and advised",
    AlertOutcome.EMERGENCY_CARE: "Sent to emergency care",
    AlertOutcome.BOOKED: "Booked to be seen",
    AlertOutcome.NO_ANSWER: "No answer, try again",
}


class StaffAlert(db.Model):
    __tablename__ = "staff_alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(300))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_text.id"))
    # Indexed: every dispatch pass asks which missed safety texts have their task already.
    outbound_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_text.id"), index=True)
    created_at = mapped_column(UTCDateTime(), nullable=False)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    acknowledged_at = mapped_column(UTCDateTime())
    # The latest outcome recorded (a "no answer" leaves acknowledged_at empty), by whom, when.
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_note: Mapped[str] = mapped_column(String(300), default="", server_default="")
    outcome_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    outcome_at = mapped_column(UTCDateTime())
    # Set when the on-call phone had its last escalation text and a desk task took over.
    escalation_stopped_at = mapped_column(UTCDateTime())

    patient: Mapped[Patient | None] = relationship()

    __table_args__ = (
        CheckConstraint("level IN ('emergency','urgent','task')", name="level_known"),
        CheckConstraint(
            "outcome IS NULL OR outcome IN "
            "('called_advised','emergency_care','booked','no_answer')",
            name="outcome_known",
        ),
        Index("ix_staff_alert_open", "acknowledged_at", "level", "created_at"),
    )


class MessageTemplate(db.Model):
    """A clinic's own wording for one kind of text (the built-in wording applies otherwise)."""

    __tablename__ = "message_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), unique=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at = mapped_column(UTCDateTime(), nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))


BUILT_IN_VERSION = "built-in"


def wording_version(template: MessageTemplate | None) -> str:
    """What a wording form carries to tell a stale save: the built-in wording, or a
    fingerprint of the clinic's wording and when it was saved."""
    if template is None:
        return BUILT_IN_VERSION
    seen = f"{template.body}\n{template.updated_at.isoformat()}"
    return hashlib.sha256(seen.encode()).hexdigest()[:16]


class SmsSuppression(db.Model):
    """A number that asked for no texts (STOP). Only its own START text takes it off: no web
    form, booking or desk toggle does, so nobody can opt someone else's phone back in."""

    __tablename__ = "sms_suppression"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    created_at = mapped_column(UTCDateTime(), nullable=False)
    source: Mapped[str] = mapped_column(String(20), default="sms")
