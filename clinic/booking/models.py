from __future__ import annotations

import enum
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from clinic.catalog.models import Practitioner, Room, Service
from clinic.db_types import UTCDateTime
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.visits import lifecycle

# A visit's states and what they mean belong to the lifecycle; this name stays for queries.
AppointmentStatus = lifecycle.State
# Statuses that free the chair again, for queries; everything else holds its time.
RELEASED_STATUSES = tuple(sorted(lifecycle.RELEASED))


class BookingSource(enum.StrEnum):
    """Where a booking came from. Everything but online was made by staff (the desk channel:
    no minimum notice, the desk horizon), and says how the patient reached them."""

    ONLINE = "online"
    DESK = "desk"
    PHONE = "phone"
    WALK_IN = "walk_in"

    @property
    def words(self) -> str:
        return SOURCE_WORDS[self]


SOURCE_WORDS = {
    BookingSource.ONLINE: "Online",
    BookingSource.DESK: "Desk",
    BookingSource.PHONE: "Phone",
    BookingSource.WALK_IN: "Walk-in",
}
# The sources staff book under, in the order the desk's form offers them.
DESK_SOURCES = (BookingSource.PHONE, BookingSource.WALK_IN, BookingSource.DESK)


def is_desk_source(source: str) -> bool:
    """Whether a booking was made by staff: any known source but online."""
    return source != BookingSource.ONLINE


def source_words(source: str) -> str:
    """The source as people say it: "Phone", "Walk-in", "Desk", "Online"."""
    try:
        return SOURCE_WORDS[BookingSource(source)]
    except ValueError:
        # A screening answered through the JSON API records "api".
        return "API" if source == "api" else str(source).replace("_", " ").capitalize()


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
    # Set only by clinic.visits.lifecycle (see ``_only_through_lifecycle``).
    status: Mapped[str] = mapped_column(String(20))
    # Where an undo of a check-in or a no-show on the day returns the visit to.
    undo_status: Mapped[str | None] = mapped_column(String(20))
    # The calendar file's SEQUENCE: one more with every change the patient's calendar shows.
    ics_sequence: Mapped[int] = mapped_column(default=0, server_default="0")
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
    # The booking form's one-time key: a resend of the same form finds this visit again.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)

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
        CheckConstraint("source IN ('online','desk','phone','walk_in')", name="source_known"),
        # Availability reads a window of appointments by start time; keeping the start first lets
        # the query touch only the window, however long the history grows.
        Index("ix_appointment_practitioner_start", "practitioner_id", "start_at"),
        Index("ix_appointment_room_start", "room_id", "start_at"),
        Index("ix_appointment_location_start", "location_id", "start_at"),
    )

    @property
    def is_active(self) -> bool:
        return self.status not in lifecycle.RELEASED

    @property
    def timezone(self) -> ZoneInfo:
        """The time zone of the visit's location: its local day and wall times."""
        return ZoneInfo(self.practitioner.location.timezone)

    @validates("status")
    def _only_through_lifecycle(self, _key, value):
        if not lifecycle.assigning():
            raise AttributeError(
                "A visit's status changes only through clinic.visits.lifecycle.transition()."
            )
        return value
