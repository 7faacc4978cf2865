"""The clinic's set-up: where, what, who and when."""

from __future__ import annotations

from datetime import time

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.db_types import UTCDateTime
from clinic.extensions import db

# Ingredients a service can use; screening questions (a later issue) hang on these keys.
INGREDIENTS = ("numbing", "minoxidil", "prp", "steroid")

practitioner_services = Table(
    "practitioner_service",
    db.metadata,
    Column(
        "practitioner_id",
        Integer,
        ForeignKey("practitioner.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("service_id", Integer, ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
)


class Location(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40))
    timezone: Mapped[str] = mapped_column(String(64))

    rooms: Mapped[list[Room]] = relationship(back_populates="location", order_by="Room.id")
    practitioners: Mapped[list[Practitioner]] = relationship(
        back_populates="location", order_by="Practitioner.id"
    )


class Service(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    duration_minutes: Mapped[int]
    buffer_after_minutes: Mapped[int] = mapped_column(default=0)
    price_pence: Mapped[int] = mapped_column(default=0)
    needles: Mapped[bool] = mapped_column(default=False)
    uses_numbing: Mapped[bool] = mapped_column(default=False)
    uses_minoxidil: Mapped[bool] = mapped_column(default=False)
    uses_prp: Mapped[bool] = mapped_column(default=False)
    uses_steroid: Mapped[bool] = mapped_column(default=False)
    bookable_online: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("buffer_after_minutes >= 0", name="buffer_not_negative"),
        CheckConstraint("price_pence >= 0", name="price_not_negative"),
    )

    @property
    def ingredients(self) -> tuple[str, ...]:
        return tuple(name for name in INGREDIENTS if getattr(self, f"uses_{name}"))


class Practitioner(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)

    location: Mapped[Location] = relationship(back_populates="practitioners")
    services: Mapped[list[Service]] = relationship(secondary=practitioner_services)
    working_hours: Mapped[list[WorkingHours]] = relationship(
        back_populates="practitioner", cascade="all, delete-orphan", order_by="WorkingHours.weekday"
    )


class Room(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True)

    location: Mapped[Location] = relationship(back_populates="rooms")


class WorkingHours(db.Model):
    """A weekly block of local wall-clock time in the location's time zone."""

    __tablename__ = "working_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), index=True)
    weekday: Mapped[int]  # 0 = Monday
    start_time: Mapped[time]
    end_time: Mapped[time]

    practitioner: Mapped[Practitioner] = relationship(back_populates="working_hours")

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("start_time < end_time", name="start_before_end"),
    )


class TimeOff(db.Model):
    """A closure of the whole location (practitioner_id empty) or one practitioner's time off."""

    __tablename__ = "time_off"

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"), index=True)
    start_at = mapped_column(UTCDateTime(), nullable=False)
    end_at = mapped_column(UTCDateTime(), nullable=False)
    reason: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (
        CheckConstraint("start_at < end_at", name="start_before_end"),
        Index("ix_time_off_location_end", "location_id", "end_at"),
    )


class ClinicPolicy(db.Model):
    """The clinic's own values for rules that start out as environment settings.

    One row at most (id 1). An empty column means "not set here": the environment variable
    (CANCELLATION_WINDOW_HOURS, SMS_QUIET_START, SMS_QUIET_END) holds. ``version`` counts saves
    and is never reset, so a form shown before any save, even one later undone, is still stale.
    """

    __tablename__ = "clinic_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    cancellation_window_hours: Mapped[int | None]
    quiet_start: Mapped[time | None]
    quiet_end: Mapped[time | None]
    version: Mapped[int] = mapped_column(default=0)
    updated_at = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint(
            "cancellation_window_hours BETWEEN 0 AND 336", name="cancellation_window_range"
        ),
        CheckConstraint("quiet_start <> quiet_end", name="quiet_start_not_end"),
    )


class CatalogVersion(db.Model):
    """One row whose ``version`` changes in the same transaction as any write to the tables
    availability reads as set-up (clinic.catalog.version.CATALOG_TABLES), so a web process can
    keep that set-up in memory and tell with one small read whether it is still current.

    The value is random, not a counter: a rolled-back change's value never comes back, so a
    copy read inside that transaction can never pass for a later committed one."""

    __tablename__ = "catalog_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
