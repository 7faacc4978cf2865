"""The period report's figures, as pure functions over plain rows.

The queries (clinic/reports/queries.py) read compact rows for the period; everything here is
arithmetic over them and an explicit ``now``, so each figure's definition is in one place and
tested without an app. The definitions are the README's ("Reports"):

- a period is a run of whole local days, ``first`` to ``last`` inclusive, in the location's
  time zone: it starts at the local midnight opening ``first`` and ends at the one closing
  ``last`` (23 or 25 hours on daylight-saving days);
- a visit is "in the period" when it starts in it;
- rates carry their numerator and denominator; a rate with a zero denominator has no value.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from clinic import localtime

MAX_DAYS = 366
DEFAULT_DAYS = 30
_DAY_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Far enough either way for any real diary, and clear of date arithmetic overflowing.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)

# Visit statuses, as the lifecycle names them (kept as plain strings: this module is pure).
COMPLETED = "completed"
CHECKED_IN = "checked_in"
NO_SHOW = "no_show"
CANCELLED = "cancelled"
UPCOMING = frozenset({"needs_review", "booked", "confirmed"})
RELEASED = frozenset({CANCELLED, NO_SHOW})


class BadPeriod(ValueError):
    """A period the report cannot show; the message says what to fix."""


# --- the period ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    tz: tzinfo

    @property
    def start(self) -> datetime:
        return localtime.day_bounds(self.first, self.tz)[0]

    @property
    def end(self) -> datetime:
        return localtime.day_bounds(self.last, self.tz)[1]

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def parse_day(raw: str, name: str) -> date:
    try:
        if not _DAY_SHAPE.match(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise BadPeriod(f"Give {name} as YYYY-MM-DD, for example 2026-03-02.") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadPeriod(f"{name.capitalize()} is outside the diary.")
    return day


def parse_period(raw_from: str | None, raw_to: str | None, today: date, tz: tzinfo) -> Period:
    """The period the page asks for: by default the last 30 days up to and including today."""
    last = parse_day(raw_to, "the last day") if raw_to else today
    if raw_from:
        first = parse_day(raw_from, "the first day")
    else:
        first = max(last - timedelta(days=DEFAULT_DAYS - 1), FIRST_DAY)
    if first > last:
        raise BadPeriod("The first day must not be after the last day.")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadPeriod(f"Choose a period of at most {MAX_DAYS} days.")
    return Period(first, last, tz)


# --- rows the queries read -------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeCount:
    """How many visits of a service starting in the period have a status (an SQL aggregate)."""

    service_id: int
    status: str
    count: int


@dataclass(frozen=True)
class BookedVisit:
    practitioner_id: int
    room_id: int
    start_at: datetime
    end_at: datetime


@dataclass(frozen=True)
class WeeklyHours:
    practitioner_id: int
    weekday: int  # 0 = Monday
    start_time: time
    end_time: time


@dataclass(frozen=True)
class Absence:
    """A closure of the location (practitioner_id None) or one practitioner's time off."""

    practitioner_id: int | None
    start_at: datetime
    end_at: datetime


@dataclass(frozen=True)
class CourseVisit:
    course_id: int
    sessions_planned: int
    position: int | None
    status: str
    start_at: datetime


@dataclass(frozen=True)
class ReviewDecision:
    held_at: datetime  # when the answers were given: the booking or the desk re-screen
    decided_at: datetime
    decision: str  # approved, declined


@dataclass(frozen=True)
class AlertRow:
    level: str
    created_at: datetime
    acknowledged_at: datetime | None


# --- what the page and the CSV show ----------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """One figure: a line of the page's table and one row of the CSV."""

    name: str
    value: float | int | None
    numerator: int | None = None
    denominator: int | None = None
    kind: str = "count"  # count, rate, minutes

    @property
    def shown(self) -> str:
        """The value as the page and the CSV both write it."""
        if self.value is None:
            return "n/a"
        if self.kind == "rate":
            return f"{self.value * 100:.1f}%"
        if self.kind == "minutes":
            return f"{self.value:.1f}"
        return str(self.value)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    # What the bars measure, for the text alternative ("visits", "% of working time").
    unit: str


@dataclass(frozen=True)
class Section:
    key: str  # a stable id: the page's anchors and the chart's ids
    title: str
    definition: str
    measures: tuple[Measure, ...]
    chart: Chart
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Report:
    period: Period
    sections: tuple[Section, ...]


# --- completed sessions, no-shows and cancellations -------------------------------------------


