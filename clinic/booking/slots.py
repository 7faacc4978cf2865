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

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain, compress
from zoneinfo import ZoneInfo

from clinic import localtime

__all__ = [
    "BookingPolicy",
    "Busy",
    "Interval",
    "PractitionerCalendar",
    "RoomCalendar",
    "Slot",
    "SlotTable",
    "WorkingBlock",
    "bookable_slots",
    "from_micros",
    "local_day_bounds",
    "micros",
    "needling_gap_ok",
    "slot_table",
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


# Busy time is an Interval, or the same as a pair of integers (micros() of its start and end)
# from a caller that has them already: the engine computes on those.
Busy = Interval | tuple[int, int]


@dataclass(frozen=True)
class PractitionerCalendar:
    practitioner_id: int
    working: tuple[WorkingBlock, ...]
    # Existing appointments' blocking windows [start, end + buffer) and personal time off.
    # Unsorted and possibly overlapping.
    busy: tuple[Busy, ...] = ()


@dataclass(frozen=True)
class RoomCalendar:
    room_id: int
    busy: tuple[Busy, ...] = ()


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
    closures: Sequence[Busy] = (),
    policy: BookingPolicy = BookingPolicy(),
    needling: bool = False,
    patient_needling_starts: Sequence[datetime] = (),
) -> list[Slot]:
    """Every bookable (start, practitioner) pair on the local days ``first_day..last_day``.

    Each slot carries the first room, in the order ``rooms`` was given, that is free for the
    whole session including the cleanup buffer. Slots are sorted by (start, practitioner_id).
    """
    return slot_table(
        now=now,
        tz=tz,
        first_day=first_day,
        last_day=last_day,
        duration=duration,
        buffer_after=buffer_after,
        practitioners=practitioners,
        rooms=rooms,
        closures=closures,
        policy=policy,
        needling=needling,
        patient_needling_starts=patient_needling_starts,
    ).slots()


