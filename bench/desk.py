"""How long the desk's calendar takes to build on a busy day: 3 practitioners, 40 visits.

The day view reads a fixed number of statements whatever the number of visits (tests/
test_calendar.py counts them); this measures the server time that is left: the layout, the
flags and the template. Signed in through the real sign-in form, in a throwaway SQLite database.

    .venv/bin/python bench/desk.py [--requests 50] [--visits 40]

Prints, for the day view by practitioner, by room and the week of one practitioner, the median
and 95th percentile server time of GET /desk in ms: wall time (what the desk waits for) and the
process's CPU time (time.process_time; steadier on a machine busy with other work), and the
number of SQL statements one request ran. The goal is the day view under 50 ms.
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

GOAL_MS = 50  # the day view's server time, 3 practitioners and 40 visits
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


def timed(client, path: str, requests: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of each of ``requests`` signed-in GETs of ``path``."""
    client.get(path)  # warm: templates compiled, the session loaded
    wall, cpu = [], []
    for _ in range(requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}")
    return wall, cpu


def median_p95(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


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
            print(f"goal: the day view under {GOAL_MS} ms server time")
            day_median = None
            for label, path in (
                ("day by practitioner", f"/desk?day={day}"),
                ("day by room", f"/desk?day={day}&by=room"),
                (
                    "week of one practitioner",
                    f"/desk?day={day}&view=week&practitioner={practitioner}",
                ),
            ):
                wall, cpu = timed(client, path, args.requests)
                (wall_median, wall_p95), (cpu_median, cpu_p95) = median_p95(wall), median_p95(cpu)
                day_median = wall_median if day_median is None else day_median
                print(
                    f"{label:26} wall median {wall_median:6.1f} ms  p95 {wall_p95:6.1f} ms"
                    f"   cpu median {cpu_median:6.1f} ms  p95 {cpu_p95:6.1f} ms"
                    f"   {statements(client, path)} SQL statements"
                )
            verdict = "meets" if day_median < GOAL_MS else "misses"
            print(f"day view by practitioner {verdict} the {GOAL_MS} ms goal (wall median)")
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
