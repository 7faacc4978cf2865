"""What the dispatcher's bookkeeping costs: texts per second through it versus a bare client loop.

In one run, against one fake Twilio server on 127.0.0.1 (tests/fake_twilio.py, in a child
process so it does not share the interpreter lock with what is measured), taking turns of
1,000 texts each so that load from elsewhere on the machine hits both alike:

(a) ``dispatch_pass()`` sends 10,000 due 24-hour reminders on a fresh SQLite file database
    (opted-in patients, each with a booked visit, so every text renders its date, time and
    manage link), through the app's TwilioSender, rate limit off;
(b) a bare loop of ``client.messages.create`` sends the same 10,000 numbers and bodies with the
    same client settings (timeout, base URL, status callback).

    .venv/bin/python bench/dispatch.py [--count 10000] [--rounds 10] [--batch-size 100]
                                       [--concurrency 1] [--profile]

Prints both rates in texts per second and their ratio, against the goal of at least 0.8;
exits 1 when the goal is missed or a text went missing or twice. ``--profile`` runs (a) under
cProfile and prints where its time went (to stderr, as is the migration log).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import pstats
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade
from sqlalchemy import func, insert, select

from clinic import create_app
from clinic.booking.models import Appointment
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.kinds import Kind
from clinic.sms.models import OutboundText, TextStatus
from tests.factories import make_clinic
from tests.fake_twilio import FakeTwilio

FROM_NUMBER = "+447700900001"
PUBLIC_BASE_URL = "http://clinic.test"
TIMEOUT_SECONDS = 10
GOAL = 0.8


def serve_fake(conn) -> None:
    """The child process: run the fake until told to stop, answering questions about it."""
    with FakeTwilio() as fake:
        conn.send((fake.base_url, fake.account_sid, fake.auth_token))
        while True:
            question = conn.recv()
            if question == "stop":
                return
            if question == "tally":
                per_number = {}
                for message in fake.messages:
                    per_number[message["to"]] = per_number.get(message["to"], 0) + 1
                conn.send((fake.count(), max(per_number.values(), default=0)))


class FakeProcess:
    def __init__(self):
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve_fake, args=(child,), daemon=True)
        self.process.start()
        if not self.conn.poll(30):
            raise RuntimeError("the fake Twilio server did not start")
        self.base_url, self.account_sid, self.auth_token = self.conn.recv()

    def tally(self) -> tuple[int, int]:
        """(messages accepted so far, most messages any one number got)."""
        self.conn.send("tally")
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


def bench_app(database: Path, fake: FakeProcess, batch_size: int, concurrency: int):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "CLINIC_TIMEZONE": "Europe/London",
            "TWILIO_ACCOUNT_SID": fake.account_sid,
            "TWILIO_AUTH_TOKEN": fake.auth_token,
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
            "TWILIO_MESSAGING_SERVICE_SID": "",
            "TWILIO_API_BASE_URL": fake.base_url,
            "TWILIO_TIMEOUT_SECONDS": TIMEOUT_SECONDS,
            "SMS_SEGMENTS_PER_SECOND": 0,
            # Quiet hours off: the figures must not depend on the hour the bench runs at.
            "SMS_QUIET_START": "00:00",
            "SMS_QUIET_END": "00:00",
            "SMS_BATCH_SIZE": batch_size,
            "SMS_SEND_CONCURRENCY": concurrency,
            # The caps stay on, so their count is in the figure, but high enough that the
            # clinic's daily one holds none of the bench's texts.
            "SMS_MAX_PER_DAY": 10_000_000,
        }
    )


def phone(n: int) -> str:
    return f"+4479{n:08d}"


def load(count: int) -> None:
    """``count`` opted-in patients, a booked visit each, and that visit's due 24-hour reminder."""
    clinic = make_clinic(rooms=2)
    service = clinic.services["consultation"]
    practitioner, room = clinic.practitioners[0], clinic.rooms[0]
    now = datetime.now(UTC)
    first_visit = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=20)
    db.session.execute(
        insert(Patient),
        [
            {
                "full_name": f"Patient {n}",
                "phone": phone(n),
                "email": "",
                "date_of_birth": date(1980, 1, 1) + timedelta(days=n % 9000),
                "sms_opt_in": True,
                "sms_opt_in_at": now,
                "sms_opt_in_source": "online",
                # Not the first text: the opt-out line would make the bodies uneven.
                "first_text_at": now - timedelta(days=30),
                "phone_unusable": False,
                "created_at": now,
            }
            for n in range(count)
        ],
    )
    patient_ids = list(db.session.scalars(select(Patient.id).order_by(Patient.id)))
    visits = []
    for n, patient_id in enumerate(patient_ids):
        start = first_visit + timedelta(minutes=20 * n)
        visits.append(
            {
                "patient_id": patient_id,
                "service_id": service.id,
                "practitioner_id": practitioner.id,
                "room_id": room.id,
                "location_id": clinic.location.id,
                "start_at": start,
                "end_at": start + timedelta(minutes=20),
                "blocked_until": start + timedelta(minutes=20),
                "status": "booked",
                "source": "online",
                "needles": False,
                "cancel_reason": "",
                "manage_key": f"b{n:031d}",
                "created_at": now,
                "updated_at": now,
            }
        )
    db.session.execute(insert(Appointment), visits)
    appointments = db.session.execute(
        select(Appointment.id, Appointment.patient_id).order_by(Appointment.id)
    ).all()
    db.session.execute(
        insert(OutboundText),
        [
            {
                "kind": Kind.REMINDER_24H,
                "patient_id": patient_id,
                "appointment_id": appointment_id,
                "send_at": now - timedelta(minutes=1),
                "expires_at": now + timedelta(hours=20),
                "immediate": False,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
            for appointment_id, patient_id in appointments
        ],
    )
    db.session.commit()


def bare_client(fake: FakeProcess):
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    client = Client(
        fake.account_sid,
        fake.auth_token,
        http_client=TwilioHttpClient(timeout=TIMEOUT_SECONDS),
    )
    client.api.base_url = fake.base_url
    return client


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10, help="turns the two take")
    parser.add_argument("--batch-size", type=int, default=100, help="SMS_BATCH_SIZE")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="SMS_SEND_CONCURRENCY (the default is 1)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the dispatcher's turns")
    args = parser.parse_args()
    chunk = -(-args.count // args.rounds)

    fake = FakeProcess()
    profiler = cProfile.Profile() if args.profile else None
    dispatcher_seconds = bare_seconds = 0.0
    report = Counter()
    try:
        with tempfile.TemporaryDirectory(prefix="clinic-bench-dispatch-") as tmp:
            app = bench_app(Path(tmp) / "bench.sqlite", fake, args.batch_size, args.concurrency)
            client = bare_client(fake)
            callback = PUBLIC_BASE_URL + "/sms/status"
            with app.app_context():
                upgrade()
                load(args.count)
                db.session.remove()
                # Turn and turn about, so load from elsewhere on the machine hits both alike.
                done = 0
                while done < args.count:
                    size = min(chunk, args.count - done)
                    started = time.perf_counter()
                    if profiler:
                        profiler.enable()
                    report.update(dispatch_pass(max_rows=size).counts)
                    if profiler:
                        profiler.disable()
                    dispatcher_seconds += time.perf_counter() - started
                    texts = db.session.execute(
                        select(OutboundText.to_number, OutboundText.body)
                        .order_by(OutboundText.id)
                        .offset(done)
                        .limit(size)
                    ).all()
                    db.session.remove()
                    started = time.perf_counter()
                    for to, body in texts:
                        client.messages.create(
                            to=to, from_=FROM_NUMBER, body=body, status_callback=callback
                        )
                    bare_seconds += time.perf_counter() - started
                    done += size
                accepted, most = fake.tally()
                sent = db.session.scalar(
                    select(func.count()).where(OutboundText.status == TextStatus.SENT)
                )
                db.session.remove()
                db.engine.dispose()
            client.http_client.session.close()
    finally:
        fake.stop()

    # Each number gets its text once from the dispatcher and once from the bare loop.
    right = report == Counter(sent=args.count) and sent == args.count
    right = right and accepted == 2 * args.count and most == 2
    dispatcher_rate = args.count / dispatcher_seconds
    bare_rate = args.count / bare_seconds
    ratio = dispatcher_rate / bare_rate
    print(
        f"dispatch bench: {args.count} texts each way in {args.rounds} turns, "
        f"batch size {args.batch_size}, {args.concurrency} sending threads, SQLite file"
    )
    print(
        f"  dispatcher (dispatch_pass):     {dispatcher_rate:8.0f} texts/s "
        f"({dispatcher_seconds:.2f} s; {', '.join(f'{k} {v}' for k, v in report.items())})"
    )
    print(f"  bare client.messages.create:   {bare_rate:8.0f} texts/s ({bare_seconds:.2f} s)")
    print(f"  ratio dispatcher/bare:         {ratio:8.2f}  (goal >= {GOAL})")
    if not right:
        print(
            f"  WRONG: {sent} rows sent, the fake accepted {accepted} texts "
            f"(expected {2 * args.count}), at most {most} to one number (expected 2)"
        )
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
        print(out.getvalue(), file=sys.stderr)
    return 0 if ratio >= GOAL and right else 1


if __name__ == "__main__":
    sys.exit(main())
