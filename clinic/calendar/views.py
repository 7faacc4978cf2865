"""The desk's calendar at /desk: a day across practitioners or rooms, or a week of one of them."""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import partial

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user

from clinic.calendar import cells, queries
from clinic.calendar.queries import BY_PRACTITIONER, BY_ROOM, DAY, WEEK
from clinic.staff import queries as staff_queries
from clinic.staff.auth import any_staff_member
from clinic.staff.forms import record_id
from clinic.staff.models import Role

# Nested in the staff area (clinic/staff/area.py); the name keeps the endpoint
# "staff.desk.index" that sign-in and the brand link go to.
bp = Blueprint("desk", __name__)

_DAY_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Far enough either way for any real diary, and clear of date arithmetic overflowing.
_FIRST_DAY, _LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


@bp.get("/desk")
@any_staff_member
def index():
    page = queries.calendar(_calendar_request(request.args))
    step = timedelta(days=7 if page.request.view == WEEK else 1)
    unreviewed = staff_queries.unreviewed_soon()
    return render_template(
        "calendar/desk.html",
        page=page,
        grid=page.grid,
        previous_day=page.request.day - step,
        next_day=page.request.day + step,
        rows=cells.rows(
            page.grid,
            tz=page.tz,
            by=page.request.by,
            week=page.request.view == WEEK,
            room_week=page.room is not None,
        ),
        unreviewed=unreviewed,
        desk_url=partial(_desk_url, page.request.location_id),
        can_review=current_user.role in (Role.PRACTITIONER, Role.ADMIN),
    )


def _desk_url(location_id, day=None, *, view=DAY, by=BY_PRACTITIONER, practitioner=None, room=None):
    """A link to another day, week or grouping of the calendar, keeping the location."""
    args = {
        "day": day.isoformat() if day else None,
        "view": view if view != DAY else None,
        "by": by if by != BY_PRACTITIONER else None,
        "practitioner": practitioner,
        "room": room,
        "location": location_id,
    }
    return url_for("staff.desk.index", **{k: v for k, v in args.items() if v is not None})


def _calendar_request(args) -> queries.CalendarRequest:
    """The page's query string, each part checked: a malformed one is a 400 that says why."""
    view = args.get("view") or DAY
    if view not in (DAY, WEEK):
        abort(400, description="Show the calendar by day (view=day) or by week (view=week).")
    by = args.get("by") or BY_PRACTITIONER
    if by not in (BY_PRACTITIONER, BY_ROOM):
        abort(400, description="Group the day by practitioner (by=practitioner) or by room.")
    practitioner = _optional_id(args.get("practitioner"), "practitioner")
    room = _optional_id(args.get("room"), "room")
    if practitioner is not None and room is not None:
        abort(400, description="Show one practitioner or one room, not both.")
    return queries.CalendarRequest(
        day=_requested_day(args.get("day")),
        view=view,
        by=BY_ROOM if room is not None else (BY_PRACTITIONER if practitioner else by),
        location_id=_optional_id(args.get("location"), "location"),
        practitioner_id=practitioner,
        room_id=room,
    )


def _optional_id(raw: str | None, what: str) -> int | None:
    return None if raw in (None, "") else record_id(raw, what)


def _requested_day(raw: str | None) -> date:
    if raw is None or raw == "":
        return queries.today()
    try:
        if not _DAY_SHAPE.match(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        abort(400, description="Give the day as YYYY-MM-DD, for example 2026-03-02.")
    if not _FIRST_DAY <= day <= _LAST_DAY:
        abort(400, description="That day is outside the diary.")
    return day
