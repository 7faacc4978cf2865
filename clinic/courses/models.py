from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.catalog.models import Service
from clinic.db_types import UTCDateTime
from clinic.extensions import db
from clinic.patients.models import Patient


class Course(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    template_key: Mapped[str] = mapped_column(String(40))
    interval_days: Mapped[int]
    sessions_planned: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default="active")
    created_at = mapped_column(UTCDateTime(), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    patient: Mapped[Patient] = relationship()
    service: Mapped[Service] = relationship()

    __table_args__ = (
        CheckConstraint("interval_days >= 1", name="interval_positive"),
        CheckConstraint("sessions_planned BETWEEN 1 AND 52", name="sessions_range"),
        CheckConstraint("status IN ('active','completed','cancelled')", name="status_known"),
    )
