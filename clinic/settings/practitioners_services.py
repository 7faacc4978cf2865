"""Practitioners, their weekly hours, their time off, and whole-location closures.

The admin's use cases for who works when. Each runs in one write transaction (the booking lock,
so a booking being made at the same moment sees the week before or after the change, never half
of it), records an audit event in that transaction, and changes rows through the ORM so this
process's availability answers are forgotten on commit (clinic/web/cache.py).

Booked visits are never cancelled or moved here. A change that would leave a patient booked with
nobody (deactivating a practitioner, or moving them to another location, while they have visits
to come) is refused with the visits to move first. A change that only narrows the hours or adds
time off over a booked visit is saved, and the visits it leaves outside are listed for the desk
to move: the visit was agreed with the patient, and only a person can agree a new time.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from clinic import localtime
from clinic.actors import Actor
from clinic.audit import services as audit
from clinic.booking.models import Appointment
from clinic.catalog.models import Location, Practitioner, Service, TimeOff, WorkingHours
from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.errors import ChangeNotAllowed, NotFound, ValidationFailed
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.visits import lifecycle
from clinic.web.formatting import format_when

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Working hours sit on a five-minute grid. The slot engine lays each block's offered starts
# from the block's own start (clinic/booking/slots.py), so any minute would work for it; the
# grid keeps the times patients are offered round and matches how clinics write rotas.
GRID_MINUTES = 5
# A split shift with a lunch break is two blocks; more than four a day is a typing mistake.
MAX_BLOCKS_PER_DAY = 4
# Leave longer than a year is not time off: the practitioner is deactivated instead.
MAX_TIME_OFF_DAYS = 366
# Time off and closures are planned at most this far ahead.
MAX_YEARS_AHEAD = 3
MAX_NAME_CHARS = 120
MAX_REASON_CHARS = 200

Block = tuple[time, time]


# --- errors ---------------------------------------------------------------------------------


class StaleSettings(ChangeNotAllowed):
    """The form was filled in over details someone has since changed."""


class NameTaken(ChangeNotAllowed):
    """Another practitioner at the same location already has the name."""


class VisitsToMove(ChangeNotAllowed):
    """The change would strand booked patients; ``visits`` lists them."""

    def __init__(self, message: str, visits: list[UpcomingVisit]):
        super().__init__(message, details={"visits": [visit.id for visit in visits]})
        self.visits = visits


class OverlappingTimeOff(ChangeNotAllowed):
    """The new time off overlaps time off already recorded for the same person or place."""


# --- what pages read ------------------------------------------------------------------------


@dataclass(frozen=True)
class UpcomingVisit:
    id: int
    start_at: datetime
    end_at: datetime
    status: str
    patient_name: str
    service_name: str
    practitioner_name: str
    timezone: str


@dataclass(frozen=True)
class PractitionerRow:
    practitioner: Practitioner
    hours: list[str]  # "Monday 09:00-17:00", one per working day
    upcoming_visits: int


@dataclass(frozen=True)
class TimeOffEntry:
    entry: TimeOff
    timezone: str
    visits: list[UpcomingVisit]  # booked visits inside it
    place: str = ""  # the location's name

    @property
    def whole_days(self) -> bool:
        """Whether it runs from a local midnight to a local midnight: shown as days."""
        tz = ZoneInfo(self.timezone)
        return all(
            instant.astimezone(tz).time() == time(0)
            for instant in (self.entry.start_at, self.entry.end_at)
        )

    @property
    def first_day(self) -> date:
        return localtime.local_date(self.entry.start_at, ZoneInfo(self.timezone))

    @property
    def last_day(self) -> date:
        last_instant = self.entry.end_at - timedelta(microseconds=1)
        return localtime.local_date(last_instant, ZoneInfo(self.timezone))


@dataclass(frozen=True)
class PractitionerDetails:
    name: str
    location_id: int
    service_ids: frozenset[int]
    active: bool


@dataclass(frozen=True)
class TimeOffInput:
    """Local dates and wall times as typed; ``whole_days`` ignores the times."""

    start_day: date
    end_day: date
    start_time: time | None = None
    end_time: time | None = None
    whole_days: bool = False
    reason: str = ""


def practitioner(practitioner_id: int) -> Practitioner:
    found = db.session.get(
        Practitioner,
        practitioner_id,
        options=[
            selectinload(Practitioner.services),
            selectinload(Practitioner.working_hours),
            selectinload(Practitioner.location),
        ],
    )
    if found is None:
        raise NotFound("No such practitioner.")
    return found


def locations() -> list[Location]:
    return list(db.session.scalars(select(Location).order_by(Location.name, Location.id)))


def services_to_offer(current: Iterable[Service] = ()) -> list[Service]:
    """Active services, and any inactive one the practitioner still offers (so saving the form
    does not silently drop it)."""
    kept = {service.id for service in current}
    query = select(Service).order_by(Service.name, Service.id)
    return [s for s in db.session.scalars(query) if s.active or s.id in kept]


def overview() -> list[PractitionerRow]:
    """Every practitioner, active ones first, with their week and how many visits are to come."""
    now = utcnow()
    counts = dict(
        db.session.execute(
            select(Appointment.practitioner_id, func.count())
            .where(Appointment.end_at > now, Appointment.status.in_(_OPEN))
            .group_by(Appointment.practitioner_id)
        ).all()
    )
    staff = db.session.scalars(
        select(Practitioner)
        .options(
            selectinload(Practitioner.location),
            selectinload(Practitioner.services),
            selectinload(Practitioner.working_hours),
        )
        .order_by(Practitioner.active.desc(), Practitioner.name, Practitioner.id)
    )
    return [
        PractitionerRow(
            member,
            [
                f"{WEEKDAYS[day].capitalize()} {text}"
                for day, text in week_text(week_of(member)).items()
                if text
            ],
            counts.get(member.id, 0),
        )
        for member in staff
    ]


def week_of(member: Practitioner) -> dict[int, list[Block]]:
    week: dict[int, list[Block]] = {day: [] for day in range(7)}
    for block in member.working_hours:
        week[block.weekday].append((block.start_time, block.end_time))
    return {day: sorted(blocks) for day, blocks in week.items()}


def week_text(week: Mapping[int, Sequence[Block]]) -> dict[int, str]:
    """Each weekday's blocks as the hours form writes them: "09:00-13:00, 14:00-17:30"."""
    return {
        day: ", ".join(f"{start:%H:%M}-{end:%H:%M}" for start, end in sorted(week.get(day, ())))
        for day in range(7)
    }


