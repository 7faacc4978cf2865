"""Courses: a series of needling sessions booked in one step, and moved together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from clinic.actors import Actor, ActorKind
from clinic.booking import services as booking
from clinic.booking.models import Appointment, BookingSource
from clinic.booking.slots import needling_gap_ok
from clinic.catalog.models import Location, TimeOff
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
    # The sessions' starts as previewed and confirmed at the desk; empty: the plan's series
    # from first_start, unchanged.
    starts: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class PlannedSession:
    """One session of a previewed course: where the plan puts it, or the desk's choice."""

    position: int
    start: datetime
    # Why the time cannot be booked ("" when it is free), and the engine's nearest free times.
    clash: str = ""
    alternatives: tuple[datetime, ...] = ()
    # The plan's own date and time, when the desk chose another one.
    planned: datetime | None = None


@dataclass(frozen=True)
class CoursePreview:
    sessions: tuple[PlannedSession, ...]

    @property
    def clashes(self) -> list[PlannedSession]:
        return [session for session in self.sessions if session.clash]

    @property
    def ready(self) -> bool:
        return not self.clashes

    @property
    def starts(self) -> tuple[datetime, ...]:
        return tuple(session.start for session in self.sessions)


def _checked(request: CourseRequest):
    """The plan, patient, service and time zone of a course request, or a refusal."""
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
    location_id = _location_for(service)
    tz = ZoneInfo(db.session.get(Location, location_id).timezone)
    return plan, patient, service, tz


def preview_course(
    request: CourseRequest, chosen: Mapping[int, datetime] | None = None
) -> CoursePreview:
    """Where each session of the plan would land, before anything is booked: each session's
    clash (taken, outside hours, a closure, the needling gap, the booking window) with the
    nearest free times the engine offers instead. ``chosen`` replaces the plan's start of a
    session (by position) with the desk's pick. Writes nothing."""
    plan, patient, service, tz = _checked(request)
    planned = series_starts(
        booking.require_aware(request.first_start), plan.interval_days, plan.sessions, tz
    )
    chosen = {k: booking.require_aware(v) for k, v in (chosen or {}).items()}
    starts = [chosen.get(n, start) for n, start in enumerate(planned, start=1)]
    sessions = []
    for position, start in enumerate(starts, start=1):
        others = [s for n, s in enumerate(starts, start=1) if n != position]
        clash = _clash(service, start, request.practitioner_id, patient, others, tz)
        alternatives = ()
        if clash:
            alternatives = tuple(
                slot.start
                for slot in booking.alternatives_near(
                    service,
                    start,
                    limit=8,
                    practitioner_id=request.practitioner_id,
                    patient=patient,
                    source=BookingSource.DESK,
                )
                if needling_gap_ok(slot.start, others, tz, _gap_days())
            )[:4]
        sessions.append(
            PlannedSession(
                position=position,
                start=start,
                clash=clash,
                alternatives=alternatives,
                planned=planned[position - 1] if start != planned[position - 1] else None,
            )
        )
    return CoursePreview(tuple(sessions))


def first_session_times(
    service_slug: str, day: date, *, practitioner_id: int | None, patient_id: int
) -> list[datetime]:
    """The free starts on a day for a course's first session: chosen, never guessed."""
    service = booking.service_by_slug(service_slug, online_only=False)
    patient = db.session.get(Patient, patient_id)
    slots = booking.find_slots(
        service,
        day,
        day,
        practitioner_id=practitioner_id,
        patient=patient,
        source=BookingSource.DESK,
    )
    return sorted({slot.start for slot in slots})


def _gap_days() -> int:
    return booking.policy(BookingSource.DESK).needling_gap_days


def _clash(service, start, practitioner_id, patient, others, tz) -> str:
    """Why a session cannot start then, in words for the desk; "" when it can."""
    try:
        booking.check_start_window(service, start, BookingSource.DESK)
    except ValidationFailed as exc:
        return _reason(exc)
    except SlotUnavailable as exc:
        return exc.message
    days = _gap_days()
    if service.needles and not needling_gap_ok(start, others, tz, days):
        return f"Less than {days} days from another session of this course."
    day = start.astimezone(tz).date()

    def free(**kwargs) -> bool:
        slots = booking.find_slots(
            service, day, day, practitioner_id=practitioner_id, source=BookingSource.DESK, **kwargs
        )
        return any(slot.start == start for slot in slots)

    if free(patient=patient):
        return ""
    if free():
        return f"Less than {days} days from another of the patient's treatments."
    end = start + timedelta(minutes=service.duration_minutes + service.buffer_after_minutes)
    if _closed(service, start, end):
        return "The clinic is closed then."
    if not _within_hours(service, practitioner_id, start, end, tz):
        return "Outside working hours."
    return "Taken: no practitioner and room are free then."


def _closed(service, start: datetime, end: datetime) -> bool:
    closure = db.session.scalar(
        select(TimeOff.id)
        .where(
            TimeOff.location_id == _location_for(service),
            TimeOff.practitioner_id.is_(None),
            TimeOff.start_at < end,
            TimeOff.end_at > start,
        )
        .limit(1)
    )
    return closure is not None


def _within_hours(service, practitioner_id, start: datetime, end: datetime, tz) -> bool:
    """Whether some practitioner (the chosen one) works the whole of [start, end)."""
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if local_end.date() != local_start.date():
        return False
    for practitioner in booking.practitioners_for(service):
        if practitioner_id is not None and practitioner.id != practitioner_id:
            continue
        for block in practitioner.working_hours:
            ends = block.end_time if block.end_time != time(0) else time.max
            if (
                block.weekday == local_start.weekday()
                and block.start_time <= local_start.time()
                and local_end.time() <= ends
            ):
                return True
    return False


def book_course(request: CourseRequest, staff=None, *, by: Actor | None = None) -> Course:
    """Book every session of the course through the same rules as any booking, all or none.

    A session whose time is not free raises SlotUnavailable naming it (``details["session"]``),
    and nothing is booked. ``request.starts`` (the confirmed preview) books exactly those
    times; without them the plan's series from ``first_start``.
    """
    plan, patient, service, tz = _checked(request)
    by = by or (Actor.staff(staff) if staff is not None else Actor(ActorKind.DESK))
    if request.starts:
        starts = [booking.require_aware(start) for start in request.starts]
        if len(starts) != plan.sessions or starts != sorted(set(starts)):
            raise ValidationFailed(
                {"sessions": ["Preview the course again: its sessions do not match the plan."]}
            )
    else:
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