def completed_sessions(outcomes: Iterable[OutcomeCount], services: dict[int, str]) -> Section:
    per_service: Counter[int] = Counter()
    for row in outcomes:
        if row.status == COMPLETED:
            per_service[row.service_id] += row.count
    ordered = sorted(per_service, key=lambda service_id: services.get(service_id, ""))
    measures = [Measure("All services", sum(per_service.values()))]
    measures += [Measure(services.get(sid, f"Service {sid}"), per_service[sid]) for sid in ordered]
    return Section(
        key="completed",
        title="Completed sessions",
        definition=(
            "Visits starting in the period whose status is completed, in total and per service."
        ),
        measures=tuple(measures),
        chart=Chart(
            "Completed sessions per service",
            tuple(Bar(m.name, m.value, m.shown) for m in measures[1:]),
            "sessions",
        ),
    )


def no_shows(outcomes: Iterable[OutcomeCount], not_yet_marked: int) -> Section:
    counts = _by_status(outcomes)
    attended = counts[COMPLETED] + counts[CHECKED_IN]
    missed = counts[NO_SHOW]
    due = attended + missed
    measures = (
        Measure("No-show rate", _ratio(missed, due), missed, due, "rate"),
        Measure("Attended (checked in or completed)", attended),
        Measure("No-shows", missed),
        Measure("Started but not yet marked", not_yet_marked),
    )
    return Section(
        key="no-shows",
        title="No-shows",
        definition=(
            "No-shows divided by the visits that fell due and were settled: visits starting in "
            "the period that were checked in, completed or marked as a no-show. Cancelled "
            "visits are not counted; visits whose start has passed but are still booked (nobody "
            "marked them yet) are shown apart and left out of the rate."
        ),
        measures=measures,
        chart=Chart(
            "Settled visits: attended and no-shows",
            (
                Bar("Attended", attended, str(attended)),
                Bar("No-show", missed, str(missed)),
            ),
            "visits",
        ),
    )


def cancellations(outcomes: Iterable[OutcomeCount]) -> Section:
    counts = _by_status(outcomes)
    total = sum(counts.values())
    cancelled = counts[CANCELLED]
    measures = (
        Measure("Cancellation rate", _ratio(cancelled, total), cancelled, total, "rate"),
        Measure("Visits starting in the period", total),
        Measure("Cancelled", cancelled),
    )
    return Section(
        key="cancellations",
        title="Cancellations",
        definition=(
            "Cancelled visits divided by every visit starting in the period, whatever its "
            "status (a visit declined on clinical review is cancelled too)."
        ),
        measures=measures,
        chart=Chart(
            "Visits starting in the period: kept and cancelled",
            (
                Bar("Kept", total - cancelled, str(total - cancelled)),
                Bar("Cancelled", cancelled, str(cancelled)),
            ),
            "visits",
        ),
    )


