"""Reports: the period figures over a seeded month, their charts and CSV, and the day sheet.

The seeded month is March 2026 in London: it holds the spring-forward night (Sunday 29 March,
01:00 GMT becomes 02:00 BST), a closure, a practitioner's time off, visits in every state,
courses that finish, fall short or are still running, review decisions, texts and alerts. The
expected figures are counted here from the rows themselves, with zoneinfo and plain Python,
never through clinic.reports.
"""

from __future__ import annotations

import csv
import io
import math
import re
import statistics
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from clinic.booking.models import Appointment
from clinic.booking.services import cancel
from clinic.catalog.models import Location, Practitioner, Service, WorkingHours
from clinic.courses.models import Course
from clinic.courses.services import CourseRequest, book_course, sessions
from clinic.extensions import db
from clinic.reports import charts, figures
from clinic.screening import questions
from clinic.screening import services as screening_services
from clinic.screening.models import Screening
from clinic.sms.models import OutboundText, StaffAlert
from clinic.staff.services import create_staff
from clinic.visits import services as visits
from clinic.visits.desk import sign_consent_at_desk
from clinic.visits.services import SessionInput
from tests.factories import (
    add_time_off,
    all_no,
    make_booking,
    make_clinic,
    patient_details,
    signed,
)
from tests.helpers import make_staff, sign_in

LONDON = ZoneInfo("Europe/London")
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
REPORT = "/desk/reports"
CSV = "/desk/reports/reports.csv"
SHEET = "/desk/reports/day-sheet"
MARCH_QUERY = "?from=2026-03-01&to=2026-03-31"
SESSION = SessionInput(
    device="pen",
    needle_depth_mm=1.0,
    areas=("crown",),
    numbing_used=True,
    add_ons=(),
    cartridge_lot="CT-1",
)
FLAGGED = {"anticoagulant": True}


