from __future__ import annotations

import enum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.db_types import UTCDateTime
from clinic.extensions import db
from clinic.patients.models import Patient


class ReviewStatus(enum.StrEnum):
    NOT_NEEDED = "not_needed"
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class Screening(db.Model):
    """One set of answers to one questionnaire version, for one service.

    Answers are stored as given, beside the version they answered; a later questionnaire version
    never rewrites them. Only screenings that led to a booking (or a desk re-screen) are kept:
    a blocked online attempt leaves no health data behind.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    questionnaire_version: Mapped[int]
    answers: Mapped[dict] = mapped_column(JSON)
    asked: Mapped[list] = mapped_column(JSON)  # the keys shown, in order
    flagged: Mapped[list] = mapped_column(JSON)  # the keys answered "yes"
    outcome: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10))  # online, api, desk
    created_at = mapped_column(UTCDateTime(), nullable=False)
    review_status: Mapped[str] = mapped_column(String(12), default=ReviewStatus.NOT_NEEDED)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    reviewed_at = mapped_column(UTCDateTime())
    review_note: Mapped[str] = mapped_column(String(500), default="")

    patient: Mapped[Patient] = relationship()

    __table_args__ = (
        CheckConstraint("outcome IN ('clear','review','defer','block')", name="outcome_known"),
        CheckConstraint(
            "review_status IN ('not_needed','pending','approved','declined')",
            name="review_status_known",
        ),
        Index("ix_screening_review_queue", "review_status", "created_at"),
    )

    @property
    def cleared(self) -> bool:
        return self.outcome == "clear" or self.review_status == ReviewStatus.APPROVED
