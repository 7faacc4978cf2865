"""Report pages, all under /desk/reports: the printable day sheet and the period figures.

Not under /admin: the admin area admits admins only, and practitioners read the period report
too. The day sheet is for every staff role (the desk prints the day; it shows what the desk page
already shows, and no health answers). The period report and its CSV are for practitioners and
admins: they are figures about colleagues' work and clinical review, not the desk's day.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request

from clinic.clock import utcnow
from clinic.reports import charts, figures, queries
from clinic.staff.auth import allow, any_staff_member
from clinic.staff.models import Role

# Nested in the staff area (clinic/staff/area.py) at /desk/reports.
bp = Blueprint("reports", __name__)

REPORT_ROLES = (Role.PRACTITIONER, Role.ADMIN)
_ID_SHAPE = re.compile(r"^[1-9]\d{0,8}$")


@bp.get("")
@allow(*REPORT_ROLES)
def period():
    place, report = _report()
    return render_template(
        "reports/period.html",
        report=report,
        place=place,
        locations=queries.locations(),
        bar_chart=charts.bar_chart,
    )


@bp.get("/reports.csv", endpoint="csv")
@allow(*REPORT_ROLES)
def csv_export():
    place, report = _report()
    out = io.StringIO()
    csv.writer(out).writerows(figures.csv_rows(report))
    name = f"report-{place.id}-{report.period.first}-to-{report.period.last}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/day-sheet")
@any_staff_member
def day_sheet():
    place = queries.location(_location_id())
    tz = ZoneInfo(place.timezone)
    today = utcnow().astimezone(tz).date()
    raw = request.args.get("day") or ""
    try:
        day = figures.parse_day(raw, "the day") if raw else today
    except figures.BadPeriod as exc:
        abort(400, description=str(exc))
    return render_template(
        "reports/day_sheet.html",
        sheet=queries.day_sheet(day, place),
        place=place,
        locations=queries.locations(),
        today=today,
        previous_day=max(day - timedelta(days=1), figures.FIRST_DAY),
        next_day=min(day + timedelta(days=1), figures.LAST_DAY),
    )


def _report():
    place = queries.location(_location_id())
    tz = ZoneInfo(place.timezone)
    now = utcnow()
    try:
        period = figures.parse_period(
            request.args.get("from"), request.args.get("to"), now.astimezone(tz).date(), tz
        )
    except figures.BadPeriod as exc:
        abort(400, description=str(exc))
    return place, queries.period_report(period, place, now)


def _location_id() -> int | None:
    raw = request.args.get("location") or ""
    if not raw:
        return None
    if not _ID_SHAPE.match(raw):
        abort(400, description="Choose a location from the list.")
    return int(raw)
