"""The availability engine: which (start, practitioner, room) combinations can be booked.

Everything here is pure. Callers pass the calendars, the policy and ``now`` in as plain values,
so the rules can be tested without an app, a database or a clock.

Working hours are wall-clock times in the location's zone, while busy time, closures and the
returned slots are absolute instants. Candidate starts are laid out in absolute time from each
working block's real start, so days with a daylight-saving change get their true 23 or 25 hours.
Wall time becomes UTC through clinic.localtime: a working block covers the instants whose clock
reading falls inside it, so a block starting in a spring-forward gap begins at the change.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic import localtime

__all__ = [
    "BookingPolicy",
    "Interval",
    "PractitionerCalendar",
    "RoomCalendar",
    "Slot",
    "WorkingBlock",
    "bookable_slots",
    "local_day_bounds",
    "needling_gap_ok",
]


@dataclass(frozen=True)
class Interval:
    """Half-open ``[start, end)`` between two aware datetimes."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class WorkingBlock:
    """Wall-clock working hours in the location's zone; ``weekday`` 0 is Monday.

    ``end == time(0)`` means the midnight that ends the day, since ``time`` cannot say 24:00.
    """

    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class PractitionerCalendar:
    practitioner_id: int
    working: tuple[WorkingBlock, ...]
    # Existing appointments' blocking windows [start, end + buffer) and personal time off.
    # Unsorted and possibly overlapping.
    busy: tuple[Interval, ...] = ()


@dataclass(frozen=True)
class RoomCalendar:
    room_id: int
    busy: tuple[Interval, ...] = ()


@dataclass(frozen=True)
class BookingPolicy:
    min_notice: timedelta = timedelta(hours=2)
    horizon: timedelta = timedelta(days=90)
    step: timedelta = timedelta(minutes=15)
    needling_gap_days: int = 7


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware UTC
    end: datetime  # start + duration: what the patient sees
    blocked_until: datetime  # end + buffer_after: practitioner and room are busy until then
    practitioner_id: int
    room_id: int


def bookable_slots(
    *,
    now: datetime,
    tz: ZoneInfo,
    first_day: date,
    last_day: date,
    duration: timedelta,
    buffer_after: timedelta,
    practitioners: Sequence[PractitionerCalendar],
    rooms: Sequence[RoomCalendar],
    closures: Sequence[Interval] = (),
    policy: BookingPolicy = BookingPolicy(),
    needling: bool = False,
    patient_needling_starts: Sequence[datetime] = (),
) -> list[Slot]:
    """Every bookable (start, practitioner) pair on the local days ``first_day..last_day``.

    Each slot carries the first room, in the order ``rooms`` was given, that is free for the
    whole session including the cleanup buffer. Slots are sorted by (start, practitioner_id).
    """
    _require_aware(now, "now")
    if last_day < first_day:
        raise ValueError("last_day is before first_day")
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    if buffer_after < timedelta(0):
        raise ValueError("buffer_after must not be negative")
    if policy.step <= timedelta(0):
        raise ValueError("policy.step must be positive")
    if not rooms or not practitioners:
        return []

    earliest = now + policy.min_notice
    latest = now + policy.horizon
    # Only days that can hold a start inside the notice..horizon range cost anything, so a
    # wide request range (or a patient asking about next year) stays cheap.
    first_day = max(first_day, _local_date(earliest, tz))
    last_day = min(last_day, _local_date(latest, tz))
    if last_day < first_day:
        return []
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    if needling:
        # The rule looks only at the local date of a start, so whole days pass or fail together.
        days = [
            day
            for day in days
            if needling_gap_ok(
                local_day_bounds(day, tz).start,
                patient_needling_starts,
                tz,
                policy.needling_gap_days,
            )
        ]
    if not days:
        return []

    # Busy time far outside the window (the whole appointment history) is dropped before
    # sorting, so the cost follows the window rather than how long the clinic has existed.
    window = Interval(local_day_bounds(days[0], tz).start, local_day_bounds(days[-1], tz).end)
    closed = _Timeline(closures, window)
    room_timelines = [(room.room_id, _Timeline(room.busy, window)) for room in rooms]
    occupied = duration + buffer_after

    found: dict[tuple[datetime, int], Slot] = {}
    for calendar in practitioners:
        busy = _Timeline(calendar.busy, window)
        blocks = _working_intervals(calendar.working, days, tz)
        # Touching or overlapping blocks are one stretch of work, so a session may run across
        # the seam; starts still come from each block's own grid.
        stretches = _Timeline(blocks, window)
        for block in blocks:
            stretch_end = stretches.end_of_stretch_containing(block.start)
            start = block.start + _steps_until(block.start, earliest, policy.step) * policy.step
            while start < block.end and start <= latest:
                blocked_until = start + occupied
                if blocked_until > stretch_end:
                    break
                key = (start, calendar.practitioner_id)
                if (
                    key not in found
                    and busy.is_free(start, blocked_until)
                    and closed.is_free(start, blocked_until)
                ):
                    room_id = _first_free_room(room_timelines, start, blocked_until)
                    if room_id is not None:
                        found[key] = Slot(
                            start=start,
                            end=start + duration,
                            blocked_until=blocked_until,
                            practitioner_id=calendar.practitioner_id,
                            room_id=room_id,
                        )
                start += policy.step
    return [found[key] for key in sorted(found)]


