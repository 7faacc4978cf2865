"""What the desk calendar reads: a day or a week of one location, in a fixed number of queries.

However many visits the day holds, the page costs the same statements: the location and its
people, the visits with their patient, service, practitioner and room in one join, and every
flag read in bulk for all of them at once (tests/test_calendar.py counts them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from clinic.booking.models import Appointment, AppointmentStatus
from clinic.calendar import grid
from clinic.catalog.models import INGREDIENTS, Location, Practitioner, Room, Service, TimeOff
from clinic.clock import utcnow
from clinic.consent import services as consent_services
from clinic.consent.models import SignedConsent
from clinic.errors import NotFound
from clinic.extensions import db
from clinic.localtime import day_bounds
from clinic.patients import phones
from clinic.patients.models import Patient
from clinic.screening import questions
from clinic.screening.models import Screening
from clinic.screening.rules import ServiceProfile, questions_for
from clinic.sms.models import SmsSuppression, StaffAlert
from clinic.visits import lifecycle

# No visit lasts longer than this: the look-back that finds one started the evening before.
LONGEST_BLOCK = timedelta(hours=12)
DAY, WEEK = "day", "week"
BY_PRACTITIONER, BY_ROOM = "practitioner", "room"

# A block's flags, in the order they are shown; the words are what the desk reads.
FLAG_LABELS = {
    "needs_review": "Needs review",
    "consent_missing": "Consent missing",
    "screening_missing": "Screening missing or expired",
    "open_alert": "Open alert",
    "first_visit": "First visit",
    "no_texts": "No texts",
}


@dataclass(frozen=True)
class CalendarRequest:
    day: date
    view: str = DAY
    by: str = BY_PRACTITIONER
    location_id: int | None = None
    practitioner_id: int | None = None
    room_id: int | None = None


@dataclass(frozen=True)
class Calendar:
    request: CalendarRequest
    today: date
    first_day: date
    last_day: date
    tz: ZoneInfo
    location: Location | None
    locations: list[Location]
    practitioners: list[Practitioner]
    rooms: list[Room]
    practitioner: Practitioner | None  # the week view's practitioner
    room: Room | None  # the week view's room
    grid: grid.Grid


def calendar(request: CalendarRequest) -> Calendar:
    """The calendar page's facts; NotFound for a location, practitioner or room id no row has."""
    locations = list(db.session.scalars(select(Location).order_by(Location.id)))
    practitioner = room = None
    if request.practitioner_id is not None:
        practitioner = db.session.get(Practitioner, request.practitioner_id)
        if practitioner is None:
            raise NotFound("No such practitioner.")
    if request.room_id is not None:
        room = db.session.get(Room, request.room_id)
        if room is None:
            raise NotFound("No such room.")
    location = _location(request, locations, practitioner or room)
    tz = ZoneInfo(location.timezone if location else current_app.config["CLINIC_TIMEZONE"])
    now = utcnow()
    today = now.astimezone(tz).date()
    week = request.view == WEEK
    first_day = request.day - timedelta(days=request.day.weekday()) if week else request.day
    last_day = first_day + timedelta(days=6) if week else first_day
    start, _ = day_bounds(first_day, tz)
    _, end = day_bounds(last_day, tz)

    # Columns show who can be booked, plus anyone (or any room) made inactive since who still
    # holds a visit in these days: a visit never drops out of the calendar. Only the active
    # are offered for booking.
    shown_practitioners = _practitioners(location, start, end)
    shown_rooms = _rooms(location, start, end)
    practitioners = [p for p in shown_practitioners if p.active]
    rooms = [r for r in shown_rooms if r.active]
    visits = _visits(location, start, end)
    personal_off, closures = _time_off(location, start, end)
    facts = _facts(visits, now)

    if week:
        if practitioner is None and room is None and request.by == BY_ROOM and rooms:
            room = rooms[0]
        if practitioner is None and room is None and practitioners:
            practitioner = practitioners[0]
        columns = _practitioner_columns(
            [practitioner] if practitioner else [], practitioners, facts, personal_off
        )
        if room is not None:
            columns = _room_columns([room], practitioners, facts, personal_off)
        column = columns[0] if columns else grid.Column(0, "")
        layout = grid.week_grid(
            first_day=first_day, tz=tz, now=now, column=column, closures=closures
        )
    else:
        if request.by == BY_ROOM:
            columns = _room_columns(shown_rooms, practitioners, facts, personal_off)
        else:
            columns = _practitioner_columns(shown_practitioners, practitioners, facts, personal_off)
        layout = grid.day_grid(day=first_day, tz=tz, now=now, columns=columns, closures=closures)
    return Calendar(
        request=request,
        today=today,
        first_day=first_day,
        last_day=last_day,
        tz=tz,
        location=location,
        locations=locations,
        practitioners=practitioners,
        rooms=rooms,
        practitioner=practitioner,
        room=room,
        grid=layout,
    )


