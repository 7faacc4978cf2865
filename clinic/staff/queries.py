"""The bookings still awaiting review that the desk must chase (shown above the calendar).

Kept apart from the sign-in services, which every staff page needs: sign-in must not depend on
booking, or every package that guards a page with a staff role would too.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic.booking.models import Appointment, AppointmentStatus
from clinic.clock import utcnow
from clinic.extensions import db


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