def utc(month, day, hour, minute=0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def local(month, day, hour, minute=0) -> datetime:
    """A London wall time as aware UTC, by zoneinfo alone."""
    return datetime(2026, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def local_day(instant: datetime) -> date:
    return instant.astimezone(LONDON).date()


def in_march(instant: datetime | None) -> bool:
    return instant is not None and MARCH[0] <= local_day(instant) <= MARCH[1]


# --- the seeded month -------------------------------------------------------------------------


@dataclass
class Month:
    clinic: object
    clinician: object
    p1: Practitioner
    p2: Practitioner
    courses: dict[str, Course] = field(default_factory=dict)
    waits: list[float] = field(default_factory=list)  # review waits decided in March, minutes
    decisions: Counter = field(default_factory=Counter)


def person(number: int, **overrides):
    return patient_details(
        full_name=f"Patient {number}",
        phone=f"+4479111234{number:02d}",
        email=f"p{number}@example.com",
        **overrides,
    )


def attend(clock, appointment, clinician, *, finish=True):
    clock.set(appointment.start_at - timedelta(minutes=5))
    visits.check_in(appointment.id, changes_since_last_visit=False)
    if not finish:
        return
    clock.set(appointment.end_at)
    if appointment.needles:
        visits.complete(appointment.id, SESSION, clinician)
    else:
        visits.finish_consultation(appointment.id)


def no_show(clock, appointment):
    clock.set(appointment.start_at + timedelta(minutes=20))
    visits.mark_no_show(appointment.id)


def held_screening(appointment) -> Screening:
    return db.session.scalars(
        select(Screening).where(Screening.appointment_id == appointment.id)
    ).one()


def decide(clock, month: Month, appointment, at: datetime, *, approve=True):
    clock.set(at)
    screening = held_screening(appointment)
    if approve:
        screening_services.approve(screening.id, month.clinician)
    else:
        screening_services.decline(screening.id, month.clinician, "Not today")
    if in_march(at):
        month.waits.append((at - screening.created_at).total_seconds() / 60)
        month.decisions["approved" if approve else "declined"] += 1


def a_course(clock, number, first_start, practitioner) -> tuple[Course, list[Appointment]]:
    """A three-session steroid course planned at the desk, screened and consented once."""
    details = person(number)
    first = make_booking(
        "consultation",
        local(2, 9, 9) + timedelta(minutes=30 * (number - 20)),
        patient=details,
        source="desk",
        practitioner_id=practitioner.id,
    )
    course = book_course(
        CourseRequest(
            first.patient_id,
            "microneedling-steroid",
            "three-weekly-3",
            first_start,
            practitioner_id=practitioner.id,
        )
    )
    planned = sessions(course.id)
    visits.rescreen_at_desk(planned[0].id, all_no("microneedling-steroid"))
    sign_consent_at_desk(planned[0].id, signed(details))
    return course, planned


def seed_month(clock) -> Month:
    clock.set(utc(2, 2, 8))
    clinic = make_clinic(rooms=2)
    p1, p2 = clinic.practitioners
    # Practitioner 2 also works early on Sundays, across the hour the clocks skip on 29 March.
    db.session.add(
        WorkingHours(practitioner=p2, weekday=6, start_time=time(0, 30), end_time=time(3, 30))
    )
    db.session.commit()
    add_time_off(clinic.location, utc(3, 11, 12), utc(3, 11, 17), reason="Training")
    add_time_off(clinic.location, local(3, 13, 0), local(3, 14, 0), practitioner=p1)
    add_time_off(clinic.location, local(4, 20, 9), local(4, 20, 17), practitioner=p1)
    clinician = create_staff(
        email="dr@example.com", name="Dr Rao", role="practitioner", password="p" * 12
    )
    month = Month(clinic, clinician, p1, p2)

    book = {}

    def online(key, slug, start, practitioner, number, answers=None):
        extra = {"screening": all_no(slug) | answers} if answers else {}
        book[key] = make_booking(
            slug, start, patient=person(number), practitioner_id=practitioner.id, **extra
        )

    # Booked in February for March (and either side of it).
    online("before", "consultation", utc(2, 28, 10), p1, 1)
    online("a", "consultation", utc(3, 3, 10), p1, 2)
    online("b", "consultation", utc(3, 4, 10), p2, 3)
    online("c", "microneedling", utc(3, 5, 14), p1, 4)
    online("d", "consultation", utc(3, 6, 11), p2, 5)
    online("e", "microneedling", utc(3, 9, 14), p1, 6)
    online("f", "consultation", utc(3, 10, 14), p2, 7)
    online("j", "consultation", local(3, 30, 14), p1, 8)
    online("after", "consultation", local(4, 1, 10), p2, 9)
    online("early_review", "microneedling", utc(2, 20, 14), p1, 10, FLAGGED)
    decide(clock, month, book["early_review"], utc(2, 2, 9))  # decided in February: not counted

    for key, number, first_start, practitioner in (
        ("finished", 21, local(2, 17, 10), p1),
        ("short", 22, local(2, 16, 10), p2),
        ("running", 23, local(2, 12, 10), p1),
        ("april", 24, local(2, 19, 10), p2),
    ):
        month.courses[key], book[key] = a_course(clock, number, first_start, practitioner)

    # Held for review in March and decided after 45 minutes, 3 hours, 26 hours and 5 days.
    clock.set(utc(3, 2, 8))
    online("g", "microneedling", utc(3, 16, 14), p1, 11, FLAGGED)
    online("h", "microneedling", utc(3, 17, 14), p2, 12, FLAGGED)
    online("i", "microneedling", utc(3, 18, 14), p1, 13, FLAGGED)
    online("k", "microneedling", utc(3, 19, 14), p2, 14, FLAGGED)
    online("pending", "microneedling", utc(3, 20, 14), p2, 15, FLAGGED)  # never decided
    decide(clock, month, book["g"], utc(3, 2, 8, 45))
    decide(clock, month, book["k"], utc(3, 2, 11))
    cancel(book["e"], by_patient=False, reason="Patient asked")

    finished, short, running, april = (book[k] for k in ("finished", "short", "running", "april"))
    for session in (finished[0], short[0], running[0], april[0]):
        attend(clock, session, clinician)
    attend(clock, book["a"], clinician, finish=False)
    decide(clock, month, book["h"], utc(3, 3, 10), approve=False)
    clock.set(book["a"].end_at)
    visits.finish_consultation(book["a"].id)
    attend(clock, book["b"], clinician)
    no_show(clock, running[1])
    attend(clock, book["c"], clinician)
    no_show(clock, book["d"])
    decide(clock, month, book["i"], utc(3, 7, 8))
    attend(clock, short[1], clinician)
    attend(clock, finished[1], clinician)
    attend(clock, book["f"], clinician, finish=False)  # checked in, never completed
    attend(clock, april[1], clinician)
    no_show(clock, book["i"])
    attend(clock, book["k"], clinician)
    clock.set(utc(3, 29, 9))
    cancel(short[2], by_patient=False, reason="Moving away")
    attend(clock, book["j"], clinician)
    attend(clock, finished[2], clinician)

    seed_texts_and_alerts()
    clock.set(utc(4, 1, 12))
    return month


def seed_texts_and_alerts():
    """Texts in every status (two just either side of the period's end, which is the BST
    midnight: 23:00 UTC) and alerts with and without an acknowledgement."""
    texts = [
        ("delivered", utc(3, 2, 9)),
        ("delivered", utc(3, 10, 9)),
        ("delivered", utc(3, 31, 22, 30)),  # 23:30 BST on 31 March: in
        ("delivered", utc(3, 31, 23, 30)),  # 00:30 BST on 1 April: out
        ("delivered", utc(2, 28, 23, 30)),  # 23:30 GMT on 28 February: out
        ("sent", utc(3, 12, 9)),
        ("undelivered", utc(3, 13, 9)),
        ("failed", utc(3, 14, 9)),
        ("failed", utc(3, 15, 9)),
        ("pending", utc(3, 30, 9)),
        ("sending", utc(3, 30, 10)),
        ("skipped", utc(3, 16, 9)),
        ("cancelled", utc(3, 17, 9)),
    ]
    for number, (status, send_at) in enumerate(texts):
        db.session.add(
            OutboundText(
                kind=f"report-test-{number}",
                to_number="+447700900123",
                body="",
                send_at=send_at,
                expires_at=send_at + timedelta(hours=6),
                status=status,
                created_at=send_at,
                updated_at=send_at,
            )
        )
    alerts = [
        ("emergency", utc(3, 3, 9), 5),
        ("urgent", utc(3, 8, 9), 15),
        ("urgent", utc(3, 9, 9), 60),
        ("task", utc(3, 31, 22, 50), None),  # in, still open
        ("urgent", utc(3, 31, 23, 10), 1),  # 00:10 BST on 1 April: out
    ]
    for level, created_at, minutes in alerts:
        db.session.add(
            StaffAlert(
                level=level,
                reason="Report test",
                created_at=created_at,
                acknowledged_at=created_at + timedelta(minutes=minutes) if minutes else None,
            )
        )
    db.session.commit()


# --- counting the expected figures, independently -------------------------------------------


def march_visits() -> list[Appointment]:
    return [a for a in db.session.scalars(select(Appointment)) if in_march(a.start_at)]


def working_minutes(day: date, start: time, end: time) -> float:
    opens = datetime.combine(day, start, tzinfo=LONDON).astimezone(UTC)
    closes = datetime.combine(day, end, tzinfo=LONDON).astimezone(UTC)
    return (closes - opens).total_seconds() / 60


def expected_working(month: Month) -> dict[str, int]:
    """Minutes each practitioner works in March, and when either does (the rooms' time)."""
    days = [MARCH[0] + timedelta(days=n) for n in range(31)]
    weekday_hours = {d: working_minutes(d, time(9), time(17)) for d in days}
    sunday_hours = {d: working_minutes(d, time(0, 30), time(3, 30)) for d in days}
    assert sunday_hours[date(2026, 3, 29)] == 120  # the hour the clocks skip is not worked
    assert sunday_hours[date(2026, 3, 22)] == 180
    closure = 5 * 60  # 11 March, 12:00-17:00 GMT, inside both practitioners' hours
    time_off = 8 * 60  # practitioner 1, all of Friday 13 March
    mon_to_sat = sum(weekday_hours[d] for d in days if d.weekday() < 6)
    sundays = sum(sunday_hours[d] for d in days if d.weekday() == 6)
    return {
        "Practitioner 1": round(mon_to_sat - closure - time_off),
        "Practitioner 2": round(mon_to_sat - closure + sundays),
        # Practitioner 2 works through practitioner 1's day off.
        "room": round(mon_to_sat - closure + sundays),
    }


def rate(numerator: int, denominator: int) -> str:
    return f"{100 * numerator / denominator:.1f}%"


def nearest_rank(values, share):
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1]


def expected_figures(month: Month) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(section, name) -> (value, numerator, denominator), as the page and the CSV show them."""
    seen = march_visits()
    status = Counter(a.status for a in seen)
    assert len(seen) == 19 and status["completed"] == 9  # the scenario went as planned
    names = {s.id: s.name for s in db.session.scalars(select(Service))}
    want = {}

    def put(section, name, value, numerator="", denominator=""):
        want[(section, name)] = (str(value), str(numerator), str(denominator))

    completed = Counter(names[a.service_id] for a in seen if a.status == "completed")
    put("Completed sessions", "All services", sum(completed.values()))
    for service, count in completed.items():
        put("Completed sessions", service, count)

    attended = status["completed"] + status["checked_in"]
    due = attended + status["no_show"]
    put("No-shows", "No-show rate", rate(status["no_show"], due), status["no_show"], due)
    put("No-shows", "Attended (checked in or completed)", attended)
    put("No-shows", "No-shows", status["no_show"])
    unmarked = [
        a
        for a in seen
        if a.status in ("booked", "confirmed", "needs_review") and a.start_at < utc(4, 1, 12)
    ]
    put("No-shows", "Started but not yet marked", len(unmarked))

    total, cancelled = len(seen), status["cancelled"]
    put("Cancellations", "Cancellation rate", rate(cancelled, total), cancelled, total)
    put("Cancellations", "Visits starting in the period", total)
    put("Cancellations", "Cancelled", cancelled)

    working = expected_working(month)
    holding = [a for a in seen if a.status not in ("cancelled", "no_show")]
    for practitioner in (month.p1, month.p2):
        booked = sum(
            (a.end_at - a.start_at).total_seconds() / 60
            for a in holding
            if a.practitioner_id == practitioner.id
        )
        available = working[practitioner.name]
        put(
            "Chair use per practitioner",
            practitioner.name,
            rate(booked, available),
            round(booked),
            available,
        )
    for room in month.clinic.rooms:
        booked = sum(
            (a.end_at - a.start_at).total_seconds() / 60 for a in holding if a.room_id == room.id
        )
        put(
            "Chair use per room",
            room.name,
            rate(booked, working["room"]),
            round(booked),
            working["room"],
        )

    # Courses: finished ends 31 March with all three done; short lost its last session;
    # running still has its last session booked; april ends in April.
    put("Course completion", "Completion rate", rate(1, 2), 1, 2)
    put("Course completion", "Completed every planned session", 1)
    put("Course completion", "Fell short", 1)
    put("Course completion", "Still in progress", 1)

    waits = month.waits
    assert sorted(waits) == [45, 180, 26 * 60, 5 * 24 * 60]
    put("Time from booking to clinical review", "Review decisions", len(waits))
    put("Time from booking to clinical review", "Approved", month.decisions["approved"])
    put("Time from booking to clinical review", "Declined", month.decisions["declined"])
    put(
        "Time from booking to clinical review",
        "Median wait (minutes)",
        f"{statistics.median(waits):.1f}",
    )
    put(
        "Time from booking to clinical review",
        "90th percentile wait (minutes)",
        f"{nearest_rank(waits, 0.9):.1f}",
    )

    texts = Counter(
        t.status for t in db.session.scalars(select(OutboundText)) if in_march(t.send_at)
    )
    handed = texts["delivered"] + texts["sent"] + texts["undelivered"] + texts["failed"]
    put(
        "Text delivery",
        "Delivery rate",
        rate(texts["delivered"], handed),
        texts["delivered"],
        handed,
    )
    put("Text delivery", "Texts planned in the period", sum(texts.values()))
    put("Text delivery", "Delivered", texts["delivered"])
    put("Text delivery", "Sent, no delivery report yet", texts["sent"])
    put("Text delivery", "Undelivered", texts["undelivered"])
    put("Text delivery", "Failed", texts["failed"])
    put("Text delivery", "Pending", texts["pending"] + texts["sending"])
    put("Text delivery", "Not sent (skipped or cancelled)", texts["skipped"] + texts["cancelled"])

    alerts = [a for a in db.session.scalars(select(StaffAlert)) if in_march(a.created_at)]
    levels = Counter(a.level for a in alerts)
    acknowledged = [
        (a.acknowledged_at - a.created_at).total_seconds() / 60 for a in alerts if a.acknowledged_at
    ]
    put("Reply alerts", "Alerts raised", len(alerts))
    for label in ("Emergency", "Urgent", "Task"):
        put("Reply alerts", label, levels[label.lower()])
    put("Reply alerts", "Acknowledged", len(acknowledged), len(acknowledged), len(alerts))
    put(
        "Reply alerts",
        "Median minutes to acknowledgement",
        f"{statistics.median(acknowledged):.1f}",
    )
    return want


# --- reading the page ------------------------------------------------------------------------


class ReportTables(HTMLParser):
    """Each figure table's rows, by its section's title (the table's caption)."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._caption = None
        self._in_table = False
        self._row = None
        self._cell = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("class", "report-table") in attrs:
            self._in_table, self._caption = True, ""
        elif self._in_table and tag == "caption":
            self._cell = "caption"
            self._text = ""
        elif self._in_table and tag == "tr":
            self._row = []
        elif self._in_table and tag in ("td", "th") and self._row is not None:
            self._cell, self._text = tag, ""

    def handle_endtag(self, tag):
        if not self._in_table:
            return
        if tag == "caption":
            self._caption = self._text.strip()
            self.tables[self._caption] = []
            self._cell = None
        elif tag in ("td", "th") and self._cell:
            self._row.append(self._text.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._caption].append(self._row)
            self._row = None
        elif tag == "table":
            self._in_table = False

    def handle_data(self, data):
        if self._cell:
            self._text += data


def page_figures(html: str) -> dict[tuple[str, str], tuple[str, str, str]]:
    parser = ReportTables()
    parser.feed(html)
    found = {}
    for section, rows in parser.tables.items():
        for row in rows[1:]:  # the header row first
            name, value, numerator, denominator = row
            found[(section, name)] = (value, numerator, denominator)
    return found


def csv_figures(body: str) -> dict[tuple[str, str], tuple[str, str, str]]:
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["section", "name", "value", "numerator", "denominator"]
    return {(s, n): (v, num, den) for s, n, v, num, den in rows[1:]}


def signed_in_client(app, role="admin"):
    client = app.test_client()
    make_staff(role=role, email=f"{role}-reports@example.com")
    assert sign_in(client, email=f"{role}-reports@example.com").status_code == 302
    return client


# --- the seeded month, on both databases ----------------------------------------------------


def test_each_figure_matches_the_counts_of_a_seeded_month(any_app, clock):
    month = seed_month(clock)
    want = expected_figures(month)
    client = signed_in_client(any_app)

    page = client.get(REPORT + MARCH_QUERY)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = page_figures(html)
    for key, expected in want.items():
        assert shown.get(key) == expected, key
    # Nothing on the page that the count above does not know of, services with no completed
    # session aside.
    assert set(shown) - set(want) == set()

    exported = client.get(CSV + MARCH_QUERY)
    assert exported.status_code == 200
    assert exported.mimetype == "text/csv"
    assert re.match(
        r'attachment; filename="report-\d+-2026-03-01-to-2026-03-31\.csv"',
        exported.headers["Content-Disposition"],
    )
    assert csv_figures(exported.get_data(as_text=True)) == shown
    check_charts(html)


def test_the_report_reads_a_bounded_number_of_queries(app, clock):
    clinic = make_clinic()
    client = signed_in_client(app)
    statements = []

    def count(*_args):
        statements.append(1)

    def queries_for(query: str) -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(REPORT + query).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    empty = queries_for(MARCH_QUERY)
    for number, day in enumerate((3, 4, 5, 6, 9, 10), start=1):
        make_booking(
            "consultation",
            utc(3, day, 10),
            patient=person(number),
            practitioner_id=clinic.practitioners[number % 2].id,
        )
    seed_texts_and_alerts()
    # More rows, more days: the same statements.
    assert queries_for(MARCH_QUERY) == empty
    assert queries_for("?from=2025-04-01&to=2026-03-31") == empty
    assert empty < 25


# --- charts --------------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def check_charts(html: str) -> None:
    """One chart per figure: an SVG image named by its title and description, whose
    description reads out every bar, with one bar per category and heights in proportion."""
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert len(svgs) == 9
    for markup in svgs:
        svg = ET.fromstring(markup)
        assert svg.get("role") == "img"
        title_id, desc_id = svg.get("aria-labelledby").split()
        title = svg.find(f"{SVG}title")
        desc = svg.find(f"{SVG}desc")
        assert title.get("id") == title_id and title.text
        assert desc.get("id") == desc_id and desc.text
        assert "style" not in markup
        bars = svg.findall(f"{SVG}rect")
        labels = [
            " ".join(t.text for t in label.findall(f"{SVG}tspan"))
            for label in svg.findall(f"{SVG}text")
            if label.get("class") == "chart__label"
        ]
        values = [t.text for t in svg.findall(f"{SVG}text") if t.get("class") == "chart__value"]
        assert len(bars) == len(labels) == len(values) > 0
        for label, value in zip(labels, values, strict=True):
            assert f"{label}: {value}" in desc.text
        heights = [float(bar.get("height")) for bar in bars]
        numbers = [float(v.rstrip("%")) for v in values]
        top = max(numbers)
        # Rates are shown to a tenth of a percent: allow for that rounding.
        for height, number in zip(heights, numbers, strict=True):
            expected = charts.PLOT_HEIGHT * number / top if top else 0
            slack = charts.PLOT_HEIGHT * 0.05 / top * (1 + number / top) if top else 0
            assert abs(height - expected) <= slack + 0.01, (title.text, heights, numbers)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_a_chart_has_one_bar_per_category_and_bar_heights_in_proportion():
    chart = figures.Chart(
        "Visits",
        tuple(
            figures.Bar(name, value, str(value))
            for name, value in (("Kept", 6), ("Cancelled", 3), ("None", 0))
        ),
        "visits",
    )
    svg = ET.fromstring(str(charts.bar_chart(chart, "c1")))
    bars = svg.findall(f"{SVG}rect")
    assert [float(b.get("height")) for b in bars] == [charts.PLOT_HEIGHT, charts.PLOT_HEIGHT / 2, 0]
    # The bars stand on one baseline.
    assert len({float(b.get("y")) + float(b.get("height")) for b in bars}) == 1
    assert svg.find(f"{SVG}desc").text == "Visits (visits). Kept: 6; Cancelled: 3; None: 0."


def test_chart_text_is_escaped():
    chart = figures.Chart("<b>", (figures.Bar("<script>x</script>", 1, "1"),), "a&b")
    markup = str(charts.bar_chart(chart, "c2"))
    assert "<script>" not in markup and "<b>" not in markup
    ET.fromstring(markup)  # still well-formed


def test_an_empty_period_draws_charts_without_bars_taller_than_zero(app, clock):
    make_clinic()
    client = signed_in_client(app)
    page = client.get(REPORT + "?from=2025-01-01&to=2025-01-31")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'height="0"' in html
    assert "n/a" in html  # rates without a denominator have no value


# --- the CSV ---------------------------------------------------------------------------------


def test_csv_cells_that_look_like_formulas_are_defused(app, clock):
    make_clinic()
    practitioner = db.session.scalars(select(Practitioner)).first()
    practitioner.name = '=HYPERLINK("http://example.com")'
    db.session.commit()
    client = signed_in_client(app)
    rows = list(csv.reader(io.StringIO(client.get(CSV).get_data(as_text=True))))
    names = [row[1] for row in rows if row[0] == "Chair use per practitioner"]
    assert '\'=HYPERLINK("http://example.com")' in names
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1"])
def test_safe_cell_prefixes_formula_starts(text):
    assert figures.safe_cell(text) == "'" + text


def test_safe_cell_leaves_plain_values():
    assert figures.safe_cell("12.5%") == "12.5%"
    assert figures.safe_cell(None) == ""
    assert figures.safe_cell(7) == "7"


# --- the period and bad input ----------------------------------------------------------------


def test_the_default_period_is_the_last_thirty_local_days(app, clock):
    make_clinic()
    clock.set(utc(3, 29, 23, 30))  # 00:30 BST on Monday 30 March
    client = signed_in_client(app)
    html = client.get(REPORT).get_data(as_text=True)
    assert 'name="from" value="2026-03-01"' in html
    assert 'name="to" value="2026-03-30"' in html
    assert "30 days" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?from=2026-3-1&to=2026-03-31", "Give the first day as YYYY-MM-DD"),
        ("?from=2026-03-01&to=2026-02-30", "Give the last day as YYYY-MM-DD"),
        ("?from=2026-03-31&to=2026-03-01", "The first day must not be after the last day."),
        ("?from=2025-01-01&to=2026-03-31", "Choose a period of at most 366 days."),
        ("?from=0001-01-01&to=2026-01-02", "The first day is outside the diary."),
        ("?from=2026-01-01&to=3000-01-01", "The last day is outside the diary."),
        ("?location=abc", "Choose a location from the list."),
        ("?location=-1", "Choose a location from the list."),
    ],
)
@pytest.mark.parametrize("path", [REPORT, CSV])
def test_bad_report_parameters_are_a_400_with_a_message(app, path, query, message):
    make_clinic()
    client = signed_in_client(app)
    response = client.get(path + query)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_an_unknown_location_is_not_found(app):
    make_clinic()
    client = signed_in_client(app)
    assert client.get(REPORT + "?location=999").status_code == 404
    assert client.get(SHEET + "?location=999").status_code == 404