def _location(request, locations, chosen) -> Location | None:
    if chosen is not None:
        if request.location_id is not None and request.location_id != chosen.location_id:
            raise NotFound("That practitioner or room works at another location.")
        return next(loc for loc in locations if loc.id == chosen.location_id)
    if request.location_id is not None:
        found = next((loc for loc in locations if loc.id == request.location_id), None)
        if found is None:
            raise NotFound("No such location.")
        return found
    return locations[0] if locations else None


def _holding(column, location_id, start: datetime, end: datetime):
    """The ids in ``column`` of the visits in the window: one subquery, so the read stays one
    statement whatever is inactive."""
    return select(column).where(
        Appointment.location_id == location_id,
        Appointment.start_at >= start - LONGEST_BLOCK,
        Appointment.start_at < end,
        Appointment.end_at > start,
    )


def _practitioners(location, start: datetime, end: datetime) -> list[Practitioner]:
    """The location's active practitioners, and inactive ones with a visit in the window."""
    location_id = location.id if location else None
    holding = _holding(Appointment.practitioner_id, location_id, start, end)
    return list(
        db.session.scalars(
            select(Practitioner)
            .where(
                Practitioner.location_id == location_id,
                or_(Practitioner.active, Practitioner.id.in_(holding)),
            )
            .options(selectinload(Practitioner.working_hours))
            .order_by(Practitioner.active.desc(), Practitioner.id)
        )
    )


def _rooms(location, start: datetime, end: datetime) -> list[Room]:
    """The location's active rooms, and inactive ones with a visit in the window."""
    location_id = location.id if location else None
    holding = _holding(Appointment.room_id, location_id, start, end)
    return list(
        db.session.scalars(
            select(Room)
            .where(Room.location_id == location_id, or_(Room.active, Room.id.in_(holding)))
            .order_by(Room.active.desc(), Room.id)
        )
    )


class _Visit(NamedTuple):
    """The columns of a visit, its patient, service, practitioner and room the calendar reads:
    one plain row each, no ORM objects to build for forty visits."""

    id: int
    start_at: datetime
    end_at: datetime
    blocked_until: datetime
    status: str
    needles: bool
    patient_id: int
    course_id: int | None
    practitioner_id: int
    room_id: int
    patient_name: str
    phone: str
    sms_opt_in: bool
    phone_unusable: bool
    service_name: str
    service_needles: bool
    ingredients: tuple[str, ...]
    practitioner_name: str
    room_name: str


_INGREDIENT_COLUMNS = tuple(getattr(Service, f"uses_{name}") for name in INGREDIENTS)


