"""The availability answer's JSON, written straight from the engine's integer table.

An availability answer holds hundreds of slots; building a dict and two aware datetimes per
slot for ``json.dumps`` to sort cost more than finding the slots. This writes the same bytes
Flask's JSON provider writes for ``{"service": ..., "slots": [{"end", "practitioner_id",
"start"}, ...], "time_zone": ...}`` (keys sorted, default separators), with each distinct
instant, and each slot's item, formatted once per process.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from clinic.booking.slots import SlotTable, from_micros

_MINUTE = 60_000_000
_DAY = 24 * 60 * _MINUTE
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def availability_json(
    service_slug: str,
    time_zone: str,
    table: SlotTable,
    zones: dict[int, ZoneInfo],
    default_zone: ZoneInfo,
) -> str:
    clocks: dict[ZoneInfo, LocalClock] = {}
    if len({zones.get(pid) for pid in set(table.practitioner_ids)}) == 1:
        # One zone for every slot (one location): the usual case. Each (start, practitioner)
        # item is written once per process and looked up after that: answers keep asking
        # about the same quarter hours and the same people.
        clock = LocalClock(zones.get(table.practitioner_ids[0]) or default_zone)
        items = _items_of(clock, table.duration)
        pairs = list(zip(table.starts, table.practitioner_ids, strict=True))
        try:
            body = ", ".join(map(items.__getitem__, pairs))
        except KeyError:  # an item this process has not written yet
            missing = set(pairs).difference(items)
            if len(items) + len(missing) > _ITEMS_KEPT:
                items.clear()
                missing = set(pairs)
            duration = table.duration
            iso = clock.iso
            for start, practitioner_id in missing:
                items[start, practitioner_id] = _SLOT.format(
                    iso(start + duration), practitioner_id, iso(start)
                )
            body = ", ".join(map(items.__getitem__, pairs))
    else:
        starts, ends = [], []
        for start, practitioner_id in zip(table.starts, table.practitioner_ids, strict=True):
            zone = zones.get(practitioner_id) or default_zone
            clock = clocks.get(zone) or clocks.setdefault(zone, LocalClock(zone))
            starts.append(clock.iso(start))
            ends.append(clock.iso(start + table.duration))
        body = ", ".join(map(_SLOT.format, ends, table.practitioner_ids, starts))
    return (
        f'{{"service": {json.dumps(service_slug)}, "slots": [{body}], '
        f'"time_zone": {json.dumps(time_zone)}}}'
    )


_SLOT = '{{"end": "{}", "practitioner_id": {}, "start": "{}"}}'

# Written slot items per (zone, duration): {(start, practitioner_id): text}.
_ITEMS: dict[tuple[ZoneInfo, int], dict[tuple[int, int], str]] = {}
_ITEMS_KEPT = 200_000


def _items_of(clock: LocalClock, duration: int) -> dict[tuple[int, int], str]:
    return _ITEMS.setdefault((clock.zone, duration), {})


_TEXTS: dict[ZoneInfo, dict[int, str]] = {}
_TEXTS_KEPT = 100_000  # a year of every minute's start and end in two zones, give or take

# "HH:MM:00" for every minute of a day.
_CLOCK_FACES = [f"{hour:02d}:{minute:02d}:00" for hour in range(24) for minute in range(60)]


class LocalClock:
    """``from_micros(value).astimezone(zone).isoformat()``, remembered per instant (``texts``),
    and put together from a day and a clock face for whole minutes on a UTC day with one UTC
    offset (every slot, in practice)."""

    def __init__(self, zone: ZoneInfo):
        self.zone = zone
        # Shared by every answer this process writes in the zone: an instant's local text
        # never changes, and answers keep asking about the same quarter hours.
        self.texts = _TEXTS.setdefault(zone, {})
        if len(self.texts) > _TEXTS_KEPT:
            self.texts.clear()
        self._utc_days: dict[int, tuple[int, str] | None] = {}
        self._local_days: dict[int, str] = {}

    def iso(self, value: int) -> str:
        text = self.texts.get(value)
        if text is not None:
            return text
        day = value // _DAY
        offset = self._utc_days[day] if day in self._utc_days else self._offset_of_day(day)
        if offset is None or value % _MINUTE:
            text = from_micros(value).astimezone(self.zone).isoformat()
        else:
            shift, suffix = offset
            local_day, minute = divmod((value + shift) // _MINUTE, 24 * 60)
            prefix = self._local_days.get(local_day)
            if prefix is None:
                prefix = date.fromordinal(_EPOCH_ORDINAL + local_day).isoformat() + "T"
                self._local_days[local_day] = prefix
            text = prefix + _CLOCK_FACES[minute] + suffix
        self.texts[value] = text
        return text

    def _offset_of_day(self, day: int) -> tuple[int, str] | None:
        """The UTC offset in force for the whole UTC day, with its ISO suffix; None when the
        offset changes that day or is not whole minutes (no zone changes twice in a day)."""
        first = from_micros(day * _DAY).astimezone(self.zone)
        last = from_micros((day + 1) * _DAY - 1).astimezone(self.zone)
        offset = first.utcoffset()
        entry = None
        if offset == last.utcoffset() and offset % timedelta(minutes=1) == timedelta(0):
            suffix = first.replace(microsecond=0).isoformat()[19:]
            if len(suffix) == 6:
                entry = (offset // timedelta(microseconds=1), suffix)
        self._utc_days[day] = entry
        return entry
