"""Daily housekeeping: close out texts that expired unsent, nudge courses with a gap."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from clinic.booking.models import Appointment, AppointmentStatus
from clinic.clock import utcnow
from clinic.courses.models import Course
from clinic.database import write_transaction
from clinic.extensions import db
from clinic.sms import outbox
from clinic.sms.models import OutboundText, TextStatus


def run() -> dict[str, int]:
    return {"expired": expire_stale(), "course nudges": nudge_courses()}


def expire_stale() -> int:
    """Pending texts past their expiry are recorded as skipped, not left waiting."""
    now = utcnow()
    with write_transaction("sms-housekeeping", lock=False):
        result = db.session.execute(
            update(OutboundText)
            .where(OutboundText.status == TextStatus.PENDING, OutboundText.expires_at <= now)
            .values(status=TextStatus.SKIPPED, error_message="expired unsent", updated_at=now)
        )
    return result.rowcount


def nudge_courses() -> int:
    """A course session that was cancelled and not rebooked: once it is due, nudge the patient
    to book (one nudge per session)."""
    now = utcnow()
    planned = 0
    with write_transaction("sms-housekeeping"):
        courses = db.session.scalars(select(Course).where(Course.status == "active"))
        for course in courses:
            sessions = db.session.scalars(
                select(Appointment)
                .where(Appointment.course_id == course.id)
                .order_by(Appointment.course_position)
            ).all()
            active = [a for a in sessions if a.status != AppointmentStatus.CANCELLED]
            for session in sessions:
                if session.status != AppointmentStatus.CANCELLED or session.start_at > now:
                    continue
                # Rebooked if another live session falls within one interval of it.
                window = timedelta(days=course.interval_days)
                if any(abs(a.start_at - session.start_at) < window for a in active):
                    continue
                if outbox.plan_nudge(session, session.start_at) is not None:
                    planned += 1
    return planned