def _by_status(outcomes: Iterable[OutcomeCount]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for row in outcomes:
        counts[row.status] += row.count
    return counts


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


# --- chair use -------------------------------------------------------------------------------

Interval = tuple[datetime, datetime]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same time."""
    merged: list[list[datetime]] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def subtract(intervals: Iterable[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """``intervals`` with every moment of ``holes`` taken out."""
    result = merge(intervals)
    for hole_start, hole_end in merge(holes):
        kept: list[Interval] = []
        for start, end in result:
            if hole_end <= start or end <= hole_start:
                kept.append((start, end))
                continue
            if start < hole_start:
                kept.append((start, hole_start))
            if hole_end < end:
                kept.append((hole_end, end))
        result = kept
    return result


def minutes(intervals: Iterable[Interval]) -> int:
    return round(sum((end - start).total_seconds() for start, end in intervals) / 60)


def working_time(
    period: Period, hours: Iterable[WeeklyHours], absences: Iterable[Absence]
) -> dict[int, list[Interval]]:
    """Each practitioner's working time in the period, as UTC intervals: their weekly hours on
    each local day, read in the location's zone (so a daylight-saving day has the hours the
    clocks really show), minus closures of the location and their own time off."""
    by_weekday: dict[int, list[WeeklyHours]] = defaultdict(list)
    for block in hours:
        by_weekday[block.weekday].append(block)
    raw: dict[int, list[Interval]] = defaultdict(list)
    for day in period.days:
        for block in by_weekday.get(day.weekday(), ()):
            raw[block.practitioner_id].append(
                (
                    localtime.to_utc(day, block.start_time, period.tz),
                    localtime.to_utc(day, block.end_time, period.tz),
                )
            )
    absences = list(absences)
    closures = [(a.start_at, a.end_at) for a in absences if a.practitioner_id is None]
    return {
        practitioner_id: subtract(
            intervals,
            closures
            + [(a.start_at, a.end_at) for a in absences if a.practitioner_id == practitioner_id],
        )
        for practitioner_id, intervals in raw.items()
    }


def chair_use(
    period: Period,
    visits: Sequence[BookedVisit],
    hours: Iterable[WeeklyHours],
    absences: Iterable[Absence],
    practitioners: dict[int, str],
    rooms: dict[int, str],
) -> tuple[Section, Section]:
    """Booked minutes over working minutes, per practitioner and per room.

    ``visits`` are the period's visits that still hold their time (not cancelled, not a
    no-show); their minutes run from start to end (the cleaning buffer is not use). A room is
    available while at least one of the location's practitioners works (a room has no hours of
    its own).
    """
    working = working_time(period, hours, absences)
    by_practitioner: Counter[int] = Counter()
    by_room: Counter[int] = Counter()
    for visit in visits:
        booked = minutes([(visit.start_at, visit.end_at)])
        by_practitioner[visit.practitioner_id] += booked
        by_room[visit.room_id] += booked
    practitioner_measures = [
        _use(name, by_practitioner[pid], minutes(working.get(pid, ())))
        for pid, name in sorted(practitioners.items(), key=lambda item: (item[1], item[0]))
    ]
    room_time = minutes(merge(i for intervals in working.values() for i in intervals))
    room_measures = [
        _use(name, by_room[rid], room_time)
        for rid, name in sorted(rooms.items(), key=lambda item: (item[1], item[0]))
    ]
    return (
        _use_section(
            "chair-practitioners",
            "Chair use per practitioner",
            "Minutes booked with the practitioner (visits starting in the period that still hold "
            "their time: not cancelled, not a no-show; start to end, without the cleaning "
            "buffer) divided by their working minutes in the period: weekly hours on each local "
            "day, in the location's time zone, minus closures and their time off.",
            practitioner_measures,
        ),
        _use_section(
            "chair-rooms",
            "Chair use per room",
            "Minutes booked in the room (the same visits) divided by the minutes in the period "
            "when at least one of the location's practitioners is working (a room has no hours "
            "of its own).",
            room_measures,
        ),
    )


def _use(name: str, booked: int, available: int) -> Measure:
    return Measure(name, _ratio(booked, available), booked, available, "rate")


def _use_section(key: str, title: str, definition: str, measures: list[Measure]) -> Section:
    return Section(
        key=key,
        title=title,
        definition=definition,
        measures=tuple(measures),
        chart=Chart(
            title,
            tuple(Bar(m.name, (m.value or 0) * 100, m.shown) for m in measures),
            "% of working minutes booked",
        ),
        notes=("Numerator: booked minutes. Denominator: working minutes.",),
    )


# --- course completion -----------------------------------------------------------------------


def course_completion(visits: Iterable[CourseVisit], period: Period) -> Section:
    """Courses whose last visit (the latest start among all its visits, whatever their status)
    falls in the period: all planned sessions completed, still in progress (a session is still
    ahead or in the chair), or fell short (neither)."""
    by_course: dict[int, list[CourseVisit]] = defaultdict(list)
    for visit in visits:
        by_course[visit.course_id].append(visit)
    finished = short = in_progress = 0
    for course_visits in by_course.values():
        last = max(visit.start_at for visit in course_visits)
        if not period.start <= last < period.end:
            continue
        planned = course_visits[0].sessions_planned
        done = {v.position for v in course_visits if v.status == COMPLETED}
        if len(done) >= planned:
            finished += 1
        elif any(v.status in UPCOMING or v.status == CHECKED_IN for v in course_visits):
            in_progress += 1
        else:
            short += 1
    settled = finished + short
    measures = (
        Measure("Completion rate", _ratio(finished, settled), finished, settled, "rate"),
        Measure("Completed every planned session", finished),
        Measure("Fell short", short),
        Measure("Still in progress", in_progress),
    )
    return Section(
        key="courses",
        title="Course completion",
        definition=(
            "Courses whose last visit (the latest start among the course's visits, whatever "
            "their status) falls in the period. A course completed every planned session when "
            "each of its planned sessions has a completed visit; it is still in progress while "
            "a visit of it is booked or checked in; otherwise it fell short. The rate is "
            "completed courses over completed plus fell short."
        ),
        measures=measures,
        chart=Chart(
            "Courses ending in the period",
            tuple(Bar(m.name, m.value, m.shown) for m in measures[1:]),
            "courses",
        ),
    )


# --- time to clinical review -----------------------------------------------------------------

# The chart's wait bands: (label, upper bound in minutes, exclusive).
WAIT_BANDS = (
    ("Under 1 hour", 60),
    ("1 to 4 hours", 4 * 60),
    ("4 to 24 hours", 24 * 60),
    ("1 to 3 days", 3 * 24 * 60),
    ("3 days or more", math.inf),
)


def median(values: Sequence[float]) -> float | None:
    """The middle value; the mean of the two middle values for an even count."""
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least ``share`` of the values
    at or below it (the ceil(share * n)-th smallest)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(round(share * len(ordered), 9)))
    return ordered[rank - 1]


def review_times(decisions: Iterable[ReviewDecision]) -> Section:
    decisions = list(decisions)
    waits = [(d.decided_at - d.held_at).total_seconds() / 60 for d in decisions]
    kinds = Counter(d.decision for d in decisions)
    bands: Counter[str] = Counter()
    for wait in waits:
        bands[next(label for label, upper in WAIT_BANDS if wait < upper)] += 1
    measures = (
        Measure("Review decisions", len(waits)),
        Measure("Approved", kinds["approved"]),
        Measure("Declined", kinds["declined"]),
        Measure("Median wait (minutes)", median(waits), kind="minutes"),
        Measure("90th percentile wait (minutes)", percentile(waits, 0.9), kind="minutes"),
    )
    return Section(
        key="review",
        title="Time from booking to clinical review",
        definition=(
            "Screenings held for a clinician's review and decided (approved or declined) in the "
            "period, at visits of this location. The wait runs from the moment the answers were "
            "given (the booking or the desk re-screen that held the visit) to the decision. "
            "Median: the middle wait (the mean of the two middle ones for an even count); 90th "
            "percentile: nearest rank, the smallest wait that at least 90% of waits do not "
            "exceed."
        ),
        measures=measures,
        chart=Chart(
            "Review decisions by wait",
            tuple(Bar(label, bands[label], str(bands[label])) for label, _upper in WAIT_BANDS),
            "decisions",
        ),
    )


# --- texts and alerts ------------------------------------------------------------------------

# Statuses as the report groups them: "sending" is still pending for a reader.
TEXT_GROUPS = (
    ("Delivered", ("delivered",)),
    ("Sent, no delivery report yet", ("sent",)),
    ("Undelivered", ("undelivered",)),
    ("Failed", ("failed",)),
    ("Pending", ("pending", "sending")),
    ("Not sent (skipped or cancelled)", ("skipped", "cancelled")),
)
HANDED_OVER = ("delivered", "sent", "undelivered", "failed")


def text_delivery(counts: dict[str, int]) -> Section:
    groups = [(label, sum(counts.get(s, 0) for s in statuses)) for label, statuses in TEXT_GROUPS]
    handed_over = sum(counts.get(status, 0) for status in HANDED_OVER)
    delivered = counts.get("delivered", 0)
    measures = (
        Measure("Delivery rate", _ratio(delivered, handed_over), delivered, handed_over, "rate"),
        Measure("Texts planned in the period", sum(counts.values())),
        *(Measure(label, count) for label, count in groups),
    )
    return Section(
        key="texts",
        title="Text delivery",
        definition=(
            "Texts to patients and staff planned to go out in the period (by their planned "
            "send time), by their status now. Delivery rate: delivered over the texts handed to "
            "the provider (delivered, sent, undelivered or failed); pending, skipped and "
            "cancelled texts never reached the provider. Texts are the clinic's, not one "
            "location's."
        ),
        measures=measures,
        chart=Chart(
            "Texts by status", tuple(Bar(label, n, str(n)) for label, n in groups), "texts"
        ),
    )


ALERT_LEVELS = (("Emergency", "emergency"), ("Urgent", "urgent"), ("Task", "task"))


def reply_alerts(alerts: Iterable[AlertRow]) -> Section:
    alerts = list(alerts)
    levels = Counter(alert.level for alert in alerts)
    waits = [
        (alert.acknowledged_at - alert.created_at).total_seconds() / 60
        for alert in alerts
        if alert.acknowledged_at is not None
    ]
    measures = (
        Measure("Alerts raised", len(alerts)),
        *(Measure(label, levels[level]) for label, level in ALERT_LEVELS),
        Measure("Acknowledged", len(waits), len(waits), len(alerts)),
        Measure("Median minutes to acknowledgement", median(waits), kind="minutes"),
    )
    return Section(
        key="alerts",
        title="Reply alerts",
        definition=(
            "Staff alerts raised in the period (worrying replies: emergency and urgent; tasks "
            "such as a safety text that did not arrive), by level. Median minutes to "
            "acknowledgement over the alerts acknowledged so far; an alert still open is counted "
            "as raised but not acknowledged."
        ),
        measures=measures,
        chart=Chart(
            "Alerts by level",
            tuple(Bar(label, levels[level], str(levels[level])) for label, level in ALERT_LEVELS),
            "alerts",
        ),
    )


# --- the CSV -------------------------------------------------------------------------------

CSV_HEADER = ("section", "name", "value", "numerator", "denominator")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_rows(report: Report) -> list[tuple[str, ...]]:
    """One row per figure, the same strings the page shows."""
    rows = [CSV_HEADER]
    for section in report.sections:
        for measure in section.measures:
            rows.append(
                tuple(
                    safe_cell(cell)
                    for cell in (
                        section.title,
                        measure.name,
                        measure.shown,
                        measure.numerator,
                        measure.denominator,
                    )
                )
            )
    return rows
