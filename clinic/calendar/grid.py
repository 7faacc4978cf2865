"""The desk calendar's timetable as a pure layout: rows of 15 minutes, a column per practitioner,
room or day, and in each cell a visit block, a free gap, or the reason it is neither.

Everything here is plain values in, plain values out: no Flask, no database, an explicit ``now``
and time zone, so the layout is tested without an app.

Rows of the day view are laid out in absolute time from the first wall time shown, so a day with
a daylight-saving change has its real 23 or 25 hours, and the labels say which offset they are in
on such a day. The week view shows wall times across seven days: a wall time the clocks skip on
one of them is a cell marked as such, and the repeated hour in autumn is shown once.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from clinic import localtime

STEP = timedelta(minutes=15)
# Shown when nobody works that day and nothing is booked: an ordinary opening day.
FALLBACK_HOURS = (time(9), time(17))

# What a cell that holds no visit is, in order of precedence.
CLOSED = "closed"  # the whole location is closed
OFF = "off"  # the column's practitioner has time off
OUT = "out"  # outside working hours
SKIPPED = "skipped"  # a wall time the clocks skip that day (week view)
BUFFER = "buffer"  # the cleanup time after a visit
PAST = "past"  # free, but already gone
FREE = "free"
BLOCK = "block"  # the first row of one or more visits
COVERED = "covered"  # under a block's rowspan: no cell of its own


@dataclass(frozen=True)
class Span:
    """Half-open ``[start, end)`` between two aware datetimes."""

    start: datetime
    end: datetime

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def covers(self, other: Span) -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True)
class Hours:
    """Wall-clock working hours; ``weekday`` 0 is Monday, ``end == time(0)`` ends the day."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class VisitFacts:
    id: int
    start: datetime
    end: datetime
    blocked_until: datetime
    patient_name: str
    service_name: str
    status: str
    practitioner_id: int
    practitioner_name: str
    room_id: int
    room_name: str
    active: bool  # holds its time (not cancelled, not a no-show)
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Booker:
    """Someone who could be booked into a column's free cell: a practitioner's hours and the
    time they are already taken (visits in any room, personal time off)."""

    practitioner_id: int
    hours: tuple[Hours, ...]
    busy: tuple[Span, ...] = ()


@dataclass(frozen=True)
class Column:
    """One column's plain facts: its visits, its own time off, and who could fill its gaps.

    A practitioner's column has that practitioner as its only booker; a room's column has every
    practitioner of the location, and a free cell goes to the first one free then.
    """

    key: int
    label: str
    visits: tuple[VisitFacts, ...] = ()
    off: tuple[Span, ...] = ()
    bookers: tuple[Booker, ...] = ()
    room_id: int | None = None  # set for a room's column: a booking there asks for the room


@dataclass
class Cell:
    kind: str
    span: Span | None = None
    rowspan: int = 1
    visits: tuple[VisitFacts, ...] = ()
    practitioner_id: int | None = None  # who a free cell books
    room_id: int | None = None
    gap_start: bool = False  # the first free cell of a run of free cells
    gap_end: datetime | None = None  # where that run ends


@dataclass
class Row:
    label: str
    cells: list[Cell] = field(default_factory=list)
    is_now: bool = False
    on_the_hour: bool = False


@dataclass
class Grid:
    columns: list[Column]
    column_days: list[date]  # the local day of each column
    rows: list[Row]
    released: list[VisitFacts]  # cancelled and no-shows: listed apart, they hold no time
    unplaced: list[VisitFacts]  # active visits no row shows (the skipped hour of a week)

    @property
    def visit_count(self) -> int:
        return len({v.id for column in self.columns for v in column.visits})


# --- the day view ---------------------------------------------------------------------------


