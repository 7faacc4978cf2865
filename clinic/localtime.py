"""Local wall-clock time to aware UTC, by one rule everywhere.

A local date and wall time name one instant:

- a wall time the clocks skip (spring forward) moves forward by the gap: it is read with the
  offset in force before the change, so 01:30 on London's spring-forward night names 02:30 BST,
  which is 01:30 UTC;
- a wall time the clocks pass twice (autumn) names its first occurrence.

A stretch of wall time, such as working hours from 01:30 to 04:00 or a whole local day, covers
the instants whose clock reading falls inside it. Each bound is where the clock first reads it:
the instant the rule above names, except that a bound inside a gap is the change itself, since
the clock next reads 02:00 there. So a stretch never holds a moment its clock reading puts
outside it, and the instant the rule gives for its start always lies within it.

Pure: no Flask and no database, so callers pass the zone in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

__all__ = [
    "day_bounds",
    "exists",
    "local_date",
    "naive_to_utc",
    "stretch_bound",
    "to_utc",
]

_RESOLUTION = timedelta(microseconds=1)


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


def stretch_bound(day: date, wall: time, tz: tzinfo) -> datetime:
    """The first instant at which the clock on ``day`` reads ``wall`` or later: where a stretch
    of wall time from (or up to) ``wall`` begins (or ends)."""
    named = to_utc(day, wall.replace(fold=0), tz)
    if exists(day, wall, tz):
        return named
    # Inside a gap the rule's instant lies after the change; the same wall time read with the
    # offset after the change lies before it. The change is the first instant in between
    # whose offset differs from the earlier one.
    before = datetime.combine(day, wall.replace(fold=1), tzinfo=tz).astimezone(UTC)
    return _change_between(before, named, tz)


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """UTC instants of the local midnight starting ``day`` and the one ending it.

    23 or 25 hours apart on daylight-saving change days; where the clocks skip midnight
    itself, the day starts at the change.
    """
    return stretch_bound(day, time(0), tz), stretch_bound(day + timedelta(days=1), time(0), tz)


def local_date(instant: datetime, tz: tzinfo) -> date:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instant must be a time-zone aware datetime")
    return instant.astimezone(tz).date()


def _change_between(before: datetime, after: datetime, tz: tzinfo) -> datetime:
    """The first instant in ``(before, after]`` whose UTC offset differs from ``before``'s."""
    old_offset = before.astimezone(tz).utcoffset()
    while after - before > _RESOLUTION:
        middle = before + (after - before) / 2
        if middle.astimezone(tz).utcoffset() == old_offset:
            before = middle
        else:
            after = middle
    return after
