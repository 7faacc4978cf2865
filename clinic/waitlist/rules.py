"""Which freed times suit a waitlist entry, and how long an offer stays open. Pure rules.

The time of day is judged on the visit's local start time, in the clinic's time zone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta


class TimeOfDay(enum.StrEnum):
    ANY = "any"
    MORNING = "morning"  # starts before 12:00
    AFTERNOON = "afternoon"  # starts from 12:00, before 17:00
    EVENING = "evening"  # starts from 17:00
    BETWEEN = "between"  # starts from time_from up to time_to, both included


# The parts of the day as the booking pages group free times.
PARTS: dict[TimeOfDay, tuple[time, time | None]] = {
    TimeOfDay.MORNING: (time(0), time(12)),
    TimeOfDay.AFTERNOON: (time(12), time(17)),
    TimeOfDay.EVENING: (time(17), None),
}

LABELS = {
    TimeOfDay.ANY: "Any time of day",
    TimeOfDay.MORNING: "Mornings (before 12:00)",
    TimeOfDay.AFTERNOON: "Afternoons (12:00 to 17:00)",
    TimeOfDay.EVENING: "Evenings (from 17:00)",
    TimeOfDay.BETWEEN: "Between two times",
}


@dataclass(frozen=True)
class Wish:
    """What an entry asks for, as plain values."""

    service_id: int
    practitioner_id: int | None
    first_day: date
    last_day: date
    time_of_day: str
    time_from: time | None = None
    time_to: time | None = None


@dataclass(frozen=True)
class FreedTime:
    service_id: int
    practitioner_id: int
    local_start: datetime  # in the clinic's zone


def fits_time_of_day(wish: Wish, local_start: time) -> bool:
    part = TimeOfDay(wish.time_of_day)
    if part is TimeOfDay.ANY:
        return True
    if part is TimeOfDay.BETWEEN:
        if wish.time_from is None or wish.time_to is None:
            return False
        return wish.time_from <= local_start <= wish.time_to
    low, high = PARTS[part]
    return low <= local_start and (high is None or local_start < high)


def matches(wish: Wish, freed: FreedTime) -> bool:
    """Same service, the practitioner asked for (if any), inside the dates and the time of day."""
    if wish.service_id != freed.service_id:
        return False
    if wish.practitioner_id is not None and wish.practitioner_id != freed.practitioner_id:
        return False
    day = freed.local_start.date()
    if not wish.first_day <= day <= wish.last_day:
        return False
    return fits_time_of_day(wish, freed.local_start.time().replace(tzinfo=None))


def offer_expiry(sent_at: datetime, minutes: int, slot_start: datetime) -> datetime:
    """An offer runs for ``minutes`` from when its text may go out (after quiet hours, not when
    it was made at night), and never past the start of the time it offers."""
    return min(sent_at + timedelta(minutes=minutes), slot_start)


def worth_offering(sent_at: datetime, slot_start: datetime, notice: timedelta) -> bool:
    """An offer whose text would go out too late to book the time online is not made."""
    return sent_at + notice < slot_start