def practitioner_fingerprint(member: Practitioner) -> str:
    services = ",".join(str(i) for i in sorted(service.id for service in member.services))
    return _digest(f"{member.name}|{member.location_id}|{member.active}|{services}")


def hours_fingerprint(member: Practitioner) -> str:
    return _digest(repr(sorted(week_text(week_of(member)).items())))


def _digest(shown: str) -> str:
    return hashlib.sha256(shown.encode("utf-8")).hexdigest()[:32]


# --- practitioners --------------------------------------------------------------------------


def add_practitioner(details: PractitionerDetails, *, by: Actor) -> Practitioner:
    """A new practitioner, with no working hours yet (they are set on the hours page).

    Raises ValidationFailed (fields ``name``, ``location_id``, ``service_ids``), NameTaken.
    """
    with write_transaction():
        location, services = _checked(details)
        _refuse_name_taken(details.name, location.id, other_than=None)
        member = Practitioner(
            name=details.name, location=location, active=details.active, services=services
        )
        db.session.add(member)
        db.session.flush()
        audit.record(
            by,
            "settings.practitioner_added",
            at=utcnow(),
            changes={
                "practitioner_id": (None, member.id),
                "name": (None, member.name),
                "location": (None, location.name),
                "services": (None, _names(services)),
                "active": (None, member.active),
            },
        )
    return member


