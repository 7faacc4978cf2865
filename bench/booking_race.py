"""50 patients press "book" on the same slot at once, through the HTTP API.

A real threaded werkzeug server on 127.0.0.1 (a free port), the clinic's own app on a fresh
database, 50 client threads released together by a barrier. The right answer is one 201 and 49
409s, one active appointment in the database, and no other status. Runs on SQLite and, when
reachable, on PostgreSQL (database ``clinic_bench``, wiped on every run).

    .venv/bin/python bench/booking_race.py [--clients 50] [--rounds 1]
                                           [--postgres URL | --no-postgres]

Prints wins/conflicts/errors per database and round; exits 1 if any round double-booked,
refused everyone or answered anything but 201/409.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from availability import DEFAULT_POSTGRES, make_bench_app, postgres_server_url, reset_postgres
from flask_migrate import upgrade
from sqlalchemy import func, select
from werkzeug.serving import make_server

from clinic.booking.models import RELEASED_STATUSES, Appointment
from clinic.consent import texts as consent_texts
from clinic.extensions import db
from tests.factories import all_no, make_clinic

# The bench app's frozen clock reads Monday 2 March 2026, 08:00 London; round n books 10:00 on
# the n-th following day, so rounds never compete with each other.
FIRST_SLOT = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
REQUEST_TIMEOUT = 60


@contextlib.contextmanager
def serving(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def post_booking(base_url: str, start: datetime, n: int, screening: dict[str, bool]) -> int:
    # A complete online booking: health answers all "no" and the current consent signed.
    name = f"Racer {n}"
    body = {
        "service": "microneedling",
        "start": start.isoformat(),
        "patient": {
            "full_name": name,
            "phone": f"+4479111{n:05d}",
            "email": f"racer{n}@example.com",
            "date_of_birth": (date(1960, 1, 1) + timedelta(days=97 * n)).isoformat(),
        },
        "sms_opt_in": n % 2 == 0,
        "screening": screening,
        "consent": {
            "version": consent_texts.CURRENT_VERSION,
            "signed_name": name,
            "agree": True,
            "photos": False,
        },
    }
    request = urllib.request.Request(
        f"{base_url}/api/v1/bookings",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code


def race(
    base_url: str, start: datetime, clients: int, screening: dict[str, bool]
) -> tuple[Counter, float]:
    barrier = threading.Barrier(clients)
    statuses: list = [None] * clients

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            statuses[n] = post_booking(base_url, start, n, screening)
        except Exception as exc:
            statuses[n] = exc.__class__.__name__

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT + 30)
    elapsed = time.perf_counter() - began
    return Counter("hung" if s is None else s for s in statuses), elapsed


def active_at(start: datetime) -> int:
    db.session.rollback()
    query = select(func.count()).where(
        Appointment.start_at < start + timedelta(hours=1),
        Appointment.blocked_until > start,
        Appointment.status.not_in(RELEASED_STATUSES),
    )
    return db.session.scalar(query)


def run_database(label: str, url: str, clients: int, rounds: int) -> bool:
    app = make_bench_app(url)
    ok = True
    with app.app_context():
        upgrade()
        make_clinic(practitioners=1, rooms=1)
        screening = all_no("microneedling")
        with serving(app) as base_url:
            for n in range(rounds):
                start = FIRST_SLOT + timedelta(days=n)
                statuses, elapsed = race(base_url, start, clients, screening)
                wins, conflicts = statuses.pop(201, 0), statuses.pop(409, 0)
                errors = sum(statuses.values())
                booked = active_at(start)
                good = wins == 1 and conflicts == clients - 1 and errors == 0 and booked == 1
                ok = ok and good
                detail = f" {dict(statuses)}" if statuses else ""
                print(
                    f"  {label:10} round {n + 1}: {clients} clients -> wins {wins}, "
                    f"conflicts {conflicts}, errors {errors}{detail}; "
                    f"active rows in the slot {booked}; {elapsed:.2f} s "
                    f"-> {'OK' if good else 'WRONG'}",
                    flush=True,
                )
        db.session.remove()
        db.engine.dispose()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1, help="races, each on its own day")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL to wipe")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    if not 2 <= args.clients <= 200 or not 1 <= args.rounds <= 5:
        parser.error("use 2..200 clients and 1..5 rounds")
    # One access-log line per request would bury the figures.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    print(f"POST /api/v1/bookings: {args.clients} concurrent clients for one slot per round")
    results = []
    with tempfile.TemporaryDirectory(prefix="clinic-race-") as tmp:
        results.append(
            run_database("sqlite", f"sqlite:///{tmp}/race.sqlite", args.clients, args.rounds)
        )
    if not args.no_postgres:
        url = postgres_server_url(args.postgres)
        if url is not None:
            reset_postgres(url)
            results.append(run_database("postgresql", url, args.clients, args.rounds))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
