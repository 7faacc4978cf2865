"""How find_slots scales with appointment history: 1,000 versus 100,000 past appointments.

Availability reads only the appointments around the requested window (an index on
location_id, start_at), so its cost should follow the window, not the clinic's age. This builds
the same clinic twice in fresh databases, bulk-loads the history with SQLAlchemy core, and times
two weeks of microneedling slots across all practitioners. Goal: ratio below 1.2.

    .venv/bin/python bench/availability.py [--repeat 15] [--number 5]
                                           [--postgres URL | --no-postgres]

PostgreSQL runs too when reachable: by default in databases ``clinic_bench_1000`` and
``clinic_bench_100000`` on 127.0.0.1:5432 (``--postgres URL`` names the prefix), created if
missing and wiped on every run; never the test suite's ``test`` database.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from flask_migrate import upgrade

from clinic import create_app
from clinic.booking.models import Appointment, AppointmentStatus
from clinic.booking.services import find_slots, service_by_slug
from clinic.clock import FrozenClock
from clinic.extensions import db
from clinic.patients.models import Patient
from tests.factories import make_clinic

# A plain Monday morning in London, well away from daylight-saving changes.
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SIZES = (1_000, 100_000)
PATIENTS = 5_000
BATCH = 10_000
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/clinic_bench"


def make_bench_app(url: str):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-secret",
            "SQLALCHEMY_DATABASE_URI": url,
            "PUBLIC_BASE_URL": "http://clinic.test",
            "CLOCK": FrozenClock(NOW),
            "API_RATE_LIMIT": "",
            "LOGIN_RATE_LIMIT": "",
            "CLINIC_TIMEZONE": "Europe/London",
        }
    )


def visit(clinic, n: int, start: datetime, practitioner_id: int, room_id: int, status, patient_id):
    service = clinic.services["microneedling"]
    duration = timedelta(minutes=service.duration_minutes)
    return {
        "patient_id": patient_id,
        "service_id": service.id,
        "practitioner_id": practitioner_id,
        "room_id": room_id,
        "location_id": clinic.location.id,
        "start_at": start,
        "end_at": start + duration,
        "blocked_until": start + duration + timedelta(minutes=service.buffer_after_minutes),
        "status": status,
        "source": "online",
        "needles": True,
        "cancel_reason": "",
        "manage_key": f"v{n:031d}",
        "created_at": start - timedelta(days=14),
        "updated_at": start,
        "cancelled_at": None,
    }


def history_rows(count: int, clinic, patient_ids: list[int]) -> list[dict]:
    """``count`` past visits packed back from yesterday, hour by hour in both rooms.

    Two rooms run side by side with different practitioners, one hour (45 minutes plus the
    buffer) per visit, 09:00-17:00 Monday to Saturday, so no two active visits ever share a
    practitioner or room: PostgreSQL's exclusion constraints accept the history as it is.
    """
    practitioners = [p.id for p in clinic.practitioners]
    statuses = [AppointmentStatus.COMPLETED] * 17 + [
        AppointmentStatus.CANCELLED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.NO_SHOW,
    ]
    rows = []
    day = NOW.date() - timedelta(days=1)
    cell = 0
    while len(rows) < count:
        if day.weekday() != 6:
            for hour in range(9, 17):
                start = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
                for room_index, room in enumerate(clinic.rooms):
                    if len(rows) == count:
                        break
                    n = len(rows)
                    practitioner_id = practitioners[(cell + room_index) % len(practitioners)]
                    status = statuses[n % len(statuses)]
                    patient_id = patient_ids[n % len(patient_ids)]
                    rows.append(
                        visit(clinic, n, start, practitioner_id, room.id, status, patient_id)
                    )
                cell += 1
        day -= timedelta(days=1)
    return rows


def upcoming_rows(clinic, patient_ids: list[int], first: int) -> list[dict]:
    """The same few bookings in the timed fortnight whatever the history, so slot counts match."""
    rows = []
    (p1, p2, _p3), (r1, r2) = clinic.practitioners, clinic.rooms
    for offset in range(1, 14):
        day = NOW.date() + timedelta(days=offset)
        if day.weekday() == 6:
            continue
        for hour, practitioner, room in ((11, p1, r1), (15, p2, r2)):
            n = first + len(rows)
            start = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
            patient_id = patient_ids[n % len(patient_ids)]
            rows.append(visit(clinic, n, start, practitioner.id, room.id, "booked", patient_id))
    return rows


def load_history(count: int, clinic) -> tuple[datetime, datetime]:
    now = NOW
    patients = [
        {
            "full_name": f"Patient {n}",
            "phone": f"+4479111{n:05d}",
            "email": f"patient{n}@example.com",
            "date_of_birth": date(1960, 1, 1) + timedelta(days=n % 15_000),
            "sms_opt_in": n % 2 == 0,
            "sms_opt_in_at": now,
            "sms_opt_in_source": "online",
            "created_at": now,
        }
        for n in range(min(PATIENTS, count))
    ]
    db.session.execute(sa.insert(Patient.__table__), patients)
    patient_ids = list(db.session.scalars(sa.select(Patient.id).order_by(Patient.id)))
    history = history_rows(count, clinic, patient_ids)
    rows = history + upcoming_rows(clinic, patient_ids, first=len(history))
    for first in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(Appointment.__table__), rows[first : first + BATCH])
    db.session.commit()
    return history[-1]["start_at"], history[0]["start_at"]


def find_fortnight() -> int:
    """One availability lookup in a fresh session, as each request to the endpoint makes."""
    today = NOW.date()
    try:
        service = service_by_slug("microneedling")
        return len(find_slots(service, today, today + timedelta(days=13)))
    finally:
        db.session.remove()


def prepare(url: str, size: int):
    """A migrated database holding the clinic and ``size`` past appointments; returns its app."""
    app = make_bench_app(url)
    with app.app_context():
        upgrade()
        clinic = make_clinic(practitioners=3, rooms=2)
        began = time.perf_counter()
        oldest, newest = load_history(size, clinic)
        loaded = time.perf_counter() - began
        # Leave the steady state a running clinic is in: on PostgreSQL autovacuum would
        # otherwise start on the fresh rows in the middle of the timing; on SQLite the bulk
        # load would still sit in the write-ahead log instead of the database file.
        settle(db.engine)
        # One untimed call warms the statement caches, as any running server already has.
        find_fortnight()
    print(
        f"  loaded {size:,} past appointments ({oldest:%Y-%m-%d} .. {newest:%Y-%m-%d}) "
        f"in {loaded:.1f} s",
        flush=True,
    )
    return app


def settle(engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM (ANALYZE) appointment, patient"))
        return
    connection = engine.raw_connection()
    try:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, "the write-ahead log could not be checkpointed"
    finally:
        connection.close()


def time_interleaved(apps: dict, repeat: int, number: int) -> dict[int, tuple[float, int]]:
    """Best per-call seconds and the slot count for each app, over ``repeat`` rounds.

    The apps take turns round by round, so a burst of load from elsewhere on the machine hits
    both sizes alike instead of skewing the ratio.
    """
    best = dict.fromkeys(apps, float("inf"))
    counts = dict.fromkeys(apps, 0)
    for _ in range(repeat):
        for size, app in apps.items():
            with app.app_context():
                began = time.perf_counter()
                for _ in range(number):
                    counts[size] = find_fortnight()
                best[size] = min(best[size], (time.perf_counter() - began) / number)
    return {size: (best[size], counts[size]) for size in apps}


def postgres_server_url(url: str) -> str | None:
    """Make sure the bench database exists and is empty; None when the server is not there."""
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    target = sa.engine.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            )
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL not reachable at {target.render_as_string()}: {exc.__class__.__name__}")
        return None
    finally:
        admin.dispose()
    return url


def sized(url: str, size: int) -> str:
    target = sa.engine.make_url(url)
    return target.set(database=f"{target.database}_{size}").render_as_string(hide_password=False)


def reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def run(label: str, url_for_size, repeat: int, number: int) -> bool:
    print(f"[{label}]", flush=True)
    apps = {size: prepare(url_for_size(size), size) for size in SIZES}
    try:
        figures = time_interleaved(apps, repeat, number)
    finally:
        for app in apps.values():
            with app.app_context():
                db.engine.dispose()
    for size, (seconds, slots) in figures.items():
        print(
            f"  {label:10} {size:>7,} past appointments: find_slots {seconds * 1000:8.2f} ms, "
            f"{slots} slots",
            flush=True,
        )
    (small, small_slots), (large, large_slots) = figures[SIZES[0]], figures[SIZES[-1]]
    ratio = large / small
    same = small_slots == large_slots
    ok = ratio < 1.2 and same
    print(
        f"  {label:10} ratio {SIZES[-1]:,}/{SIZES[0]:,}: {ratio:.2f} (goal < 1.2), "
        f"slot counts {'equal' if same else 'DIFFER'} -> {'OK' if ok else 'MISSED'}",
        flush=True,
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="timing rounds (best is kept)")
    parser.add_argument("--number", type=int, default=5, help="calls per round")
    parser.add_argument(
        "--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL; <database>_<size> are wiped"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()

    today = NOW.date()
    print(
        f"find_slots('microneedling', {today} .. {today + timedelta(days=13)}), "
        f"3 practitioners, 2 rooms; best of {args.repeat} rounds x {args.number} calls"
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="clinic-bench-") as tmp:
        results.append(
            run(
                "sqlite",
                lambda size: f"sqlite:///{tmp}/history-{size}.sqlite",
                args.repeat,
                args.number,
            )
        )
    if not args.no_postgres:
        # One database per size, so both stay loaded while they take turns being timed.
        urls = {size: postgres_server_url(sized(args.postgres, size)) for size in SIZES}
        if None not in urls.values():
            for url in urls.values():
                reset_postgres(url)
            results.append(run("postgresql", urls.__getitem__, args.repeat, args.number))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
