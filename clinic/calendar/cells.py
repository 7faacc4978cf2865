"""The timetable's rows and cells as the page writes them: every class, text and link worked out
once here, so the template's inner loop only prints.

A busy day has a few hundred cells. Working out a link with url_for, a time with the locale's
formatter or a booking query with a filter for each of them cost more than the rest of the page
together; here a link is its route's prefix and suffix around the visit's id, and each time is
formatted once for the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import quote_plus

from flask import url_for

from clinic.calendar import grid
from clinic.calendar.queries import BY_ROOM, FLAG_LABELS
from clinic.web.formatting import clinic_locale, clinic_tz, format_time

# Stands in for a visit's id while a route's link is built once; split out again around it.
_MARK = 987654321987

# Cells that say what they are only at the top of a run of the same kind.
_RUN_WORDS = {grid.CLOSED: "Closed", grid.OFF: "Time off", grid.BUFFER: "Busy"}


@dataclass(frozen=True, slots=True)
class VisitLink:
    href: str
    move_url: str
    status: str
    practitioner_id: int
    room_id: int
    times: str  # 10:00–10:30
    patient: str
    detail: str  # service · practitioner or room
    flags: tuple[tuple[str, str], ...]  # (key, words)


@dataclass(frozen=True, slots=True)
class CellView:
    kind: str
    css: str
    rowspan: int = 1
    text: str = ""  # what the cell says (the top of a run)
    hidden: str = ""  # words for a screen reader only
    href: str = ""  # a free cell's booking link
    start: str = ""  # a free cell's start, ISO 8601 with its offset
    practitioner_id: int | None = None
    room_id: int | None = None
    visits: tuple[VisitLink, ...] = ()


@dataclass(frozen=True, slots=True)
class RowView:
    label: str
    css: str
    is_now: bool
    cells: list[CellView]


class _Links:
    """A route's link with the visit's id put in, built with url_for once per page."""

    def __init__(self, endpoint: str):
        self.prefix, self.suffix = url_for(endpoint, appointment_id=_MARK).split(str(_MARK))

    def __call__(self, visit_id: int) -> str:
        return f"{self.prefix}{visit_id}{self.suffix}"


class _Clock:
    """The locale's wall time of an instant (the ``clock`` filter), formatted once a page for
    each wall time: the short time is hours and minutes, the same on every day of a week."""

    def __init__(self):
        self.tz, self.locale = clinic_tz(), clinic_locale()
        self.seen: dict[tuple[int, int], str] = {}

    def __call__(self, instant: datetime) -> str:
        local = instant.astimezone(self.tz)
        wall = (local.hour, local.minute)
        found = self.seen.get(wall)
        if found is None:
            found = self.seen[wall] = format_time(instant, self.tz, self.locale)
        return found


def rows(layout: grid.Grid, *, tz: tzinfo, by: str, week: bool, room_week: bool) -> list[RowView]:
    """The timetable's body rows. ``tz`` is the page's zone, the one a booking's start is
    written in; ``room_week`` is a room's week (its visits name the practitioner)."""
    clock = _Clock()
    visit_link, move_link = _Links("staff.visits.visit"), _Links("staff.visits.move")
    booking_path = url_for("staff.desk_booking.new")
    names_practitioner = by == BY_ROOM or room_week
    names_other = by == BY_ROOM or week
    visit_views: dict[int, VisitLink] = {}

    def visit_view(visit: grid.VisitFacts) -> VisitLink:
        found = visit_views.get(visit.id)
        if found is None:
            if names_other:
                other = visit.practitioner_name if names_practitioner else visit.room_name
            else:
                other = visit.room_name
            found = visit_views[visit.id] = VisitLink(
                href=visit_link(visit.id),
                move_url=move_link(visit.id),
                status=visit.status,
                practitioner_id=visit.practitioner_id,
                room_id=visit.room_id,
                times=f"{clock(visit.start)}–{clock(visit.end)}",
                patient=visit.patient_name,
                detail=f"{visit.service_name} · {other}",
                flags=tuple((flag, FLAG_LABELS[flag]) for flag in visit.flags),
            )
        return found

    views: list[RowView] = []
    above: list[str | None] = [None] * len(layout.columns)
    for row in layout.rows:
        cells = []
        for index, cell in enumerate(row.cells):
            kind = cell.kind
            first_of_run = above[index] != kind
            above[index] = kind
            if kind == grid.COVERED:
                continue
            if kind == grid.BLOCK:
                cells.append(
                    CellView(
                        kind,
                        "cell cell--block",
                        rowspan=cell.rowspan,
                        visits=tuple(visit_view(visit) for visit in cell.visits),
                    )
                )
            elif kind == grid.FREE:
                start = cell.span.start.astimezone(tz).isoformat()
                # The desk booking form's query: who, when (with its offset), where.
                href = (
                    f"{booking_path}?practitioner={cell.practitioner_id}&start={quote_plus(start)}"
                )
                if cell.room_id:
                    href += f"&room={cell.room_id}"
                hidden = f": book {clock(cell.span.start)}"
                if not week:
                    hidden += f" with {layout.columns[index].label}"
                cells.append(
                    CellView(
                        kind,
                        "cell cell--free gap-start" if cell.gap_start else "cell cell--free",
                        text=f"Free until {clock(cell.gap_end)}" if cell.gap_start else "Free",
                        hidden=hidden,
                        href=href,
                        start=start,
                        practitioner_id=cell.practitioner_id,
                        room_id=cell.room_id,
                    )
                )
            elif kind in _RUN_WORDS:
                text = _RUN_WORDS[kind] if first_of_run else ""
                cells.append(CellView(kind, f"cell cell--{kind}", text=text))
            elif kind == grid.SKIPPED:
                cells.append(CellView(kind, "cell cell--skipped", text="Clocks change"))
            elif kind == grid.PAST:
                cells.append(CellView(kind, "cell cell--past", hidden="Past"))
            else:
                cells.append(CellView(kind, "cell cell--out", hidden="Not working"))
        css = " ".join(
            name for name, on in (("is-now", row.is_now), ("on-the-hour", row.on_the_hour)) if on
        )
        views.append(RowView(row.label, css, row.is_now, cells))
    return views
