"""Courses: a series of needling sessions booked in one step, and moved together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from clinic.actors import Actor, ActorKind
from clinic.booking import services as booking
from clinic.booking.models import Appointment, BookingSource
from clinic.catalog.models import Location
from clinic.clock import utcnow
from clinic.courses.models import Course
from clinic.courses.plan import series_starts, shift_later, template
from clinic.database import write_transaction
from clinic.errors import NotFound, SlotUnavailable, ValidationFailed
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.visits import lifecycle
from clinic.visits.lifecycle import Event
from clinic.web.formatting import format_when


@dataclass(frozen=True)
class CourseRequest:
    patient_id: int
    service_slug: str
    template_key: str
    first_start: datetime
    practitioner_id: int | None = None


def book_course(request: CourseRequest, staff=None, *, by: Actor | None = None) -> Course:
    """Book every session of the course through the same rules as any booking, all or none.

    A session whose time is not free raises SlotUnavailable naming it (``details["session"]``),
    and nothing is booked.
    """
    try:
        plan = template(request.template_key)
    except LookupError as exc:
        raise ValidationFailed({"template": ["Choose one of the course plans."]}) from exc
    patient = db.session.get(Patient, request.patient_id)
    if patient is None:
        raise NotFound("No such patient.")
    service = booking.service_by_slug(request.service_slug, online_only=False)
    if not service.needles:
        raise ValidationFailed({"service": ["Courses are for treatment sessions."]})
    if not plan.applies_to(service.slug):
        raise ValidationFailed(
            {"template": ["That course plan is not one for this treatment; choose another."]}
        )
    by = by or (Actor.staff(staff) if staff is not None else Actor(ActorKind.DESK))
    location_id = _location_for(service)
    tz = ZoneInfo(db.session.get(Location, location_id).timezone)
    starts = series_starts(
        booking.require_aware(request.first_start), plan.interval_days, plan.sessions, tz
    )
    for start in starts:
        booking.check_start_window(service, start, BookingSource.DESK)
    with (
        booking.conflicts_mean_taken("A session's time has just been taken; nothing was booked."),
        write_transaction("booking"),
    ):
        course = Course(
            patient_id=patient.id,
            service_id=service.id,
            template_key=plan.key,
            interval_days=plan.interval_days,
            sessions_planned=plan.sessions,
            created_at=utcnow(),
            created_by_id=getattr(staff, "id", None),
        )
        db.session.add(course)
        db.session.flush()
        for position, start in enumerate(starts, start=1):
            try:
                # One confirmation for the course, reminders before every session.
                booking.hold(
                    service,
                    start,
                    request.practitioner_id,
                    patient,
                    source=BookingSource.DESK,
                    by=by,
                    course_id=course.id,
                    course_position=position,
                    confirm=position == 1,
                )
            except (SlotUnavailable, ValidationFailed) as exc:
                raise SlotUnavailable(
                    f"Session {position} ({format_when(start, tz)}) cannot be booked: "
                    f"{_reason(exc)} Nothing was booked; choose another first date or time.",
                    details={"session": position, "start": start.isoformat()},
                ) from exc
    return course


def sessions(course_id: int) -> list[Appointment]:
    return list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.course_id == course_id)
            .order_by(Appointment.course_position)
        )
    )


def get_course(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        raise NotFound("No such course.")
    return course


def move_session(
    appointment_id: int,
    new_start: datetime,
    *,
    shift_later_sessions: bool,
    by: Actor | None = None,
):
    """Move one session; on request move every later, still-open session by the same number of
    days to the same new time of day. All moves succeed together or none do."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.course_id is None:
        raise NotFound("No such course session.")
    new_start = booking.require_aware(new_start)
    location_id = appointment.location_id
    tz = ZoneInfo(db.session.get(Location, location_id).timezone)
    series = sessions(appointment.course_id)
    index = next(i for i, a in enumerate(series) if a.id == appointment.id)
    targets = {appointment.id: new_start}
    if shift_later_sessions:
        shifted = shift_later([a.start_at for a in series], index, new_start, tz)
        for later, start in zip(series[index + 1 :], shifted[index + 1 :], strict=True):
            if lifecycle.allows_from(later.status, Event.MOVE):
                targets[later.id] = start
    for start in targets.values():
        booking.check_start_window(appointment.service, start, BookingSource.DESK)
    # Moving later first (or earlier first when moving back) keeps each move clear of the
    # sessions not yet moved, so the 7-day gap is checked against the final plan.
    ordered = sorted(
        targets.items(), key=lambda item: item[1], reverse=new_start > appointment.start_at
    )
    by_id = {a.id: a for a in series}
    with (
        booking.conflicts_mean_taken("A time has just been taken; nothing was moved."),
        write_transaction("booking"),
    ):
        for appointment_id_, start in ordered:
            try:
                booking.move(by_id[appointment_id_], start, source=BookingSource.DESK, by=by)
            except (SlotUnavailable, ValidationFailed) as exc:
                position = by_id[appointment_id_].course_position
                raise SlotUnavailable(
                    f"Session {position} cannot move to {format_when(start, tz)}: "
                    f"{_reason(exc)} Nothing was moved.",
                    details={"session": position, "start": start.isoformat()},
                ) from exc
    return [by_id[i] for i, _ in ordered]


def _location_for(service) -> int:
    practitioners = booking.practitioners_for(service)
    if not practitioners:
        raise SlotUnavailable("Nobody offers this service at the moment.")
    return practitioners[0].location_id


def _reason(exc) -> str:
    if isinstance(exc, ValidationFailed):
        return " ".join(message for messages in exc.errors.values() for message in messages)
    return exc.message