@dataclass(frozen=True)
class SlotTable:
    """bookable_slots' answer before any Slot is made: parallel lists sorted by (start,
    practitioner_id), instants as integer microseconds since the Unix epoch (UTC).

    A caller that only prints the answer (the JSON API) reads the numbers; ``slots()`` makes
    the objects.
    """

    starts: list[int]
    practitioner_ids: list[int]
    room_ids: list[int]
    duration: int  # microseconds from start to end
    occupied: int  # microseconds from start to blocked_until

    @classmethod
    def empty(cls, duration: timedelta, buffer_after: timedelta) -> SlotTable:
        return cls([], [], [], duration // _MICROSECOND, (duration + buffer_after) // _MICROSECOND)

    def __len__(self) -> int:
        return len(self.starts)

    def slots(self) -> list[Slot]:
        duration = timedelta(microseconds=self.duration)
        occupied = timedelta(microseconds=self.occupied)
        instants: dict[int, datetime] = {}
        slots = []
        for start_us, practitioner_id, room_id in zip(
            self.starts, self.practitioner_ids, self.room_ids, strict=True
        ):
            start = instants.get(start_us)
            if start is None:
                start = instants[start_us] = from_micros(start_us)
            slots.append(Slot(start, start + duration, start + occupied, practitioner_id, room_id))
        return slots

    @classmethod
    def merged(cls, tables: Sequence[SlotTable]) -> SlotTable:
        """One table from at least one with the same durations (one per location), re-sorted."""
        if len(tables) == 1:
            return tables[0]
        rows = sorted(
            row
            for table in tables
            for row in zip(table.starts, table.practitioner_ids, table.room_ids, strict=True)
        )
        return cls(
            [row[0] for row in rows],
            [row[1] for row in rows],
            [row[2] for row in rows],
            tables[0].duration,
            tables[0].occupied,
        )


def slot_table(
    *,
    now: datetime,
    tz: ZoneInfo,
    first_day: date,
    last_day: date,
    duration: timedelta,
    buffer_after: timedelta,
    practitioners: Sequence[PractitionerCalendar],
    rooms: Sequence[RoomCalendar],
    closures: Sequence[Busy] = (),
    policy: BookingPolicy = BookingPolicy(),
    needling: bool = False,
    patient_needling_starts: Sequence[datetime] = (),
) -> SlotTable:
    """bookable_slots' answer as a SlotTable: the same rules, computed on integer intervals.

    Per practitioner, the working stretches minus busy time and closures leave free segments;
    the starts on a block's grid that fit a whole session into one of them are counted out by
    arithmetic, not tried one by one. Each room's busy time becomes the ranges of starts it
    refuses, and one sweep over the sorted starts gives each its first free room.
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
    empty = SlotTable.empty(duration, buffer_after)
    occupied = empty.occupied
    if not rooms or not practitioners:
        return empty

    earliest = now + policy.min_notice
    latest = now + policy.horizon
    # Only days that can hold a start inside the notice..horizon range cost anything, so a
    # wide request range (or a patient asking about next year) stays cheap.
    first_day = max(first_day, _local_date(earliest, tz))
    last_day = min(last_day, _local_date(latest, tz))
    if last_day < first_day:
        return empty
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    if needling:
        # The rule looks only at the local date of a start (needling_gap_ok), so whole days
        # pass or fail together.
        other_days = {
            _local_date(_require_aware(other, "other_starts"), tz)
            for other in patient_needling_starts
        }
        gap = policy.needling_gap_days
        days = [day for day in days if all(abs((day - d).days) >= gap for d in other_days)]
    if not days:
        return empty

    # Busy time outside the window (the whole appointment history) is dropped before sorting,
    # so the cost follows the window rather than how long the clinic has existed. Every
    # session lies inside the window: working blocks are made for its days only.
    window = (
        micros(local_day_bounds(days[0], tz).start),
        micros(local_day_bounds(days[-1], tz).end),
    )
    step = policy.step // _MICROSECOND
    first_start = micros(earliest)
    last_start = micros(latest)
    closed = _merged(_in_window(closures, window))
    refused_by_room = [
        (room.room_id, _refused_starts(_merged(_in_window(room.busy, window)), occupied))
        for room in rooms
    ]
    if len(_WALL_INSTANTS) > _WALL_INSTANTS_KEPT:
        _WALL_INSTANTS.clear()

    starts_of: dict[int, list[int]] = {}
    for calendar in practitioners:
        layout = _layout_of(calendar.working, tz, step, occupied)
        if layout is None:
            starts = _starts_across_days(
                calendar, days, tz, window, closed, (first_start, last_start), step, occupied
            )
        else:
            starts = _starts_by_day(
                layout, calendar, days, window, closed, (first_start, last_start), occupied
            )
        if starts:
            starts_of[calendar.practitioner_id] = starts

    if len(starts_of) == 1:
        # One practitioner (a patient who asked for one, or a one-person clinic): the starts
        # are sorted already and every slot is theirs.
        [(practitioner_id, starts)] = starts_of.items()
        rooms = _first_free_rooms(starts, refused_by_room)
        if None in rooms:  # usually every start has a room: one scan in C
            starts = list(compress(starts, map(_is_not_none, rooms)))
            rooms = list(filter(_is_not_none, rooms))
        return SlotTable(starts, [practitioner_id] * len(starts), rooms, empty.duration, occupied)
    # Each practitioner's starts are sorted: sorting their concatenation only merges runs.
    every_start = list(dict.fromkeys(sorted(chain.from_iterable(starts_of.values()))))
    rooms = _first_free_rooms(every_start, refused_by_room)
    position = dict(zip(every_start, range(len(every_start)), strict=True))
    # One small integer per (start, practitioner) pair that sorts like the pair: the start's
    # position in every_start * count + the practitioner's rank. The passes over every slot
    # below are maps of built-ins: no Python code per slot.
    ranked = sorted(starts_of)
    count = len(ranked)
    keys: list[int] = []
    for rank, practitioner_id in enumerate(ranked):
        positions = map(position.__getitem__, starts_of[practitioner_id])
        keys += map(rank.__add__, map(count.__mul__, positions))
    keys.sort()
    positions = list(map(count.__rfloordiv__, keys))  # key // count
    if None in rooms:
        roomed = list(map(_is_not_none, map(rooms.__getitem__, positions)))
        keys = list(compress(keys, roomed))
        positions = list(compress(positions, roomed))
    if not keys:
        return empty
    return SlotTable(
        list(map(every_start.__getitem__, positions)),
        list(map(ranked.__getitem__, map(count.__rmod__, keys))),  # ranked[key % count]
        list(map(rooms.__getitem__, positions)),
        empty.duration,
        occupied,
    )


def _is_not_none(value) -> bool:
    return value is not None


def _starts_by_day(
    layout: _Layout,
    calendar: PractitionerCalendar,
    days: Sequence[date],
    window: tuple[int, int],
    closed: list[tuple[int, int]],
    bounds: tuple[int, int],
    occupied: int,
) -> list[int]:
    """A practitioner's bookable starts, ascending, from the starts each day's hours allow
    (worked out once per process, see _layout_of) less those that busy time or a closure
    refuses and those outside notice and horizon.

    Same answer as _starts_across_days: a session fits the free time iff it fits the day's
    working stretch and overlaps no busy interval."""
    candidates: list[int] = []
    for day in days:
        candidates += layout.starts_on(day)
    low = bisect_left(candidates, bounds[0])
    high = bisect_right(candidates, bounds[1])
    if low >= high:
        return []
    busy = _in_window(calendar.busy, window)
    refused = _refused_starts(_merged(busy + closed) if busy else closed, occupied)
    if not refused:
        return candidates[low:high]
    starts: list[int] = []
    for refused_low, refused_high in refused:
        cut = bisect_left(candidates, refused_low, low, high)
        starts += candidates[low:cut]
        low = max(cut, bisect_right(candidates, refused_high, low, high))
        if low >= high:
            break
    starts += candidates[low:high]
    return starts


def _starts_across_days(
    calendar: PractitionerCalendar,
    days: Sequence[date],
    tz: ZoneInfo,
    window: tuple[int, int],
    closed: list[tuple[int, int]],
    bounds: tuple[int, int],
    step: int,
    occupied: int,
) -> list[int]:
    """A practitioner's bookable starts, ascending, for hours with a block that runs to
    midnight: a session may then run on into the next day's first block, so the window's
    blocks are merged as one before the free segments are found."""
    first_start, last_start = bounds
    blocks = _working_micros(calendar.working, days, tz, _WALL_INSTANTS)
    if not blocks:
        return []
    busy = _in_window(calendar.busy, window)
    # Touching or overlapping blocks are one stretch of work, so a session may run across
    # the seam; starts still come from each block's own grid.
    free = _without(_merged(blocks), _merged(busy + closed))
    if not free:
        return []
    free_starts = [segment[0] for segment in free]
    starts: set[int] = set()
    for block_start, block_end in blocks:
        low = max(block_start, first_start)
        high = min(block_end - 1, last_start)  # a start lies inside its block
        if low > high:
            continue
        index = max(bisect_right(free_starts, low) - 1, 0)
        for free_start, free_end in free[index:]:
            if free_start > high:
                break
            first = max(low, free_start)
            last = min(high, free_end - occupied)  # the whole session fits the segment
            if first > last:
                continue
            # The block's grid points in [first, last].
            first = block_start - (block_start - first) // step * step
            starts.update(range(first, last + 1, step))
    return sorted(starts)


class _Layout:
    """The starts each local day's hours allow before any booking, for one practitioner's
    weekly hours in one zone with one grid step and session length: {day: ascending
    instants}, filled in as days are asked about."""

    __slots__ = ("days", "occupied", "step", "tz", "working")

    def __init__(self, working: tuple[WorkingBlock, ...], tz: ZoneInfo, step: int, occupied: int):
        self.working, self.tz, self.step, self.occupied = working, tz, step, occupied
        self.days: dict[date, list[int]] = {}

    def starts_on(self, day: date) -> list[int]:
        starts = self.days.get(day)
        if starts is None:
            starts = self.days[day] = self._work_out(day)
            _KEPT[0] += len(starts) + 1
            if _KEPT[0] > _STARTS_KEPT:
                # Past the bound every layout starts afresh (this one keeps its days until its
                # caller is done with it).
                _LAYOUTS.clear()
                _KEPT[0] = 0
        return starts

    def _work_out(self, day: date) -> list[int]:
        """The grid starts of the day's blocks whose whole session fits the day's working
        stretch (touching or overlapping blocks are one stretch).

        No block here ends at midnight, so every block lies inside its own local day and no
        stretch reaches into another day."""
        if len(_WALL_INSTANTS) > _WALL_INSTANTS_KEPT:
            _WALL_INSTANTS.clear()
        weekday = day.weekday()
        blocks = []
        for block in self.working:
            if block.weekday == weekday:
                start = _wall_instant(day, block.start, self.tz, _WALL_INSTANTS)
                end = _wall_instant(day, block.end, self.tz, _WALL_INSTANTS)
                if start < end:
                    blocks.append((start, end))
        stretches = _merged(blocks)
        starts: set[int] = set()
        for block_start, block_end in blocks:
            stretch_end = next(end for start, end in stretches if start <= block_start < end)
            last = min(block_end - 1, stretch_end - self.occupied)
            if last >= block_start:
                starts.update(range(block_start, last + 1, self.step))
        return sorted(starts)


# Layouts by (weekly hours, zone, step, session length), for every request of this process:
# weekly hours change seldom and a calendar keeps asking about the same weeks. The hours are
# part of the key, so changed hours start a new layout. None marks hours with a block that
# runs to midnight, which are worked out across days on every request instead.
_LAYOUTS: dict[tuple, _Layout | None] = {}
_LAYOUTS_KEPT = 2_000
# Starts kept over all layouts (about 40 bytes each): a year of quarter hours for some 50
# practitioners and services, so memory stays bounded for a clinic group too.
_STARTS_KEPT = 1_000_000
_KEPT = [0]


def _layout_of(
    working: tuple[WorkingBlock, ...], tz: ZoneInfo, step: int, occupied: int
) -> _Layout | None:
    """The process's layout for these hours, or None when a block runs to midnight (a
    session could then cross into the next day, so days are not independent)."""
    key = (working, tz, step, occupied)
    try:
        return _LAYOUTS[key]
    except KeyError:
        pass
    for block in working:
        _check_block(block)
    layout = None
    if all(block.end != time(0) for block in working):
        layout = _Layout(working, tz, step, occupied)
    if len(_LAYOUTS) >= _LAYOUTS_KEPT:
        _LAYOUTS.clear()
        _KEPT[0] = 0
    _LAYOUTS[key] = layout
    return layout


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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(instant: datetime) -> int:
    """An aware instant as integer microseconds since the Unix epoch."""
    return (instant - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """The aware UTC instant ``value`` microseconds after the Unix epoch."""
    return _EPOCH + timedelta(microseconds=value)


def _in_window(intervals: Iterable[Busy], window: tuple[int, int]) -> list[tuple[int, int]]:
    """Non-empty intervals that reach into the window, as integer pairs."""
    window_start, window_end = window
    pairs = []
    epoch, unit = _EPOCH, _MICROSECOND
    for interval in intervals:
        if type(interval) is tuple:
            start, end = interval
            if start < end and end > window_start and start < window_end:
                pairs.append(interval)
            continue
        start, end = interval.start, interval.end
        # UTC (what the database gives) is aware by definition; anything else is checked.
        if start.tzinfo is not UTC:
            _require_aware(start, "interval start")
        if end.tzinfo is not UTC:
            _require_aware(end, "interval end")
        start, end = (start - epoch) // unit, (end - epoch) // unit
        if start < end and end > window_start and start < window_end:
            pairs.append((start, end))
    return pairs


def _merged(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint intervals; touching ones merge too, so a gap is never empty."""
    if len(pairs) < 2:
        return list(pairs)
    pairs = sorted(pairs)
    merged = [pairs[0]]
    for start, end in pairs:
        last_start, last_end = merged[-1]
        if start <= last_end:
            if end > last_end:
                merged[-1] = (last_start, end)
        else:
            merged.append((start, end))
    return merged


