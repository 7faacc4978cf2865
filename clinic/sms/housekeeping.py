"""Daily housekeeping: close out texts that expired unsent, nudge courses with a gap."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from clinic.booking.models import RELEASED_STATUSES, Appointment, AppointmentStatus
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
    to book (one nudge per session). A visit of the same service within half an interval of the
    cancelled one, other than the course's other sessions, counts as the rebooking."""
    now = utcnow()
    planned = 0
    with write_transaction("sms-housekeeping"):
        courses = db.session.scalars(select(Course).where(Course.status == "active")).all()
        for course in courses:
            sessions = db.session.scalars(
                select(Appointment).where(Appointment.course_id == course.id)
            ).all()
            due = [
                s for s in sessions if s.status == AppointmentStatus.CANCELLED and s.start_at <= now
            ]
            if not due:
                continue
            others = db.session.scalars(
                select(Appointment).where(
                    Appointment.patient_id == course.patient_id,
                    Appointment.service_id == course.service_id,
                    Appointment.status.not_in(RELEASED_STATUSES),
                    (Appointment.course_id.is_(None)) | (Appointment.course_id != course.id),
                )
            ).all()
            reach = timedelta(days=course.interval_days) / 2
            for session in due:
                if any(abs(o.start_at - session.start_at) < reach for o in others):
                    continue
                if outbox.plan_nudge(session, session.start_at) is not None:
                    planned += 1
    return planned