def needling_gap_ok(
    start: datetime, other_starts: Sequence[datetime], tz: ZoneInfo, gap_days: int
) -> bool:
    """True when ``start`` is at least ``gap_days`` local calendar days from every other start.

    Calendar days rather than elapsed hours, so the same weekday a week later is allowed even
    when a daylight-saving change makes that week 167 or 169 hours long.
    """
    day = _local_date(_require_aware(start, "start"), tz)
    return all(
        abs((day - _local_date(_require_aware(other, "other_starts"), tz)).days) >= gap_days
        for other in other_starts
    )


def local_day_bounds(day: date, tz: ZoneInfo) -> Interval:
    """UTC instants of the local midnight starting ``day`` and the one ending it.

    The interval is 23 or 25 hours long on daylight-saving change days.
    """
    return Interval(*localtime.day_bounds(day, tz))


class _Timeline:
    """Busy time as sorted, disjoint intervals, answering overlap questions by bisection."""

    def __init__(self, intervals: Iterable[Interval], window: Interval):
        pairs = (
            (_require_aware(i.start, "interval start"), _require_aware(i.end, "interval end"))
            for i in intervals
        )
        relevant = sorted(
            (start, end)
            for start, end in pairs
            if start < end and end > window.start and start < window.end
        )
        starts: list[datetime] = []
        ends: list[datetime] = []
        for start, end in relevant:
            # Merging touching intervals too keeps "the last interval starting at or before t"
            # the only one that can contain t.
            if ends and start <= ends[-1]:
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        self._starts = starts
        self._ends = ends

    def is_free(self, start: datetime, end: datetime) -> bool:
        """True when nothing overlaps the half-open ``[start, end)``."""
        i = bisect_right(self._starts, start) - 1
        if i >= 0 and self._ends[i] > start:
            return False
        following = i + 1
        return following == len(self._starts) or self._starts[following] >= end

    def end_of_stretch_containing(self, instant: datetime) -> datetime:
        i = bisect_right(self._starts, instant) - 1
        return self._ends[i]


def _working_intervals(
    working: Iterable[WorkingBlock], days: Sequence[date], tz: ZoneInfo
) -> list[Interval]:
    by_weekday: dict[int, list[WorkingBlock]] = {}
    for block in working:
        _check_block(block)
        by_weekday.setdefault(block.weekday, []).append(block)
    intervals = []
    for day in days:
        for block in by_weekday.get(day.weekday(), ()):
            end_day = day + timedelta(days=1) if block.end == time(0) else day
            # The one rule of clinic.localtime: a bound the clocks skip moves forward by the gap.
            start = localtime.to_utc(day, block.start, tz)
            end = localtime.to_utc(end_day, block.end, tz)
            if start < end:
                intervals.append(Interval(start, end))
    return intervals


def _check_block(block: WorkingBlock) -> None:
    if not 0 <= block.weekday <= 6:
        raise ValueError(f"weekday must be 0..6, got {block.weekday}")
    if block.start.tzinfo is not None or block.end.tzinfo is not None:
        raise ValueError("working hours are local wall-clock times and must be naive")
    if block.end != time(0) and block.end <= block.start:
        raise ValueError(f"working block ends before it starts: {block}")


def _first_free_room(
    rooms: Sequence[tuple[int, _Timeline]], start: datetime, end: datetime
) -> int | None:
    for room_id, timeline in rooms:
        if timeline.is_free(start, end):
            return room_id
    return None


def _steps_until(origin: datetime, target: datetime, step: timedelta) -> int:
    """The smallest k >= 0 with origin + k * step >= target."""
    if target <= origin:
        return 0
    return -((origin - target) // step)


def _local_date(instant: datetime, tz: ZoneInfo) -> date:
    return localtime.local_date(instant, tz)


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a time-zone aware datetime")
    return value