def change_practitioner(
    practitioner_id: int, details: PractitionerDetails, *, fingerprint: str, by: Actor
) -> dict[str, tuple]:
    """Save the edit form; returns the changed fields as ``{field: (before, after)}``.

    Raises NotFound, StaleSettings, ValidationFailed, NameTaken, and VisitsToMove when the
    practitioner would be deactivated or moved to another location while visits are booked
    with them: those patients would be left booked with nobody (deactivated) or at a place the
    practitioner no longer works (moved), so the desk moves them first.
    """
    with write_transaction():
        member = practitioner(practitioner_id)
        if fingerprint != practitioner_fingerprint(member):
            raise StaleSettings(
                "Someone changed this practitioner while you were editing. The form now shows "
                "their details as saved: make your change again."
            )
        location, services = _checked(details)
        _refuse_name_taken(details.name, location.id, other_than=member.id)
        leaving = member.active and not details.active
        moving = location.id != member.location_id
        if leaving or moving:
            stranded = upcoming_visits(practitioner_id=member.id)
            if stranded:
                doing = "deactivate" if leaving else "move"
                them = "it" if len(stranded) == 1 else "them"
                raise VisitsToMove(
                    f"{member.name} still has {_count(len(stranded), 'booked visit')} to come. "
                    f"Move {them} to another practitioner, or cancel {them}, before you {doing} "
                    f"{member.name}: the patients would otherwise be booked with nobody.",
                    stranded,
                )
        before = {
            "name": member.name,
            "location": member.location.name,
            "services": _names(member.services),
            "active": member.active,
        }
        member.name = details.name
        member.location = location
        member.services = services
        member.active = details.active
        after = {
            "name": member.name,
            "location": location.name,
            "services": _names(services),
            "active": member.active,
        }
        changes = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
        if changes:
            audit.record(
                by,
                "settings.practitioner_changed",
                at=utcnow(),
                changes={"practitioner_id": (member.id, member.id), **changes},
            )
    return changes


def visits_for_services_not_offered(member: Practitioner) -> list[UpcomingVisit]:
    """Booked visits of the practitioner for a service they no longer offer: kept, but the
    desk should find them someone who does."""
    offered = [service.id for service in member.services]
    return upcoming_visits(
        practitioner_id=member.id, extra=[Appointment.service_id.not_in(offered or [0])]
    )


def _checked(details: PractitionerDetails) -> tuple[Location, list[Service]]:
    errors: dict[str, list[str]] = {}
    name = details.name.strip()
    if not name:
        errors["name"] = ["Enter the practitioner's name."]
    elif len(name) > MAX_NAME_CHARS:
        errors["name"] = [f"Shorten the name to {MAX_NAME_CHARS} characters."]
    elif any(unicodedata.category(char)[0] == "C" for char in name):
        errors["name"] = ["Use letters, spaces and punctuation only."]
    location = db.session.get(Location, details.location_id)
    if location is None:
        errors["location_id"] = ["Choose one of the clinic's locations."]
    services = list(
        db.session.scalars(
            select(Service).where(Service.id.in_(details.service_ids)).order_by(Service.id)
        )
    )
    if len(services) != len(details.service_ids):
        errors["service_ids"] = ["One of the services chosen no longer exists: choose again."]
    if errors:
        raise ValidationFailed(errors)
    return location, services


def _refuse_name_taken(name: str, location_id: int, *, other_than: int | None) -> None:
    query = select(Practitioner.id).where(
        Practitioner.location_id == location_id, func.lower(Practitioner.name) == name.lower()
    )
    if other_than is not None:
        query = query.where(Practitioner.id != other_than)
    if db.session.scalar(query.limit(1)) is not None:
        raise NameTaken(
            f"A practitioner called {name} already works at this location: the desk could not "
            "tell them apart. Add something that does, such as a surname or initial."
        )


def _names(services: Iterable[Service]) -> str:
    return ", ".join(sorted(service.name for service in services))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


# --- weekly hours ---------------------------------------------------------------------------


def check_week(week: Mapping[int, Sequence[Block]]) -> dict[str, list[str]]:
    """Field errors (keyed by weekday name) for a week of blocks, or none. Pure.

    A block must start before it ends on the same day, sit on the five-minute grid, not
    overlap another block of the day, and a day holds at most MAX_BLOCKS_PER_DAY blocks.
    Blocks that touch (09:00-12:00, 12:00-17:00) are allowed: the slot engine treats them as
    one stretch of work.
    """
    errors: dict[str, list[str]] = {}
    for day, blocks in week.items():
        if day not in range(7):
            raise ValueError(f"weekday must be 0..6, got {day}")
        problems = []
        if len(blocks) > MAX_BLOCKS_PER_DAY:
            problems.append(f"Give at most {MAX_BLOCKS_PER_DAY} blocks of hours a day.")
        for start, end in blocks:
            if start >= end:
                problems.append(
                    f"{start:%H:%M}-{end:%H:%M} ends before it starts: the end must be later "
                    "on the same day (23:55 at the latest)."
                )
            off_grid = [t for t in (start, end) if t.minute % GRID_MINUTES or t.second]
            if off_grid:
                problems.append(
                    f"Use times on the {GRID_MINUTES}-minute mark, such as 09:00 or 09:05 "
                    f"(not {off_grid[0]:%H:%M})."
                )
        ordered = sorted(blocks)
        for (_, first_end), (second_start, second_end) in zip(ordered, ordered[1:], strict=False):
            if second_start < first_end:
                problems.append(
                    f"{second_start:%H:%M}-{second_end:%H:%M} overlaps the block before it: "
                    "give each stretch of time once."
                )
        if problems:
            errors[WEEKDAYS[day]] = list(dict.fromkeys(problems))
    return errors


