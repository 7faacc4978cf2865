"""Nudges for courses with a gap: a session that was cancelled and never rebooked.

Run daily by the scheduler's housekeeping, which finds this job through the texts package's
hooks (init_app registers it): the texts package never imports courses.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from clinic.booking.models import RELEASED_STATUSES, Appointment, AppointmentStatus
from clinic.clock import utcnow
from clinic.courses.models import Course
from clinic.database import write_transaction
from clinic.extensions import db
from clinic.sms import hooks, outbox


def init_app(app: Flask) -> None:
    hooks.register_housekeeping(app, "course nudges", nudge_courses)


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