def _visits(location, start: datetime, end: datetime) -> list[_Visit]:
    location_id = location.id if location else None
    rows = db.session.execute(
        select(
            Appointment.id,
            Appointment.start_at,
            Appointment.end_at,
            Appointment.blocked_until,
            Appointment.status,
            Appointment.needles,
            Appointment.patient_id,
            Appointment.course_id,
            Appointment.practitioner_id,
            Appointment.room_id,
            Patient.full_name,
            Patient.phone,
            Patient.sms_opt_in,
            Patient.phone_unusable,
            Service.name,
            Service.needles,
            *_INGREDIENT_COLUMNS,
            Practitioner.name,
            Room.name,
        )
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Service, Service.id == Appointment.service_id)
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .join(Room, Room.id == Appointment.room_id)
        .where(
            Appointment.location_id == location_id,
            Appointment.start_at >= start - LONGEST_BLOCK,
            Appointment.start_at < end,
            Appointment.end_at > start,
        )
        .order_by(Appointment.start_at, Appointment.id)
    )
    visits = []
    split = 16  # the columns before the service's ingredient flags
    after = split + len(INGREDIENTS)
    for row in rows:
        uses = row[split:after]
        ingredients = tuple(name for name, used in zip(INGREDIENTS, uses, strict=True) if used)
        visits.append(_Visit(*row[:split], ingredients, *row[after:]))
    return visits


def _time_off(location, start, end):
    location_id = location.id if location else None
    personal: dict[int, list[grid.Span]] = defaultdict(list)
    closures: list[grid.Span] = []
    for entry in db.session.scalars(
        select(TimeOff).where(
            TimeOff.location_id == location_id, TimeOff.end_at > start, TimeOff.start_at < end
        )
    ):
        span = grid.Span(entry.start_at, entry.end_at)
        if entry.practitioner_id is None:
            closures.append(span)
        else:
            personal[entry.practitioner_id].append(span)
    return personal, closures


def today() -> date:
    """The clinic's local date now, in the clinic's own zone."""
    return utcnow().astimezone(ZoneInfo(current_app.config["CLINIC_TIMEZONE"])).date()


# --- flags, in bulk ------------------------------------------------------------------------


def _facts(visits: list[_Visit], now: datetime) -> list[grid.VisitFacts]:
    flags = visit_flags(visits, now)
    return [
        grid.VisitFacts(
            id=visit.id,
            start=visit.start_at,
            end=visit.end_at,
            blocked_until=visit.blocked_until,
            patient_name=visit.patient_name,
            service_name=visit.service_name,
            status=visit.status,
            practitioner_id=visit.practitioner_id,
            practitioner_name=visit.practitioner_name,
            room_id=visit.room_id,
            room_name=visit.room_name,
            active=visit.status not in lifecycle.RELEASED,
            flags=flags[visit.id],
        )
        for visit in visits
    ]