def replace_hours(
    practitioner_id: int, week: Mapping[int, Sequence[Block]], *, fingerprint: str, by: Actor
) -> list[UpcomingVisit]:
    """Replace the practitioner's whole week in one transaction.

    Returns the booked visits to come that now fall outside the hours: they are kept, and the
    page lists them for the desk to move. Raises NotFound, StaleSettings, ValidationFailed.
    """
    errors = check_week(week)
    if errors:
        raise ValidationFailed(errors)
    with write_transaction():
        member = practitioner(practitioner_id)
        if fingerprint != hours_fingerprint(member):
            raise StaleSettings(
                "Someone changed these hours while you were editing. The form now shows the "
                "hours as saved: make your change again."
            )
        before = week_text(week_of(member))
        after = week_text(week)
        changes = {
            WEEKDAYS[day]: (before[day] or "not working", after[day] or "not working")
            for day in range(7)
            if before[day] != after[day]
        }
        if changes:
            # Through the relationship (delete-orphan): the ORM deletes and inserts rows, which
            # is what tells this process's availability cache to forget its answers.
            member.working_hours = [
                WorkingHours(weekday=day, start_time=start, end_time=end)
                for day in range(7)
                for start, end in sorted(week.get(day, ()))
            ]
            audit.record(
                by,
                "settings.hours_changed",
                at=utcnow(),
                changes={"practitioner_id": (member.id, member.id), **changes},
            )
    return visits_outside_hours(practitioner_id)


def visits_outside_hours(practitioner_id: int) -> list[UpcomingVisit]:
    """The practitioner's booked visits to come whose time is not inside their weekly hours
    (read in the location's zone through clinic.localtime, as the slot engine reads them)."""
    member = practitioner(practitioner_id)
    tz = ZoneInfo(member.location.timezone)
    week = week_of(member)
    return [
        visit
        for visit in upcoming_visits(practitioner_id=member.id)
        if not inside_hours(visit.start_at, visit.end_at, week, tz)
    ]


def inside_hours(
    start: datetime, end: datetime, week: Mapping[int, Sequence[Block]], tz: ZoneInfo
) -> bool:
    """Whether ``[start, end)`` lies inside one stretch of the week's working time. Pure.

    Blocks never cross local midnight (the database keeps start before end), so only the
    blocks of the local days the visit touches can hold it; touching blocks are one stretch.
    """
    first = localtime.local_date(start, tz)
    last = localtime.local_date(end - timedelta(microseconds=1), tz)
    stretches: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        for block_start, block_end in week.get(day.weekday(), ()):
            stretches.append(
                (localtime.to_utc(day, block_start, tz), localtime.to_utc(day, block_end, tz))
            )
        day += timedelta(days=1)
    stretches.sort()
    merged: list[list[datetime]] = []
    for stretch_start, stretch_end in stretches:
        if merged and stretch_start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stretch_end)
        else:
            merged.append([stretch_start, stretch_end])
    return any(low <= start and end <= high for low, high in merged)


# --- time off and closures ------------------------------------------------------------------