def _without(
    stretches: list[tuple[int, int]], busy: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """The parts of ``stretches`` outside ``busy``; both sorted and disjoint."""
    if not busy:
        return stretches
    free = []
    index = 0
    count = len(busy)
    for start, end in stretches:
        while index < count and busy[index][1] <= start:
            index += 1
        cursor = start
        scan = index
        while scan < count and busy[scan][0] < end:
            busy_start, busy_end = busy[scan]
            if busy_start > cursor:
                free.append((cursor, busy_start))
            if busy_end > cursor:
                cursor = busy_end
            if busy_end >= end:
                break
            scan += 1
        if cursor < end:
            free.append((cursor, end))
        index = scan
    return free


def _refused_starts(busy: list[tuple[int, int]], occupied: int) -> list[tuple[int, int]]:
    """Closed ranges ``[low, high]`` of starts whose ``[start, start + occupied)`` overlaps busy
    time, sorted and disjoint."""
    refused: list[tuple[int, int]] = []
    for start, end in busy:
        low, high = start - occupied + 1, end - 1
        if refused and low <= refused[-1][1] + 1:
            refused[-1] = (refused[-1][0], max(high, refused[-1][1]))
        else:
            refused.append((low, high))
    return refused


def _first_free_rooms(
    starts: list[int], rooms: Sequence[tuple[int, list[tuple[int, int]]]]
) -> list[int | None]:
    """For each of the ascending ``starts``, the first room (in the given order) that does not
    refuse it, None where every room refuses it.

    Works on ranges of positions in ``starts``: the starts still without a room, less those
    the next room refuses, go to that room.
    """
    chosen: list[int | None] = [None] * len(starts)
    waiting = [(0, len(starts))] if starts else []
    for room_id, refused in rooms:
        if not waiting:
            break
        refused_positions = []
        for low, high in refused:
            first, last = bisect_left(starts, low), bisect_right(starts, high)
            if first < last:
                if refused_positions and refused_positions[-1][1] == first:
                    refused_positions[-1] = (refused_positions[-1][0], last)
                else:
                    refused_positions.append((first, last))
        for first, last in _without(waiting, refused_positions):
            chosen[first:last] = [room_id] * (last - first)
        waiting = _within(waiting, refused_positions)
    return chosen


def _within(ranges: list[tuple[int, int]], others: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The intersection of two lists of sorted, disjoint half-open ranges."""
    both = []
    i = j = 0
    while i < len(ranges) and j < len(others):
        low = max(ranges[i][0], others[j][0])
        high = min(ranges[i][1], others[j][1])
        if low < high:
            both.append((low, high))
        if ranges[i][1] < others[j][1]:
            i += 1
        else:
            j += 1
    return both


def _working_micros(
    working: Iterable[WorkingBlock],
    days: Sequence[date],
    tz: ZoneInfo,
    instants: dict[tuple[ZoneInfo, date, time], int],
) -> list[tuple[int, int]]:
    """Each working block on each of ``days`` as an integer interval, in day order.

    ``instants`` remembers wall times already placed.
    """
    by_weekday: dict[int, list[WorkingBlock]] = {}
    for block in working:
        _check_block(block)
        by_weekday.setdefault(block.weekday, []).append(block)
    intervals = []
    for day in days:
        for block in by_weekday.get(day.weekday(), ()):
            end_day = day + timedelta(days=1) if block.end == time(0) else day
            start = _wall_instant(day, block.start, tz, instants)
            end = _wall_instant(end_day, block.end, tz, instants)
            if start < end:
                intervals.append((start, end))
    return intervals


def _wall_instant(day: date, wall: time, tz: ZoneInfo, instants: dict) -> int:
    key = (tz, day, wall)
    instant = instants.get(key)
    if instant is None:
        # The one rule of clinic.localtime: a bound the clocks skip moves forward by the gap.
        instant = instants[key] = micros(localtime.to_utc(day, wall, tz))
    return instant


# Where wall times fall, for every request of this process: the answer never changes, and the
# same few hours are asked about again and again. Emptied when it grows past the bound.
_WALL_INSTANTS: dict[tuple[ZoneInfo, date, time], int] = {}
_WALL_INSTANTS_KEPT = 50_000


def _check_block(block: WorkingBlock) -> None:
    if not 0 <= block.weekday <= 6:
        raise ValueError(f"weekday must be 0..6, got {block.weekday}")
    if block.start.tzinfo is not None or block.end.tzinfo is not None:
        raise ValueError("working hours are local wall-clock times and must be naive")
    if block.end != time(0) and block.end <= block.start:
        raise ValueError(f"working block ends before it starts: {block}")


def _local_date(instant: datetime, tz: ZoneInfo) -> date:
    return localtime.local_date(instant, tz)


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a time-zone aware datetime")
    return value
