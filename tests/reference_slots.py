"""The availability engine as it was before it worked on integer intervals: the reference the
property tests compare clinic.booking.slots against.

A plain, obviously-correct walk over every candidate start, one Python object per check. Kept
as it was (only renamed), so any answer the fast engine gives differently is the fast engine's
doing. A helper module, not a test module.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic import localtime
from clinic.booking.slots import (
    BookingPolicy,
    Interval,
    PractitionerCalendar,
    RoomCalendar,
    Slot,
    WorkingBlock,
    local_day_bounds,
    needling_gap_ok,
)

__all__ = ["reference_bookable_slots"]

DEFAULT_POLICY = BookingPolicy()


def reference_bookable_slots(
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
    policy: BookingPolicy = DEFAULT_POLICY,
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