def time_off_span(entry: TimeOffInput, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants a local time-off form names. Pure.

    Whole days run from the local midnight starting the first day to the one ending the last
    (23 or 25 hours on a daylight-saving change day). Wall times follow clinic.localtime's
    rule: a time the clocks skip moves forward by the gap; a repeated time is its first
    occurrence.
    """
    if entry.whole_days:
        return (
            localtime.day_bounds(entry.start_day, tz)[0],
            localtime.day_bounds(entry.end_day, tz)[1],
        )
    if entry.start_time is None or entry.end_time is None:
        raise ValueError("a time-off span names its times unless it is whole days")
    return (
        localtime.to_utc(entry.start_day, entry.start_time, tz),
        localtime.to_utc(entry.end_day, entry.end_time, tz),
    )


def add_time_off(
    practitioner_id: int, entry: TimeOffInput, *, by: Actor
) -> tuple[TimeOff, list[UpcomingVisit]]:
    """Record the practitioner's time off; returns it with the booked visits inside it (kept,
    for the desk to move). Raises NotFound, ValidationFailed, OverlappingTimeOff."""
    with write_transaction():
        member = practitioner(practitioner_id)
        off = _add_span(member.location, member.id, entry, "settings.time_off_added", by)
    return off, upcoming_visits(practitioner_id=member.id, overlapping=(off.start_at, off.end_at))


def add_closure(
    location_id: int | None, entry: TimeOffInput, *, by: Actor
) -> tuple[TimeOff, list[UpcomingVisit]]:
    """Close a whole location; returns the closure with the booked visits inside it.
    Raises ValidationFailed (``location_id`` and the time fields), OverlappingTimeOff."""
    with write_transaction():
        location = db.session.get(Location, location_id) if location_id else None
        if location is None:
            raise ValidationFailed({"location_id": ["Choose one of the clinic's locations."]})
        closure = _add_span(location, None, entry, "settings.closure_added", by)
    return closure, upcoming_visits(
        location_id=location.id, overlapping=(closure.start_at, closure.end_at)
    )


def _add_span(
    location: Location, practitioner_id: int | None, entry: TimeOffInput, action: str, by: Actor
) -> TimeOff:
    """Check and add one entry of time off (a closure when ``practitioner_id`` is None), with
    its audit row, in the caller's transaction."""
    tz = ZoneInfo(location.timezone)
    start, end = _checked_span(entry, tz)
    _refuse_overlap(location.id, practitioner_id, start, end, tz)
    off = TimeOff(
        location_id=location.id,
        practitioner_id=practitioner_id,
        start_at=start,
        end_at=end,
        reason=entry.reason.strip(),
    )
    db.session.add(off)
    db.session.flush()
    audit.record(by, action, at=utcnow(), changes=_time_off_changes(off, added=True))
    return off


def remove_time_off(practitioner_id: int, time_off_id: int, *, by: Actor) -> None:
    """Remove one entry of the practitioner's time off. Raises NotFound for an entry of
    someone else or a closure, StaleSettings for one already removed."""
    with write_transaction():
        member = practitioner(practitioner_id)
        off = db.session.get(TimeOff, time_off_id)
        if off is None:
            raise StaleSettings("That time off was already removed.")
        if off.practitioner_id != member.id:
            raise NotFound("No such time off for this practitioner.")
        _remove_span(off, "settings.time_off_removed", by)


def remove_closure(closure_id: int, *, by: Actor) -> None:
    """Reopen a location: remove a closure. Raises NotFound for a practitioner's time off,
    StaleSettings for a closure already removed."""
    with write_transaction():
        closure = db.session.get(TimeOff, closure_id)
        if closure is None:
            raise StaleSettings("That closure was already removed.")
        if closure.practitioner_id is not None:
            raise NotFound("No such closure.")
        _remove_span(closure, "settings.closure_removed", by)


def _remove_span(off: TimeOff, action: str, by: Actor) -> None:
    audit.record(by, action, at=utcnow(), changes=_time_off_changes(off, added=False))
    db.session.delete(off)


def upcoming_time_off(practitioner_id: int) -> list[TimeOffEntry]:
    member = practitioner(practitioner_id)
    entries = db.session.scalars(
        select(TimeOff)
        .where(TimeOff.practitioner_id == member.id, TimeOff.end_at > utcnow())
        .order_by(TimeOff.start_at, TimeOff.id)
    )
    return [
        TimeOffEntry(
            entry,
            member.location.timezone,
            upcoming_visits(practitioner_id=member.id, overlapping=(entry.start_at, entry.end_at)),
        )
        for entry in entries
    ]


def upcoming_closures() -> list[TimeOffEntry]:
    entries = db.session.execute(
        select(TimeOff, Location.timezone, Location.name)
        .join(Location, Location.id == TimeOff.location_id)
        .where(TimeOff.practitioner_id.is_(None), TimeOff.end_at > utcnow())
        .order_by(TimeOff.start_at, TimeOff.id)
    ).all()
    return [
        TimeOffEntry(
            entry,
            zone,
            upcoming_visits(
                location_id=entry.location_id, overlapping=(entry.start_at, entry.end_at)
            ),
            place,
        )
        for entry, zone, place in entries
    ]