def visit_flags(visits: list[_Visit], now: datetime) -> dict[int, tuple[str, ...]]:
    """Each visit's flags (keys of FLAG_LABELS), read for all the visits at once: the same
    statements for two visits as for forty."""
    patient_ids = {v.patient_id for v in visits}
    course_ids = {v.course_id for v in visits if v.course_id is not None}

    consents = db.session.execute(
        select(SignedConsent.patient_id, SignedConsent.course_id).where(
            SignedConsent.patient_id.in_(patient_ids),
            SignedConsent.form_version == consent_services.current_version(),
        )
    ).all()
    signed_patients = {patient_id for patient_id, _ in consents}
    signed_courses = {(patient_id, course_id) for patient_id, course_id in consents}

    sessions_by_course: dict[int, set[int]] = defaultdict(set)
    for appointment_id, course_id in db.session.execute(
        select(Appointment.id, Appointment.course_id).where(Appointment.course_id.in_(course_ids))
    ):
        sessions_by_course[course_id].add(appointment_id)

    covered = {
        v.id: sessions_by_course[v.course_id] if v.course_id is not None else {v.id} for v in visits
    }
    valid_days = timedelta(days=current_app.config["SCREENING_VALID_DAYS"])
    earliest = min((v.start_at for v in visits), default=now) - valid_days
    screenings = db.session.execute(
        select(
            Screening.patient_id, Screening.appointment_id, Screening.asked, Screening.created_at
        ).where(
            Screening.patient_id.in_(patient_ids),
            Screening.appointment_id.in_(set().union(*covered.values())),
            Screening.questionnaire_version == questions.CURRENT_VERSION,
            Screening.created_at >= earliest,
        )
    ).all()

    open_alerts = set(
        db.session.scalars(
            select(StaffAlert.patient_id).where(
                StaffAlert.patient_id.in_(patient_ids),
                StaffAlert.acknowledged_at.is_(None),
                StaffAlert.inbound_id.is_not(None),
            )
        )
    )
    first_completed = dict(
        db.session.execute(
            select(Appointment.patient_id, func.min(Appointment.start_at))
            .where(
                Appointment.patient_id.in_(patient_ids),
                Appointment.status == AppointmentStatus.COMPLETED,
            )
            .group_by(Appointment.patient_id)
        ).all()
    )
    suppressed = set(
        db.session.scalars(
            select(SmsSuppression.phone).where(SmsSuppression.phone.in_({v.phone for v in visits}))
        )
    )
    allowed = current_app.config["SMS_ALLOWED_COUNTRIES"]
    current_questions = questions.current()
    needed_by_profile: dict[ServiceProfile, set[str]] = {}

    flags: dict[int, tuple[str, ...]] = {}
    for visit in visits:
        found = []
        is_open = visit.status in lifecycle.OPEN
        if visit.status == AppointmentStatus.NEEDS_REVIEW:
            found.append("needs_review")
        if is_open and visit.needles:
            consented = (
                (visit.patient_id, visit.course_id) in signed_courses
                if visit.course_id is not None
                else visit.patient_id in signed_patients
            )
            if not consented:
                found.append("consent_missing")
            profile = ServiceProfile(
                needles=bool(visit.service_needles), ingredients=visit.ingredients
            )
            if profile not in needed_by_profile:
                needed_by_profile[profile] = {
                    q.key for q in questions_for(current_questions, profile)
                }
            needed = needed_by_profile[profile]
            screened = any(
                patient_id == visit.patient_id
                and appointment_id in covered[visit.id]
                and created_at >= visit.start_at - valid_days
                and needed <= set(asked)
                for patient_id, appointment_id, asked, created_at in screenings
            )
            if not screened:
                found.append("screening_missing")
        if visit.patient_id in open_alerts:
            found.append("open_alert")
        first = first_completed.get(visit.patient_id)
        if first is None or first >= visit.start_at:
            found.append("first_visit")
        if (
            not visit.sms_opt_in
            or visit.phone_unusable
            or visit.phone in suppressed
            or not phones.may_text(visit.phone, allowed)
        ):
            found.append("no_texts")
        flags[visit.id] = tuple(found)
    return flags


# --- columns --------------------------------------------------------------------------------


def _hours(practitioner: Practitioner) -> tuple[grid.Hours, ...]:
    return tuple(
        grid.Hours(h.weekday, h.start_time, h.end_time) for h in practitioner.working_hours
    )


def _bookers(practitioners, facts, personal_off) -> dict[int, grid.Booker]:
    busy: dict[int, list[grid.Span]] = defaultdict(list)
    for visit in facts:
        if visit.active:
            busy[visit.practitioner_id].append(grid.Span(visit.start, visit.blocked_until))
    return {
        p.id: grid.Booker(p.id, _hours(p), tuple(busy[p.id] + personal_off[p.id]))
        for p in practitioners
    }


def _practitioner_columns(shown, practitioners, facts, personal_off) -> list[grid.Column]:
    bookers = _bookers(practitioners, facts, personal_off)
    return [
        grid.Column(
            key=p.id,
            label=p.name if p.active else f"{p.name} (inactive)",
            visits=tuple(v for v in facts if v.practitioner_id == p.id),
            off=tuple(personal_off[p.id]),
            bookers=(bookers[p.id],) if p.id in bookers else (),
        )
        for p in shown
    ]


def _room_columns(rooms, practitioners, facts, personal_off) -> list[grid.Column]:
    bookers = tuple(_bookers(practitioners, facts, personal_off).values())
    return [
        grid.Column(
            key=room.id,
            label=room.name if room.active else f"{room.name} (inactive)",
            visits=tuple(v for v in facts if v.room_id == room.id),
            # An inactive room takes no bookings: its column only shows what it held.
            bookers=bookers if room.active else (),
            room_id=room.id,
        )
        for room in rooms
    ]