def test_each_location_reports_its_own_visits_in_its_own_time_zone(app, clock):
    make_clinic()
    make_booking("consultation", utc(3, 3, 10), patient=person(1))
    other = Location(name="Harbour Clinic", phone="+1 212 555 0100", timezone="America/New_York")
    db.session.add(other)
    db.session.commit()
    client = signed_in_client(app)

    def visits_in(query):
        html = client.get(REPORT + query).get_data(as_text=True)
        return page_figures(html)[("Cancellations", "Visits starting in the period")][0], html

    count, html = visits_in("?from=2026-03-03&to=2026-03-03")
    assert count == "1"
    assert "Harbour Clinic" in html  # offered in the location list
    count, html = visits_in(f"?from=2026-03-03&to=2026-03-03&location={other.id}")
    assert count == "0"
    assert "America/New_York" in html
    # The default period ends on the location's own today: still 1 March in New York.
    clock.set(utc(3, 2, 3))
    assert 'name="to" value="2026-03-01"' in client.get(REPORT + f"?location={other.id}").get_data(
        as_text=True
    )


def test_a_period_of_exactly_366_days_is_accepted(app):
    make_clinic()
    client = signed_in_client(app)
    assert client.get(REPORT + "?from=2025-03-31&to=2026-03-31").status_code == 200


