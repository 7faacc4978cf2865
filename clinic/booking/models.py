from __future__ import annotations

import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.catalog.models import Practitioner, Room, Service
from clinic.db_types import UTCDateTime
from clinic.extensions import db
from clinic.patients.models import Patient


class AppointmentStatus(enum.StrEnum):
    NEEDS_REVIEW = "needs_review"  # held; a practitioner must clear the screening first
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


# Statuses that free the chair again. Everything else holds its time, so statuses added later
# (such as one for bookings awaiting review) hold time by default.
RELEASED_STATUSES = (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)
# The patient may still change these themselves.
CHANGEABLE_STATUSES = (
    AppointmentStatus.NEEDS_REVIEW,
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
)


class BookingSource(enum.StrEnum):
    ONLINE = "online"
    DESK = "desk"


class Appointment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    start_at = mapped_column(UTCDateTime(), nullable=False)
    end_at = mapped_column(UTCDateTime(), nullable=False)
    # end_at plus the service's cleanup buffer: the practitioner and room are busy until then.
    blocked_until = mapped_column(UTCDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(20), default=AppointmentStatus.BOOKED)
    source: Mapped[str] = mapped_column(String(10), default=BookingSource.ONLINE)
    needles: Mapped[bool] = mapped_column(default=False)
    cancel_reason: Mapped[str] = mapped_column(String(300), default="")
    # Random key inside the patient's signed manage link; replacing it revokes old links.
    manage_key: Mapped[str] = mapped_column(String(32), unique=True)
    created_at = mapped_column(UTCDateTime(), nullable=False)
    updated_at = mapped_column(UTCDateTime(), nullable=False)
    cancelled_at = mapped_column(UTCDateTime())
    checked_in_at = mapped_column(UTCDateTime())
    completed_at = mapped_column(UTCDateTime())
    # "Has anything changed since your last visit?" answered yes at check-in: screening is
    # re-opened until the patient is screened again.
    rescreen_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"), index=True)
    course_position: Mapped[int | None]

    patient: Mapped[Patient] = relationship()
    service: Mapped[Service] = relationship()
    practitioner: Mapped[Practitioner] = relationship()
    room: Mapped[Room] = relationship()

    __table_args__ = (
        CheckConstraint("start_at < end_at AND end_at <= blocked_until", name="times_in_order"),
        CheckConstraint(
            "status IN ('needs_review','booked','confirmed','checked_in','completed',"
            "'cancelled','no_show')",
            name="status_known",
        ),
        CheckConstraint("source IN ('online','desk')", name="source_known"),
        # Availability reads a window of appointments by start time; keeping the start first lets
        # the query touch only the window, however long the history grows.
        Index("ix_appointment_practitioner_start", "practitioner_id", "start_at"),
        Index("ix_appointment_room_start", "room_id", "start_at"),
        Index("ix_appointment_location_start", "location_id", "start_at"),
    )

    @property
    def is_active(self) -> bool:
        return self.status not in RELEASED_STATUSES
