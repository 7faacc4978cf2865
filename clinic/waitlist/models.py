"""Waitlist entries, the times freed for them (openings) and the offers made of those times.

"One taker per freed time" is a database fact: at most one offer per opening may be taken
(a partial unique index), an entry holds at most one open offer, an entry is offered a given
opening once, and a booked visit belongs to one offer.
"""

from __future__ import annotations

import enum
from datetime import date, time

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.booking.models import Appointment
from clinic.catalog.models import Practitioner, Service
from clinic.db_types import UTCDateTime
from clinic.extensions import db
from clinic.patients.models import Patient


class EntryStatus(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"  # holds an open offer
    BOOKED = "booked"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"  # its last day has passed


class EntrySource(enum.StrEnum):
    ONLINE = "online"
    DESK = "desk"


class OpeningStatus(enum.StrEnum):
    OPEN = "open"  # free, being offered
    FILLED = "filled"  # taken through an offer
    GONE = "gone"  # booked another way, past, or no longer bookable


class OfferStatus(enum.StrEnum):
    OPEN = "open"
    TAKEN = "taken"
    GONE = "gone"  # someone else took the time, or it stopped being free
    EXPIRED = "expired"


# Entries still hoping for a time.
LIVE_ENTRY_STATUSES = (EntryStatus.WAITING, EntryStatus.OFFERED)


def _partial(condition: str) -> dict:
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


class WaitlistEntry(db.Model):
    __tablename__ = "waitlist_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    # None: any practitioner who offers the service.
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    # Local dates in the clinic's zone, both included.
    first_day: Mapped[date]
    last_day: Mapped[date]
    time_of_day: Mapped[str] = mapped_column(String(10))  # clinic.waitlist.rules.TimeOfDay
    time_from: Mapped[time | None]
    time_to: Mapped[time | None]
    status: Mapped[str] = mapped_column(String(10), default=EntryStatus.WAITING)
    source: Mapped[str] = mapped_column(String(10))
    # Random key inside the patient's signed entry link; the link manages and withdraws it.
    key: Mapped[str] = mapped_column(String(32), unique=True)
    # The visit booked through one of its offers.
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    created_at = mapped_column(UTCDateTime(), nullable=False)
    updated_at = mapped_column(UTCDateTime(), nullable=False)

    patient: Mapped[Patient] = relationship()
    service: Mapped[Service] = relationship()
    practitioner: Mapped[Practitioner | None] = relationship()

    __table_args__ = (
        CheckConstraint(
            "status IN ('waiting','offered','booked','withdrawn','expired')", name="status_known"
        ),
        CheckConstraint("source IN ('online','desk')", name="source_known"),
        CheckConstraint(
            "time_of_day IN ('any','morning','afternoon','evening','between')",
            name="time_of_day_known",
        ),
        CheckConstraint("first_day <= last_day", name="days_in_order"),
        CheckConstraint(
            "time_of_day <> 'between' OR (time_from IS NOT NULL AND time_to IS NOT NULL "
            "AND time_from < time_to)",
            name="between_has_times",
        ),
        # Matching reads the live entries of a service, oldest first.
        Index("ix_waitlist_entry_service_status", "service_id", "status", "created_at"),
    )


class WaitlistOpening(db.Model):
    """A time a visit freed: written in the transaction that freed it, offered by the
    dispatcher's passes until someone takes it or it stops being bookable."""

    __tablename__ = "waitlist_opening"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    start_at = mapped_column(UTCDateTime(), nullable=False)
    # The visit whose change freed the time.
    freed_by_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    status: Mapped[str] = mapped_column(String(10), default=OpeningStatus.OPEN)
    created_at = mapped_column(UTCDateTime(), nullable=False)
    updated_at = mapped_column(UTCDateTime(), nullable=False)

    service: Mapped[Service] = relationship()
    practitioner: Mapped[Practitioner] = relationship()

    __table_args__ = (
        CheckConstraint("status IN ('open','filled','gone')", name="status_known"),
        # One open opening per practitioner and start: the same freed time is offered once.
        Index(
            "uq_waitlist_opening_open_time",
            "practitioner_id",
            "start_at",
            unique=True,
            **_partial("status = 'open'"),
        ),
        Index("ix_waitlist_opening_status_start", "status", "start_at"),
    )


class WaitlistOffer(db.Model):
    __tablename__ = "waitlist_offer"

    id: Mapped[int] = mapped_column(primary_key=True)
    opening_id: Mapped[int] = mapped_column(ForeignKey("waitlist_opening.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entry.id"), index=True)
    # Random key inside the signed offer link.
    key: Mapped[str] = mapped_column(String(32), unique=True)
    # When its text may go out (quiet hours move it to the morning) and when it lapses.
    offered_at = mapped_column(UTCDateTime(), nullable=False)
    expires_at = mapped_column(UTCDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(10), default=OfferStatus.OPEN)
    closed_at = mapped_column(UTCDateTime())
    # The offer's text, and the "it has gone" text sent when someone else took the time.
    text_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_text.id"))
    gone_text_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_text.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"), unique=True)
    created_at = mapped_column(UTCDateTime(), nullable=False)

    opening: Mapped[WaitlistOpening] = relationship()
    entry: Mapped[WaitlistEntry] = relationship()
    appointment: Mapped[Appointment | None] = relationship()

    __table_args__ = (
        CheckConstraint("status IN ('open','taken','gone','expired')", name="status_known"),
        # An entry is offered a given freed time once.
        UniqueConstraint("opening_id", "entry_id", name="uq_waitlist_offer_opening_entry"),
        # One taker per freed time.
        Index(
            "uq_waitlist_offer_one_taker",
            "opening_id",
            unique=True,
            **_partial("status = 'taken'"),
        ),
        # An entry holds one open offer at a time.
        Index(
            "uq_waitlist_offer_one_open_per_entry",
            "entry_id",
            unique=True,
            **_partial("status = 'open'"),
        ),
        Index("ix_waitlist_offer_status_expires", "status", "expires_at"),
    )