def day_grid(
    *,
    day: date,
    tz: tzinfo,
    now: datetime,
    columns: Sequence[Column],
    closures: Sequence[Span] = (),
) -> Grid:
    """A column per practitioner or room over ``day``'s hours in ``tz``."""
    _require_aware(now)
    spans = day_rows(day, tz, columns)
    labels = _labels(spans, tz)
    per_column = [
        _fill(column, list(spans), now, tz, closures, _booker_hours(column, [day] * len(spans), tz))
        for column in columns
    ]
    return _assemble(columns, [day] * len(columns), labels, spans, per_column, now)


def day_rows(day: date, tz: tzinfo, columns: Sequence[Column]) -> list[Span]:
    """The day's 15-minute rows: from the earliest working start of the columns' bookers to the
    latest end, widened to every visit of the day; ordinary hours when nobody works."""
    day_start, day_end = localtime.day_bounds(day, tz)
    ranges = [
        span
        for column in columns
        for booker in column.bookers
        for span in working_spans(booker.hours, day, tz)
    ]
    ranges += [
        Span(max(v.start, day_start), min(v.end, day_end))
        for column in columns
        for v in column.visits
        if v.active and v.start < day_end and v.end > day_start
    ]
    if ranges:
        first = min(span.start for span in ranges)
        last = max(span.end for span in ranges)
    else:
        first = localtime.to_utc(day, FALLBACK_HOURS[0], tz)
        last = localtime.to_utc(day, FALLBACK_HOURS[1], tz)
    first = _floor(first)
    rows = []
    at = first
    while at < last:
        rows.append(Span(at, at + STEP))
        at += STEP
    return rows


# --- the week view --------------------------------------------------------------------------


def week_grid(
    *,
    first_day: date,
    tz: tzinfo,
    now: datetime,
    column: Column,
    closures: Sequence[Span] = (),
    days: int = 7,
) -> Grid:
    """Seven day columns of one practitioner or room, rows of the same wall times each day."""
    _require_aware(now)
    dates = [first_day + timedelta(days=n) for n in range(days)]
    walls = _week_walls(dates, tz, column)
    labels = [f"{wall // 60:02d}:{wall % 60:02d}" for wall in walls]
    columns = [column] * len(dates)
    per_column = []
    for day in dates:
        spans = _wall_spans(day, walls, tz)
        per_column.append(
            _fill(column, spans, now, tz, closures, _booker_hours(column, [day] * len(spans), tz))
        )
    return _assemble(columns, dates, labels, None, per_column, now)


def _week_walls(dates: list[date], tz: tzinfo, column: Column) -> list[int]:
    """Minutes after midnight of each row: the union of working hours over the days, widened to
    every visit's wall times; ordinary hours when nobody works."""
    starts, ends = [], []
    for day in dates:
        for booker in column.bookers:
            for hours in booker.hours:
                if hours.weekday == day.weekday():
                    starts.append(_minutes(hours.start))
                    ends.append(_minutes(hours.end) or 24 * 60)
    for visit in column.visits:
        if not visit.active:
            continue
        local_start, local_end = visit.start.astimezone(tz), visit.end.astimezone(tz)
        if dates[0] <= local_start.date() <= dates[-1]:
            starts.append(local_start.hour * 60 + local_start.minute)
            same_day = local_end.date() == local_start.date()
            ends.append(local_end.hour * 60 + local_end.minute if same_day else 24 * 60)
    if not starts:
        starts, ends = [_minutes(FALLBACK_HOURS[0])], [_minutes(FALLBACK_HOURS[1])]
    first = min(starts) // 15 * 15
    last = max(ends)
    return list(range(first, last, 15))


