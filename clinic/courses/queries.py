"""What the desk's course pages show: read-only views over courses and their choices."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from clinic.booking.models import Appointment
from clinic.catalog.models import Practitioner, Service
from clinic.consent import services as consent_services
from clinic.consent.models import SignedConsent
from clinic.courses import services as course_services
from clinic.courses.models import Course
from clinic.courses.plan import CourseTemplate, template
from clinic.errors import NotFound
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.visits import lifecycle
from clinic.visits.lifecycle import Event


def patient(patient_id: int) -> Patient:
    found = db.session.get(Patient, patient_id)
    if found is None:
        raise NotFound("No such patient.")
    return found


def treatments() -> list[Service]:
    """Services a course can be made of: the active ones that needle."""
    return list(
        db.session.scalars(
            select(Service).where(Service.active, Service.needles).order_by(Service.id)
        )
    )


def practitioners() -> list[Practitioner]:
    return list(
        db.session.scalars(
            select(Practitioner).where(Practitioner.active).order_by(Practitioner.name)
        )
    )


@dataclass(frozen=True)
class CoursePage:
    course: Course
    plan: CourseTemplate | None
    sessions: list[Appointment]
    consent: SignedConsent | None  # the course's signature of the current form, if any

    def can_move(self, session: Appointment) -> bool:
        return lifecycle.allows_from(session.status, Event.MOVE)


def course_page(course_id: int) -> CoursePage:
    course = course_services.get_course(course_id)
    try:
        plan = template(course.template_key)
    except LookupError:
        plan = None
    consent = db.session.scalars(
        select(SignedConsent)
        .where(
            SignedConsent.course_id == course.id,
            SignedConsent.form_version == consent_services.current_version(),
        )
        .order_by(SignedConsent.signed_at.desc())
    ).first()
    return CoursePage(
        course=course,
        plan=plan,
        sessions=course_services.sessions(course.id),
        consent=consent,
    )


def course_session(course_id: int, appointment_id: int) -> Appointment:
    """A session of this course; any other appointment is not found here."""
    session = db.session.get(Appointment, appointment_id)
    if session is None or session.course_id != course_id:
        raise NotFound("No such session in this course.")
    return session
