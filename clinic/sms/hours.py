"""The clinic's opening hours (when a clinician answers the phone), as pure rules.

``CLINIC_OPEN_HOURS`` reads like a shop door: ``"Mon-Fri 09:00-18:00; Sat 09:00-13:00"``. It
is a setting rather than the practitioners' working hours because those say when visits can
be booked, not when someone can phone a worried patient back (a clinic may answer the phone on
days it does not treat, or treat on days nobody is free to call).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(
    r"(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<open>\d{1,2}:\d{2})\s*-\s*(?P<close>\d{1,2}:\d{2})"
)


@dataclass(frozen=True)
class OpenHours:
    """Opening and closing time per weekday (Monday 0); a day without an entry is closed."""

    days: dict[int, tuple[time, time]]


def parse(text: str) -> OpenHours:
    """``"Mon-Fri 09:00-18:00; Sat 09:00-13:00"``; raises ValueError on anything else."""
    days: dict[int, tuple[time, time]] = {}
    for raw in re.split(r"[;,]", text.lower()):
        part = raw.strip()
        if not part:
            continue
        match = _PART.fullmatch(part)
        if match is None or match["first"] not in DAYS or (match["last"] or "mon") not in DAYS:
            raise ValueError(f"not like 'Mon-Fri 09:00-18:00': {raw.strip()!r}")
        first = DAYS.index(match["first"])
        last = DAYS.index(match["last"]) if match["last"] else first
        opens, closes = time.fromisoformat(match["open"]), time.fromisoformat(match["close"])
        if closes <= opens or last < first:
            raise ValueError(f"opens after it closes: {raw.strip()!r}")
        for day in range(first, last + 1):
            days[day] = (opens, closes)
    if not days:
        raise ValueError("no opening hours given")
    return OpenHours(days)


def is_open(now: datetime, tz: ZoneInfo, hours: OpenHours) -> bool:
    local = now.astimezone(tz)
    span = hours.days.get(local.weekday())
    return span is not None and span[0] <= local.time() < span[1]


def next_opening(now: datetime, tz: ZoneInfo, hours: OpenHours) -> datetime:
    """The next moment the clinic opens after ``now`` (local time, aware)."""
    local = now.astimezone(tz)
    for ahead in range(8):
        day = local.date() + timedelta(days=ahead)
        span = hours.days.get(day.weekday())
        if span is None:
            continue
        opening = datetime.combine(day, span[0], tzinfo=tz)
        if opening > local:
            return opening
    raise ValueError("no opening in the coming week")  # parse() never allows this


def describe_opening(now: datetime, tz: ZoneInfo, hours: OpenHours) -> str:
    """When the clinic next opens, as a text says it: "09:00 today", "09:00 tomorrow",
    "09:00 on Monday"."""
    local = now.astimezone(tz)
    opening = next_opening(now, tz, hours)
    days = (opening.date() - local.date()).days
    if days == 0:
        return f"{opening:%H:%M} today"
    if days == 1:
        return f"{opening:%H:%M} tomorrow"
    return f"{opening:%H:%M} on {opening:%A}"
