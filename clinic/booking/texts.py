"""What booking tells the texts package: a visit's details, a patient's next visit, and what a
"C" reply confirms. The texts package sits beneath booking and never imports it; init_app hands
it these functions when the app is created."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from flask import Flask
from sqlalchemy import select

from clinic.actors import Actor, ActorKind
from clinic.booking.models import Appointment, AppointmentStatus
from clinic.booking.tokens import manage_url_for
from clinic.catalog.models import Location, Practitioner
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.sms import hooks
from clinic.sms.hooks import UpcomingVisit, VisitDetails
from clinic.visits import changes
from clinic.visits.lifecycle import Event

# Visits a patient can still be expecting (a visit held for review is not confirmed by a reply).
GOING_AHEAD = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)


def init_app(app: Flask) -> None:
    hooks.register_visit_details(app, visit_details)
    hooks.register_next_visit(app, next_visit)
    hooks.register_confirm_reply(app, confirm_by_reply)


def visit_details(appointment_ids: Collection[int]) -> dict[int, VisitDetails]:
    """Plain columns in one query: the dispatcher asks for every batch of texts it sends."""
    rows = db.session.execute(
        select(
            Appointment.id,
            Appointment.start_at,
            Appointment.manage_key,
            Location.timezone,
            Location.phone,
        )
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .join(Location, Location.id == Practitioner.location_id)
        .where(Appointment.id.in_(sorted(appointment_ids)))
    ).all()
    return {
        row.id: VisitDetails(
            start_at=row.start_at,
            timezone=row.timezone,
            phone=row.phone,
            link=manage_url_for(row.id, row.manage_key),
        )
        for row in rows
    }


def _going_ahead(patient_id: int, now: datetime) -> tuple:
    return (
        Appointment.patient_id == patient_id,
        Appointment.start_at > now,
        Appointment.status.in_(GOING_AHEAD),
    )


def next_visit(patient_id: int) -> UpcomingVisit | None:
    """The patient's next visit that is booked or confirmed (not one held for review)."""
    row = db.session.execute(
        select(Appointment.id, Appointment.start_at, Location.timezone)
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .join(Location, Location.id == Practitioner.location_id)
        .where(*_going_ahead(patient_id, utcnow()))
        .order_by(Appointment.start_at)
        .limit(1)
    ).first()
    if row is None:
        return None
    return UpcomingVisit(appointment_id=row.id, start_at=row.start_at, timezone=row.timezone)


def confirm_by_reply(patient_id: int, now: datetime) -> int | None:
    """A "C" reply confirms the patient's next visit that is going ahead; returns its id, or
    None when there is none. Runs inside the transaction that files the reply."""
    visit = db.session.scalars(
        select(Appointment).where(*_going_ahead(patient_id, now)).order_by(Appointment.start_at)
    ).first()
    if visit is None:
        return None
    changes.apply(visit, Event.CONFIRM, Actor(ActorKind.PATIENT_TEXT))
    return visit.id
