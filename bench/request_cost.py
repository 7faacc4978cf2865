"""CPU time per request, in process: what bench/http.sh measures, without the noise.

Builds the same throwaway clinic as bench/http.sh (SQLite file in a temp dir, 3 practitioners,
2 rooms, the 4 services, two bookings on each working day of the coming four weeks) and calls
each app's WSGI callable directly, no server and no sockets, measuring ``time.process_time``
over many requests:

- ``GET /hello`` on bench/hello_app.py, the ceiling;
- ``GET /api/v1/services``, the app's fixed cost per request with one small query;
- the cached single URL (AVAILABILITY_CACHE_SECONDS=10);
- the uncached varied mix: the 240 distinct 14-day URLs of bench/varied_mix.lua, cache off.

Prints ms of CPU per request and each one's cost relative to hello (hello's time over its
time: the requests/s ratio one CPU-bound worker would reach). ``--profile NAME`` prints
cProfile's top functions for one of them instead.

    .venv/bin/python bench/request_cost.py [--requests 2000] [--rounds 3] [--profile mix]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from datetime import datetime, timedelta
from datetime import time as wall_time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

MIX_DAYS = 15


def environment(work: str) -> None:
    os.environ.update(
        DATABASE_URL=f"sqlite:///{work}/clinic.sqlite",
        SECRET_KEY="bench-secret",
        API_RATE_LIMIT="",
        LOGIN_RATE_LIMIT="",
        PUBLIC_BASE_URL="http://127.0.0.1",
        CLINIC_TIMEZONE="Europe/London",
    )


def seed() -> tuple[list[str], str]:
    """Migrate and seed the database; the mix's paths and the cached single URL's path."""
    from flask_migrate import upgrade

    from clinic import create_app
    from clinic.booking.services import clinic_timezone, online_services, practitioners_for
    from clinic.clock import utcnow
    from clinic.errors import SlotUnavailable
    from tests.factories import make_booking, make_clinic, patient_details

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        make_clinic(practitioners=3, rooms=2)
        tz = clinic_timezone()
        tomorrow = utcnow().astimezone(tz).date() + timedelta(days=1)
        for offset in range(28):
            day = tomorrow + timedelta(days=offset)
            for n, hour in enumerate((10, 14)):
                start = datetime.combine(day, wall_time(hour), tzinfo=tz)
                patient = patient_details(
                    full_name=f"Bench Patient {offset}-{n}", phone=f"+4479111{offset * 10 + n:05d}"
                )
                with contextlib.suppress(SlotUnavailable):  # Sundays: nobody works
                    make_booking("microneedling", start, patient=patient)
        paths = []
        for service in online_services():
            choices = [""] + [f"&practitioner={p.id}" for p in practitioners_for(service)]
            for choice in choices:
                for offset in range(MIX_DAYS):
                    first = tomorrow + timedelta(days=offset)
                    last = first + timedelta(days=13)
                    paths.append(
                        f"/api/v1/availability?service={service.slug}&from={first}&to={last}"
                        f"{choice}"
                    )
        cached = (
            f"/api/v1/availability?service=microneedling&from={tomorrow}"
            f"&to={tomorrow + timedelta(days=6)}"
        )
    return paths, cached


def caller(app, paths: list[str]):
    """A function answering the next of ``paths`` (round-robin) through ``app``'s WSGI callable,
    as gunicorn would: the body read to the end, then closed."""
    from werkzeug.test import EnvironBuilder

    environs = []
    for path in paths:
        builder = EnvironBuilder(path=path, base_url="http://127.0.0.1:8000")
        environs.append(builder.get_environ())
        builder.close()
    state = {"next": 0, "status": None}

    def start_response(status, _headers, _exc_info=None):
        state["status"] = status

    def call() -> None:
        index = state["next"]
        state["next"] = (index + 1) % len(environs)
        environ = dict(environs[index])
        body = app(environ, start_response)
        try:
            for _chunk in body:
                pass
        finally:
            if hasattr(body, "close"):
                body.close()
        if not state["status"].startswith("200"):
            raise SystemExit(f"{paths[index]} answered {state['status']}")

    return call


def cost(call, requests: int) -> float:
    """ms of CPU per request over ``requests`` calls."""
    started = time.process_time()
    for _ in range(requests):
        call()
    return (time.process_time() - started) * 1000 / requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="best round kept")
    parser.add_argument("--profile", choices=["hello", "services", "cached", "mix"])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="clinic-request-cost.") as work:
        environment(work)
        mix, cached_path = seed()

        from hello_app import app as hello_app

        from clinic import create_app

        os.environ["AVAILABILITY_CACHE_SECONDS"] = "10"
        cached_app = create_app()
        os.environ["AVAILABILITY_CACHE_SECONDS"] = "0"
        uncached_app = create_app()
        calls = {
            "hello": caller(hello_app.wsgi_app, ["/hello"]),
            "services": caller(cached_app.wsgi_app, ["/api/v1/services"]),
            "cached": caller(cached_app.wsgi_app, [cached_path]),
            "mix": caller(uncached_app.wsgi_app, mix),
        }
        for call in calls.values():  # warm-up: imports, statement caches, first connections
            for _ in range(len(mix)):
                call()

        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            cost(calls[args.profile], args.requests)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
            print(out.getvalue())
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
            print(out.getvalue())
            return 0

        best = {name: float("inf") for name in calls}
        for _ in range(args.rounds):
            for name, call in calls.items():
                best[name] = min(best[name], cost(call, args.requests))
        print(f"CPU per request, best of {args.rounds} rounds of {args.requests} requests")
        for name, ms in best.items():
            print(f"  {name:9s} {ms:7.3f} ms   hello/{name} {best['hello'] / ms:6.3f}")
        print(f"  varied mix: {len(set(mix))} distinct URLs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