# --- who may see reports ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "period", "sheet"),
    [("admin", 200, 200), ("practitioner", 200, 200), ("desk", 403, 200)],
)
def test_reports_are_for_practitioners_and_admins_and_the_day_sheet_for_all_staff(
    app, role, period, sheet
):
    make_clinic()
    client = signed_in_client(app, role)
    assert client.get(REPORT).status_code == period
    assert client.get(CSV).status_code == period
    assert client.get(SHEET).status_code == sheet
    nav = client.get("/desk").get_data(as_text=True)
    assert ('href="/desk/reports"' in nav) == (period == 200)
    assert 'href="/desk/reports/day-sheet"' in nav or period == 200


def test_signed_out_visitors_are_sent_to_sign_in_from_reports(app, client):
    make_clinic()
    for path in (REPORT, CSV, SHEET):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


# --- the day sheet -------------------------------------------------------------------------


def sheet_rows(html: str) -> dict[str, list[list[str]]]:
    """Each practitioner's rows (heading -> cells), in the page's order."""
    groups = {}
    for heading, body in re.findall(
        r'<h2 id="practitioner-\d+">(.*?)</h2>(.*?)</table>', html, flags=re.S
    ):
        groups[heading] = [
            [
                re.sub(r"<[^>]+>", "", cell).strip()
                for cell in re.findall(r"<td>(.*?)</td>", row, re.S)
            ]
            for row in re.findall(r"<tr class=.*?</tr>", body, flags=re.S)
        ]
    return groups


