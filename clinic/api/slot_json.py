"""The availability answer's JSON, written straight from the engine's integer table.

An availability answer holds hundreds of slots; building a dict and two aware datetimes per
slot for ``json.dumps`` to sort cost more than finding the slots. This writes the same bytes
Flask's JSON provider writes for ``{"service": ..., "slots": [{"end", "practitioner_id",
"start"}, ...], "time_zone": ...}`` (keys sorted, default separators), with each distinct
instant formatted once.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from clinic.booking.slots import SlotTable, from_micros

_MINUTE = 60_000_000
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def availability_json(
    service_slug: str,
    time_zone: str,
    table: SlotTable,
    zones: dict[int, ZoneInfo],
    default_zone: ZoneInfo,
) -> str:
    clocks: dict[ZoneInfo, LocalClock] = {}
    items = []
    duration = table.duration
    for start, practitioner_id in zip(table.starts, table.practitioner_ids, strict=True):
        zone = zones.get(practitioner_id) or default_zone
        clock = clocks.get(zone)
        if clock is None:
            clock = clocks[zone] = LocalClock(zone)
        items.append(
            f'{{"end": "{clock.iso(start + duration)}", "practitioner_id": {practitioner_id}, '
            f'"start": "{clock.iso(start)}"}}'
        )
    return (
        f'{{"service": {json.dumps(service_slug)}, "slots": [{", ".join(items)}], '
        f'"time_zone": {json.dumps(time_zone)}}}'
    )


class LocalClock:
    """``from_micros(value).astimezone(zone).isoformat()``, remembered per instant, and by
    arithmetic for whole minutes inside an hour with one UTC offset (every slot, in practice)."""

    def __init__(self, zone: ZoneInfo):
        self.zone = zone
        self._texts: dict[int, str] = {}
        self._hours: dict[int, tuple[int, str] | None] = {}
        self._dates: dict[int, str] = {}

    def iso(self, value: int) -> str:
        text = self._texts.get(value)
        if text is None:
            text = self._texts[value] = self._format(value)
        return text

    def _format(self, value: int) -> str:
        offset = self._offset_of_hour(value // _HOUR) if value % _MINUTE == 0 else None
        if offset is None:
            return from_micros(value).astimezone(self.zone).isoformat()
        shift, suffix = offset
        day, rest = divmod(value + shift, _DAY)
        day_text = self._dates.get(day)
        if day_text is None:
            day_text = self._dates[day] = date.fromordinal(_EPOCH_ORDINAL + day).isoformat()
        hours, minutes = divmod(rest // _MINUTE, 60)
        return f"{day_text}T{hours:02d}:{minutes:02d}:00{suffix}"

    def _offset_of_hour(self, hour: int) -> tuple[int, str] | None:
        """The UTC offset in force for the whole hour, with its ISO suffix; None when the
        offset changes inside the hour or is not whole minutes."""
        if hour in self._hours:
            return self._hours[hour]
        first = from_micros(hour * _HOUR).astimezone(self.zone)
        last = from_micros((hour + 1) * _HOUR - 1).astimezone(self.zone)
        offset = first.utcoffset()
        entry = None
        if offset == last.utcoffset() and offset % timedelta(minutes=1) == timedelta(0):
            suffix = first.replace(microsecond=0).isoformat()[19:]
            if len(suffix) == 6:
                entry = (offset // timedelta(microseconds=1), suffix)
        self._hours[hour] = entry
        return entry
