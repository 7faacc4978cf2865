"""What the desk sees on a day: the day's appointments and the bookings still awaiting review.

Kept apart from the sign-in services, which every staff page needs: sign-in must not depend on
booking, or every package that guards a page with a staff role would too.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic.booking.models import Appointment, AppointmentStatus
from clinic.booking.services import clinic_timezone
from clinic.booking.slots import local_day_bounds
from clinic.clock import utcnow
from clinic.extensions import db


def appointments_on(day: date) -> list[Appointment]:
    """Every appointment starting on the clinic's local ``day``, whatever its status, by start."""
    bounds = local_day_bounds(day, clinic_timezone())
    query = (
        select(Appointment)
        .where(Appointment.start_at >= bounds.start, Appointment.start_at < bounds.end)
        .options(
            selectinload(Appointment.patient),
            selectinload(Appointment.service),
            selectinload(Appointment.practitioner),
            selectinload(Appointment.room),
        )
        .order_by(Appointment.start_at, Appointment.id)
    )
    return list(db.session.scalars(query))


def unreviewed_soon() -> list[Appointment]:
    """Bookings still held for clinical review whose visit starts within REVIEW_WARNING_HOURS
    (or has started and not yet ended), soonest first: the desk must chase these."""
    now = utcnow()
    warning = timedelta(hours=current_app.config["REVIEW_WARNING_HOURS"])
    query = (
        select(Appointment)
        .where(
            Appointment.status == AppointmentStatus.NEEDS_REVIEW,
            Appointment.start_at <= now + warning,
            Appointment.end_at > now,
        )
        .options(selectinload(Appointment.patient))
        .order_by(Appointment.start_at, Appointment.id)
    )
    return list(db.session.scalars(query))
