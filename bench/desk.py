"""How long the desk's calendar takes to build on a busy day: 3 practitioners, 40 visits.

The day view reads a fixed number of statements whatever the number of visits (tests/
test_calendar.py counts them); this measures the server time that is left: the layout, the
flags and the template. Signed in through the real sign-in form, in a throwaway SQLite database.

    .venv/bin/python bench/desk.py [--requests 50] [--visits 40]

Prints the median and 95th percentile server time of GET /desk for that day, in ms, with the
day and week views both timed, and the number of SQL statements one request ran.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade
from sqlalchemy import event

from clinic.clock import FrozenClock
from clinic.extensions import db
from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import make_app, make_staff, sign_in

# The day before the busy day, so every booking is ahead of the clock.
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DAY = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def fill_day(clinic, visits: int) -> None:
    """``visits`` consultations on one day across the practitioners, half with texts on, every
    fifth booked at the desk without answers (so the flags have something to say)."""
    practitioners = clinic.practitioners
    for n in range(visits):
        make_booking(
            "consultation",
            DAY + timedelta(minutes=30 * (n // len(practitioners))),
            practitioner_id=practitioners[n % len(practitioners)].id,
            patient=patient_details(full_name=f"Patient {n:02d}", phone=f"+4479111{n:05d}"),
            sms_opt_in=n % 2 == 0,
            **({"source": "desk"} if n % 5 == 0 else {}),
        )


def timed(client, path: str, requests: int) -> list[float]:
    client.get(path)  # warm: templates compiled, the session loaded
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}")
    return times


def statements(client, path: str) -> int:
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--visits", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(f"sqlite:///{Path(folder) / 'desk.sqlite'}", FrozenClock(NOW), Path(folder))
        with app.app_context():
            upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
            clinic = make_clinic(practitioners=3, rooms=3, hours=(time_of_day(9), time_of_day(19)))
            fill_day(clinic, args.visits)
            make_staff()
            client = app.test_client()
            if sign_in(client).status_code != 302:
                raise SystemExit("could not sign in")
            day = DAY.date().isoformat()
            practitioner = clinic.practitioners[0].id
            print(f"{args.visits} visits, 3 practitioners, {args.requests} requests each (SQLite)")
            for label, path in (
                ("day by practitioner", f"/desk?day={day}"),
                ("day by room", f"/desk?day={day}&by=room"),
                (
                    "week of one practitioner",
                    f"/desk?day={day}&view=week&practitioner={practitioner}",
                ),
            ):
                times = sorted(timed(client, path, args.requests))
                p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
                print(
                    f"{label:26} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms"
                    f"   {statements(client, path)} SQL statements"
                )
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