def _checked_span(entry: TimeOffInput, tz: ZoneInfo) -> tuple[datetime, datetime]:
    errors: dict[str, list[str]] = {}
    if len(entry.reason.strip()) > MAX_REASON_CHARS:
        errors["reason"] = [f"Shorten the reason to {MAX_REASON_CHARS} characters."]
    # Dates far from today are typing mistakes (year 9999 would not even have a next day).
    today = localtime.local_date(utcnow(), tz)
    earliest = today - timedelta(days=366)
    latest = today + timedelta(days=MAX_YEARS_AHEAD * 366)
    for name in ("start_day", "end_day"):
        if not earliest <= getattr(entry, name) <= latest:
            errors[name] = [f"Enter a date from now to {MAX_YEARS_AHEAD} years ahead."]
    if "start_day" in errors or "end_day" in errors:
        raise ValidationFailed(errors)
    start, end = time_off_span(entry, tz)
    end_field = "end_day" if entry.whole_days or entry.end_day < entry.start_day else "end_time"
    if end <= start:
        errors[end_field] = ["The end must be after the start."]
    elif end <= utcnow():
        errors[end_field] = ["This ends in the past: enter time off still to come."]
    elif end - start > timedelta(days=MAX_TIME_OFF_DAYS):
        errors["end_day"] = [
            f"Enter at most {MAX_TIME_OFF_DAYS} days at a time. For a longer absence, "
            "deactivate the practitioner instead."
        ]
    if errors:
        raise ValidationFailed(errors)
    return start, end


def _refuse_overlap(
    location_id: int, practitioner_id: int | None, start: datetime, end: datetime, tz: ZoneInfo
) -> None:
    """Two entries over the same time would make removing one of them do nothing visible,
    and a form sent twice would record it twice."""
    query = select(TimeOff).where(
        TimeOff.location_id == location_id, TimeOff.start_at < end, TimeOff.end_at > start
    )
    if practitioner_id is None:
        query = query.where(TimeOff.practitioner_id.is_(None))
    else:
        query = query.where(TimeOff.practitioner_id == practitioner_id)
    clash = db.session.scalars(query.order_by(TimeOff.start_at).limit(1)).first()
    if clash is not None:
        what = "closure" if practitioner_id is None else "time off"
        raise OverlappingTimeOff(
            f"This overlaps {what} already recorded, from {_local(clash.start_at, tz)} to "
            f"{_local(clash.end_at, tz)}. Remove that one first, or enter only the time it "
            "does not cover."
        )


def _local(instant: datetime, tz: ZoneInfo) -> str:
    return format_when(instant, tz)


def _time_off_changes(entry: TimeOff, *, added: bool) -> dict[str, tuple]:
    values = {
        "time_off_id": entry.id,
        "location_id": entry.location_id,
        "practitioner_id": entry.practitioner_id,
        "start_at": entry.start_at,
        "end_at": entry.end_at,
        "reason": entry.reason,
    }
    if entry.practitioner_id is None:
        del values["practitioner_id"]  # a closure: the whole location
    return {key: (None, value) if added else (value, None) for key, value in values.items()}


# --- booked visits to come ------------------------------------------------------------------

# Visits that still hold their time and have not happened: the ones a change can strand.
_OPEN = sorted(lifecycle.OPEN)


def upcoming_visits(
    *,
    practitioner_id: int | None = None,
    location_id: int | None = None,
    overlapping: tuple[datetime, datetime] | None = None,
    extra: Sequence = (),
) -> list[UpcomingVisit]:
    """Booked visits not yet over (checked in included), earliest first."""
    query = (
        select(
            Appointment.id,
            Appointment.start_at,
            Appointment.end_at,
            Appointment.status,
            Patient.full_name,
            Service.name,
            Practitioner.name,
            Location.timezone,
        )
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Service, Service.id == Appointment.service_id)
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .join(Location, Location.id == Appointment.location_id)
        .where(Appointment.end_at > utcnow(), Appointment.status.in_(_OPEN), *extra)
        .order_by(Appointment.start_at, Appointment.id)
    )
    if practitioner_id is not None:
        query = query.where(Appointment.practitioner_id == practitioner_id)
    if location_id is not None:
        query = query.where(Appointment.location_id == location_id)
    if overlapping is not None:
        start, end = overlapping
        query = query.where(Appointment.start_at < end, Appointment.end_at > start)
    return [UpcomingVisit(*row) for row in db.session.execute(query).all()]
