"""What the dispatcher's bookkeeping costs: texts per second through it versus a bare client loop.

In one run, against one fake Twilio server on 127.0.0.1 (tests/fake_twilio.py, in a child
process so it does not share the interpreter lock with what is measured):

(a) ``dispatch_pass()`` sends 10,000 due 24-hour reminders on a fresh SQLite file database
    (opted-in patients, each with a booked visit, so every text renders its date, time and
    manage link), through the app's TwilioSender, rate limit off;
(b) a bare loop of ``client.messages.create`` sends the same 10,000 numbers and bodies with the
    same client settings (timeout, base URL, status callback).

    .venv/bin/python bench/dispatch.py [--count 10000] [--batch-size 100] [--profile]

Prints both rates in texts per second and their ratio, against the goal of at least 0.8;
exits 1 when the goal is missed or a text went missing or twice. ``--profile`` runs (a) under
cProfile and prints where its time went. The migration log goes to stderr.
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade
from sqlalchemy import insert, select

from clinic import create_app
from clinic.aftercare.plan import Kind
from clinic.booking.models import Appointment
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.models import OutboundText
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


def bench_app(database: Path, fake: FakeProcess, batch_size: int):
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


def run_dispatcher(profile: bool) -> tuple[float, object, str]:
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    report = dispatch_pass()
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    text = ""
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(25)
        text = out.getvalue()
    return elapsed, report, text


def run_bare_loop(fake: FakeProcess, texts: list[tuple[str, str]]) -> float:
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    client = Client(
        fake.account_sid,
        fake.auth_token,
        http_client=TwilioHttpClient(timeout=TIMEOUT_SECONDS),
    )
    client.api.base_url = fake.base_url
    callback = PUBLIC_BASE_URL + "/sms/status"
    started = time.perf_counter()
    for to, body in texts:
        client.messages.create(to=to, from_=FROM_NUMBER, body=body, status_callback=callback)
    elapsed = time.perf_counter() - started
    client.http_client.session.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=100, help="SMS_BATCH_SIZE")
    parser.add_argument("--profile", action="store_true", help="cProfile the dispatcher run")
    args = parser.parse_args()

    fake = FakeProcess()
    try:
        with tempfile.TemporaryDirectory(prefix="clinic-bench-dispatch-") as tmp:
            app = bench_app(Path(tmp) / "bench.sqlite", fake, args.batch_size)
            with app.app_context():
                upgrade()
                load(args.count)
                db.session.remove()

                dispatcher_seconds, report, profile = run_dispatcher(args.profile)
                accepted, most = fake.tally()
                sent_ok = report.counts == {"sent": args.count} and accepted == args.count
                texts = db.session.execute(
                    select(OutboundText.to_number, OutboundText.body).order_by(OutboundText.id)
                ).all()
                db.session.remove()
                db.engine.dispose()

            bare_seconds = run_bare_loop(fake, texts)
            accepted_after, _ = fake.tally()
            bare_ok = accepted_after == 2 * args.count
    finally:
        fake.stop()

    dispatcher_rate = args.count / dispatcher_seconds
    bare_rate = args.count / bare_seconds
    ratio = dispatcher_rate / bare_rate
    print(f"dispatch bench: {args.count} texts, batch size {args.batch_size}, SQLite file")
    print(
        f"  dispatcher (dispatch_pass):     {dispatcher_rate:8.0f} texts/s "
        f"({dispatcher_seconds:.2f} s; {report})"
    )
    print(f"  bare client.messages.create:   {bare_rate:8.0f} texts/s ({bare_seconds:.2f} s)")
    print(f"  ratio dispatcher/bare:         {ratio:8.2f}  (goal >= {GOAL})")
    if not sent_ok or most != 1:
        print(f"  WRONG: fake accepted {accepted} texts, at most {most} to one number")
    if not bare_ok:
        print(f"  WRONG: the bare loop left {accepted_after - args.count} texts at the fake")
    if profile:
        print(profile, file=sys.stderr)
    return 0 if ratio >= GOAL and sent_ok and most == 1 and bare_ok else 1


if __name__ == "__main__":
    sys.exit(main())