def _wall_spans(day: date, walls: list[int], tz: tzinfo) -> list[Span | None]:
    """Each wall time's row on ``day``, None where the clocks skip it; a row ends where the
    next wall time starts (the next midnight for the last of the day)."""
    instants: dict[int, datetime] = {}

    def instant(wall: int) -> datetime:
        found = instants.get(wall)
        if found is None:
            if wall >= 24 * 60:
                found = localtime.to_utc(day + timedelta(days=1), time(0), tz)
            else:
                found = localtime.to_utc(day, time(wall // 60, wall % 60), tz)
            instants[wall] = found
        return found

    spans: list[Span | None] = []
    for wall in walls:
        if localtime.exists(day, time(wall // 60, wall % 60), tz):
            spans.append(Span(instant(wall), instant(min(wall + 15, 24 * 60))))
        else:
            spans.append(None)
    return spans


# --- shared ---------------------------------------------------------------------------------


def working_spans(hours: Sequence[Hours], day: date, tz: tzinfo) -> list[Span]:
    """The instants of ``day`` the weekly hours cover, by clinic.localtime's rule."""
    spans = []
    for block in hours:
        if block.weekday != day.weekday():
            continue
        start = localtime.to_utc(day, block.start, tz)
        if block.end == time(0):
            end = localtime.to_utc(day + timedelta(days=1), time(0), tz)
        else:
            end = localtime.to_utc(day, block.end, tz)
        if start < end:
            spans.append(Span(start, end))
    return spans


def _booker_hours(column: Column, days: list[date], tz: tzinfo) -> dict[int, list[Span]]:
    found: dict[int, list[Span]] = {}
    for booker in column.bookers:
        spans: list[Span] = []
        for day in sorted(set(days)):
            spans += working_spans(booker.hours, day, tz)
        found[booker.practitioner_id] = spans
    return found


def _fill(
    column: Column,
    spans: list[Span | None],
    now: datetime,
    tz: tzinfo,
    closures: Sequence[Span],
    working: dict[int, list[Span]],
) -> list[Cell]:
    """One column's cells, top to bottom, with its visits placed as rowspan blocks.

    Each interval (a closure, time off, a visit, working hours) is laid onto the rows it
    touches by bisecting the sorted rows, so a column costs its rows plus its intervals, not
    their product.
    """
    index = _RowIndex(spans)
    closed = index.overlapping(closures)
    off = index.overlapping(column.off)
    active = [v for v in column.visits if v.active]
    # The visit and the cleanup after it: [start, blocked_until) covers both.
    taken = index.overlapping(
        [Span(v.start, v.blocked_until) for v in active]
        + [Span(v.end, v.blocked_until) for v in active]
    )
    works = {key: index.covered(blocks) for key, blocks in working.items()}
    anyone_works = [any(flags) for flags in zip(*works.values(), strict=True)] if works else None
    bookers = [
        (booker.practitioner_id, works[booker.practitioner_id], index.overlapping(booker.busy))
        for booker in column.bookers
    ]
    cells: list[Cell] = []
    for row, span in enumerate(spans):
        if span is None:
            cells.append(Cell(SKIPPED))
        elif closed[row]:
            cells.append(Cell(CLOSED, span))
        elif off[row]:
            cells.append(Cell(OFF, span))
        elif anyone_works is None or not anyone_works[row]:
            cells.append(Cell(OUT, span))
        elif taken[row]:
            cells.append(Cell(BUFFER, span))
        else:
            booker = next((key for key, on, busy in bookers if on[row] and not busy[row]), None)
            if booker is None:
                cells.append(Cell(BUFFER, span))
            elif span.start < now:
                cells.append(Cell(PAST, span))
            else:
                cells.append(Cell(FREE, span, practitioner_id=booker, room_id=column.room_id))
    for group in _clusters(active):
        rows = index.rows_of(Span(v.start, v.end) for v in group)
        if rows is None:
            continue
        first, last = rows
        cells[first] = Cell(BLOCK, spans[first], rowspan=last - first + 1, visits=tuple(group))
        for row in range(first + 1, last + 1):
            cells[row] = Cell(COVERED, spans[row])
    _mark_gaps(cells)
    return cells


class _RowIndex:
    """The rows of a column (sorted, not overlapping, ``None`` for a skipped wall time) and
    which of them an interval overlaps or covers, by bisection."""

    def __init__(self, spans: list[Span | None]):
        self.size = len(spans)
        self.rows = [row for row, span in enumerate(spans) if span is not None]
        self.starts = [spans[row].start for row in self.rows]
        self.ends = [spans[row].end for row in self.rows]

    def _overlap(self, span: Span) -> range:
        """Positions (in ``self.rows``) of the rows ``span`` overlaps."""
        return range(bisect_right(self.ends, span.start), bisect_left(self.starts, span.end))

    def overlapping(self, spans: Iterable[Span]) -> list[bool]:
        flags = [False] * self.size
        for span in spans:
            for position in self._overlap(span):
                flags[self.rows[position]] = True
        return flags

    def covered(self, spans: Iterable[Span]) -> list[bool]:
        """Rows lying wholly inside one of ``spans``."""
        flags = [False] * self.size
        for span in spans:
            for position in range(
                bisect_left(self.starts, span.start), bisect_right(self.ends, span.end)
            ):
                flags[self.rows[position]] = True
        return flags

    def rows_of(self, spans: Iterable[Span]) -> tuple[int, int] | None:
        """The first and last row any of ``spans`` overlaps; None when it meets no row."""
        first = last = None
        for span in spans:
            found = self._overlap(span)
            if found:
                low, high = self.rows[found[0]], self.rows[found[-1]]
                first = low if first is None else min(first, low)
                last = high if last is None else max(last, high)
        return None if first is None else (first, last)


def _mark_gaps(cells: list[Cell]) -> None:
    run: list[Cell] = []
    for cell in [*cells, Cell(OUT)]:
        if cell.kind == FREE and (not run or run[-1].span.end == cell.span.start):
            run.append(cell)
            continue
        if run:
            run[0].gap_start = True
            run[0].gap_end = run[-1].span.end
        run = [cell] if cell.kind == FREE else []


def _clusters(visits: list[VisitFacts]) -> list[list[VisitFacts]]:
    """Visits whose times overlap share one block (a table cell holds one rowspan)."""
    groups: list[list[VisitFacts]] = []
    end = None
    for visit in sorted(visits, key=lambda v: (v.start, v.id)):
        if groups and end is not None and visit.start < end:
            groups[-1].append(visit)
            end = max(end, visit.end)
        else:
            groups.append([visit])
            end = visit.end
    return groups


def _assemble(columns, column_days, labels, anchors, per_column, now) -> Grid:
    rows = []
    for index, label in enumerate(labels):
        cells = [column_cells[index] for column_cells in per_column]
        spans = [anchors[index]] if anchors is not None else [c.span for c in cells if c.span]
        rows.append(
            Row(
                label=label,
                cells=cells,
                is_now=any(span.start <= now < span.end for span in spans),
                on_the_hour=label[3:5] == "00",
            )
        )
    placed = {v.id for cells in per_column for cell in cells for v in cell.visits}
    seen: set[int] = set()
    released, unplaced = [], []
    for column in columns:
        for visit in column.visits:
            if visit.id in seen:
                continue
            seen.add(visit.id)
            if not visit.active:
                released.append(visit)
            elif visit.id not in placed:
                unplaced.append(visit)
    released.sort(key=lambda v: (v.start, v.id))
    unplaced.sort(key=lambda v: (v.start, v.id))
    return Grid(list(columns), list(column_days), rows, released, unplaced)


def _labels(spans: list[Span], tz: tzinfo) -> list[str]:
    """Local wall times; on a day whose offset changes, each says which side it is on."""
    offsets = {span.start.astimezone(tz).utcoffset() for span in spans}
    labels = []
    for span in spans:
        local = span.start.astimezone(tz)
        label = local.strftime("%H:%M")
        if len(offsets) > 1:
            label += f" {local.tzname()}"
        labels.append(label)
    return labels


def _floor(instant: datetime) -> datetime:
    instant = instant.astimezone(UTC)
    return instant.replace(minute=instant.minute // 15 * 15, second=0, microsecond=0)


def _minutes(wall: time) -> int:
    return wall.hour * 60 + wall.minute


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a time-zone aware datetime")