def test_the_day_sheet_lists_each_practitioners_visits_in_time_order_with_flags(app, clock):
    clinic = make_clinic(rooms=2)
    p1, p2 = clinic.practitioners
    day = utc(3, 10, 0)
    late = make_booking(
        "consultation", day.replace(hour=15), patient=person(1), practitioner_id=p1.id
    )
    early = make_booking(
        "microneedling", day.replace(hour=9), patient=person(2), practitioner_id=p1.id
    )
    held = make_booking(
        "microneedling",
        day.replace(hour=11),
        patient=person(3),
        practitioner_id=p2.id,
        screening=all_no("microneedling") | FLAGGED,
    )
    unsigned = make_booking(
        "microneedling",
        day.replace(hour=13),
        patient=person(4),
        practitioner_id=p2.id,
        source="desk",
    )
    gone = make_booking(
        "consultation", day.replace(hour=14), patient=person(5), practitioner_id=p2.id
    )
    cancel(gone, by_patient=False)
    make_booking("consultation", utc(3, 11, 10), patient=person(6), practitioner_id=p1.id)
    client = signed_in_client(app, "desk")

    response = client.get(SHEET + "?day=2026-03-10")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    rows = sheet_rows(html)
    assert list(rows) == ["Practitioner 1", "Practitioner 2"]
    assert [r[0] for r in rows["Practitioner 1"]] == ["09:00–09:45", "15:00–15:20"]
    assert [r[1] for r in rows["Practitioner 1"]] == ["Patient 2", "Patient 1"]
    assert rows["Practitioner 1"][0][2:5] == ["07911 123402", early.service.name, early.room.name]
    assert [r[1] for r in rows["Practitioner 2"]] == ["Patient 3", "Patient 4", "Patient 5"]
    flags = {r[1]: r[6] for group in rows.values() for r in group}
    assert flags["Patient 3"] == "Needs clinical review"
    assert flags["Patient 4"] == "Consent missing"
    assert flags["Patient 2"] == flags["Patient 1"] == flags["Patient 5"] == ""
    statuses = {r[1]: r[5] for group in rows.values() for r in group}
    assert statuses["Patient 5"] == "Cancelled"
    assert "Patient 6" not in html  # another day
    assert re.findall(r'data-appointment="(\d+)"', html) == [
        str(a.id) for a in (early, late, held, unsigned, gone)
    ]
    # No health answers: neither the question's key nor its wording.
    assert "anticoagulant" not in html
    assert questions.current().question("anticoagulant").text not in html
    assert "reports.css" in html


