"""Local wall-clock time to aware UTC, by one rule everywhere.

A local date and wall time name one instant:

- a wall time the clocks skip (spring forward) moves forward by the gap: it is read with the
  offset in force before the change, so 01:30 on London's spring-forward night names 02:30 BST,
  which is 01:30 UTC;
- a wall time the clocks pass twice (autumn) names its first occurrence.

Stretches of wall time (working hours, a whole local day) take the same rule at each end, so
every part of the app agrees on the instant a wall time names.

Pure: no Flask and no database, so callers pass the zone in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

__all__ = [
    "day_bounds",
    "exists",
    "local_date",
    "naive_to_utc",
    "to_utc",
]


def to_utc(day: date, wall: time, tz: tzinfo) -> datetime:
    """The instant ``wall`` on ``day`` names in ``tz``, as aware UTC (see the module's rule)."""
    if wall.tzinfo is not None:
        raise ValueError("a wall time is local and must be naive")
    return naive_to_utc(datetime.combine(day, wall), tz)


def naive_to_utc(local: datetime, tz: tzinfo) -> datetime:
    """The instant a naive local datetime names in ``tz``, as aware UTC."""
    if local.tzinfo is not None:
        raise ValueError("a local datetime must be naive")
    # PEP 495: fold=0 reads a skipped time with the offset before the change (forward by the
    # gap) and a repeated time as its first occurrence, which is the rule.
    return local.replace(fold=0, tzinfo=tz).astimezone(UTC)


def exists(day: date, wall: time, tz: tzinfo) -> bool:
    """False for a wall time the clocks skip that day."""
    local = datetime.combine(day, wall.replace(fold=0))
    return to_utc(day, wall.replace(fold=0), tz).astimezone(tz).replace(tzinfo=None) == local


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """UTC instants of the local midnight starting ``day`` and the one ending it.

    23 or 25 hours apart on daylight-saving change days; where the clocks skip midnight
    itself, the day starts where the rule moves it: forward by the gap, at the change.
    """
    return to_utc(day, time(0), tz), to_utc(day + timedelta(days=1), time(0), tz)


def local_date(instant: datetime, tz: tzinfo) -> date:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instant must be a time-zone aware datetime")
    return instant.astimezone(tz).date()
