"""Course templates drawn from published trials, and the pure planning of a series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic.localtime import to_utc


@dataclass(frozen=True)
class CourseTemplate:
    key: str
    label: str
    interval_days: int
    sessions: int
    # The services (by slug) the protocol was studied with: the desk is offered only these.
    services: tuple[str, ...] = ()

    def applies_to(self, service_slug: str) -> bool:
        return service_slug in self.services


MICRONEEDLING = "microneedling"
PRP = "microneedling-prp"
STEROID = "microneedling-steroid"

TEMPLATES: tuple[CourseTemplate, ...] = (
    # With a hair-growth solution: weekly or fortnightly for 12 weeks, or every 4 weeks.
    CourseTemplate("weekly-12", "Weekly, 12 sessions", 7, 12, (MICRONEEDLING,)),
    CourseTemplate("fortnightly-6", "Every 2 weeks, 6 sessions", 14, 6, (MICRONEEDLING,)),
    CourseTemplate("four-weekly-4", "Every 4 weeks, 4 sessions", 28, 4, (MICRONEEDLING, PRP)),
    # With the patient's own plasma: every 4 weeks, 4 to 6 sessions.
    CourseTemplate("four-weekly-6", "Every 4 weeks, 6 sessions", 28, 6, (PRP,)),
    # For patchy loss with the prescribed medicine: 3 sessions 3 weeks apart, and only that.
    CourseTemplate("three-weekly-3", "Every 3 weeks, 3 sessions", 21, 3, (STEROID,)),
)


def templates_for(service_slug: str) -> list[CourseTemplate]:
    return [plan for plan in TEMPLATES if plan.applies_to(service_slug)]


def template(key: str) -> CourseTemplate:
    for candidate in TEMPLATES:
        if candidate.key == key:
            return candidate
    raise LookupError(key)


def series_starts(
    first: datetime, interval_days: int, sessions: int, tz: ZoneInfo
) -> list[datetime]:
    """Session starts at the same local wall-clock time every interval, across DST changes.

    A session whose time the clocks skip that night moves forward by the gap (clinic.localtime).
    """
    local_first = first.astimezone(tz)
    wall = time(local_first.hour, local_first.minute)
    starts = []
    for number in range(sessions):
        day: date = local_first.date() + timedelta(days=interval_days * number)
        starts.append(to_utc(day, wall, tz))
    return starts


def shift_later(
    starts: list[datetime], moved_index: int, new_start: datetime, tz: ZoneInfo
) -> list[datetime]:
    """Move one session to new_start and every later one by the same number of local days,
    at the new local time of day, so the course keeps its rhythm."""
    day_shift = new_start.astimezone(tz).date() - starts[moved_index].astimezone(tz).date()
    local_new = new_start.astimezone(tz)
    wall = time(local_new.hour, local_new.minute)
    shifted = list(starts)
    for index in range(moved_index, len(starts)):
        day = starts[index].astimezone(tz).date() + day_shift
        shifted[index] = to_utc(day, wall, tz)
    return shifted