def test_the_day_sheet_prints_without_navigation():
    css = (Path(__file__).resolve().parent.parent / "static/css/reports.css").read_text()
    print_rules = css[css.index("@media print") :]
    assert ".no-print" in print_rules and ".site-header" in print_rules


def test_the_day_sheet_follows_the_local_day_across_the_clock_change(app, clock):
    clinic = make_clinic()
    p1 = clinic.practitioners[0]
    # Monday 30 March, the first BST weekday: 09:00 local is 08:00 UTC.
    make_booking("consultation", local(3, 30, 9), patient=person(1), practitioner_id=p1.id)
    client = signed_in_client(app, "desk")
    rows = sheet_rows(client.get(SHEET + "?day=2026-03-30").get_data(as_text=True))
    assert [r[0] for r in rows["Practitioner 1"]] == ["09:00–09:20"]
    assert sheet_rows(client.get(SHEET + "?day=2026-03-29").get_data(as_text=True)) == {}


def test_the_day_sheet_defaults_to_today_and_refuses_a_bad_day(app, clock):
    make_clinic()
    client = signed_in_client(app, "desk")
    html = client.get(SHEET).get_data(as_text=True)
    assert "Monday 2 March 2026" in html
    response = client.get(SHEET + "?day=02/03/2026")
    assert response.status_code == 400
    assert "Give the day as YYYY-MM-DD" in response.get_data(as_text=True)


