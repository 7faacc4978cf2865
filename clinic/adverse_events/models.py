from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.booking.models import Appointment
from clinic.db_types import UTCDateTime
from clinic.extensions import db
from clinic.patients.models import Patient


class AdverseEvent(db.Model):
    """One adverse event after a session, as the clinic would report it to a regulator.

    The session record's lot numbers are copied in when the event is recorded, so the report
    keeps naming the products the patient actually had.
    """

    __tablename__ = "adverse_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id"), index=True)
    session_record_id: Mapped[int | None] = mapped_column(ForeignKey("session_record.id"))
    # The alert it was opened from, when it was.
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("staff_alert.id"))
    onset_at = mapped_column(UTCDateTime(), nullable=False)
    event_type: Mapped[str] = mapped_column(String(30))
    other_type: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))
    serious: Mapped[bool] = mapped_column(default=False)
    serious_criteria: Mapped[list] = mapped_column(JSON, default=list)
    action_taken: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(30), default="unknown")
    patient_sex: Mapped[str] = mapped_column(String(10), default="")
    cartridge_lot: Mapped[str] = mapped_column(String(60), default="")
    prp_kit_lot: Mapped[str] = mapped_column(String(60), default="")
    regulator: Mapped[str] = mapped_column(String(10), default="")
    reported_on: Mapped[date | None]
    regulator_reference: Mapped[str] = mapped_column(String(60), default="")
    recorded_at = mapped_column(UTCDateTime(), nullable=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    updated_at = mapped_column(UTCDateTime(), nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    patient: Mapped[Patient] = relationship()
    appointment: Mapped[Appointment] = relationship()

    __table_args__ = (
        CheckConstraint(
            "event_type IN ('infection','allergic_reaction','prolonged_bleeding',"
            "'scarring_pigment','fainting','other')",
            name="event_type_known",
        ),
        CheckConstraint("severity IN ('mild','moderate','severe')", name="severity_known"),
        CheckConstraint(
            "outcome IN ('recovered','recovering','not_recovered','recovered_with_effects',"
            "'fatal','unknown')",
            name="outcome_known",
        ),
        CheckConstraint("patient_sex IN ('','female','male')", name="patient_sex_known"),
        CheckConstraint("regulator IN ('','mhra','fda')", name="regulator_known"),
        # Reported means: to whom, and when.
        CheckConstraint(
            "(regulator = '' AND reported_on IS NULL) "
            "OR (regulator <> '' AND reported_on IS NOT NULL)",
            name="report_complete",
        ),
        Index("ix_adverse_event_onset_at", "onset_at"),
    )