# --- the pure parts --------------------------------------------------------------------------


def test_working_time_follows_the_wall_clock_on_the_spring_forward_day():
    period = figures.Period(date(2026, 3, 29), date(2026, 3, 29), LONDON)
    hours = [figures.WeeklyHours(1, 6, time(0, 30), time(3, 30))]
    working = figures.working_time(period, hours, [])
    assert figures.minutes(working[1]) == 120
    assert period.end - period.start == timedelta(hours=23)


def test_working_time_takes_out_closures_and_own_time_off_only():
    period = figures.Period(date(2026, 3, 2), date(2026, 3, 2), LONDON)
    hours = [figures.WeeklyHours(p, 0, time(9), time(17)) for p in (1, 2)]
    absences = [
        figures.Absence(None, utc(3, 2, 12), utc(3, 2, 13)),
        figures.Absence(1, utc(3, 2, 8), utc(3, 2, 10)),
    ]
    working = figures.working_time(period, hours, absences)
    assert figures.minutes(working[1]) == 8 * 60 - 60 - 60
    assert figures.minutes(working[2]) == 8 * 60 - 60


def test_median_and_nearest_rank_percentile():
    assert figures.median([]) is None
    assert figures.median([5, 1, 3]) == 3
    assert figures.median([1, 2, 3, 10]) == 2.5
    assert figures.percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9) == 90
    assert figures.percentile(list(range(1, 12)), 0.9) == 10
    assert figures.percentile([7], 0.9) == 7


def test_a_rate_without_a_denominator_shows_no_value():
    assert figures.Measure("x", None, 0, 0, "rate").shown == "n/a"
    assert figures.Measure("x", 0.25, 1, 4, "rate").shown == "25.0%"
