"""The real dispatcher process (`flask --app wsgi dispatch`), killed with SIGKILL mid-run.

Whatever moment the kill lands on (a text in flight, a batch sent but not written down, a
claim half-reconciled), the next run must leave every due text sent and the fake Twilio server
holding each exactly once. The processes run on the real clock: the texts are due in the real
past and quiet hours are switched off.
"""

import os
import random
import re
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.sms.kinds import Kind
from clinic.sms.models import OutboundText, TextStatus
from tests.fake_twilio import FakeTwilio
from tests.helpers import finish_dispatch_process, start_dispatch_process

RUN_TIMEOUT = 60  # seconds a dispatcher may take to finish, far above what it needs
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def twilio():
    """Real-clock fake: the dispatcher processes stamp their claims with the real time."""
    with FakeTwilio() as fake:
        # Enough time in flight per text for a kill to land mid-request.
        fake.set_latency(0.005, 0.02)
        yield fake


def phone(n: int) -> str:
    return f"+4479112{n:05d}"


def seed(count: int) -> None:
    """``count`` opted-in patients with one due text each."""
    now = datetime.now(UTC)
    patients = [
        Patient(
            full_name=f"Patient {n}",
            phone=phone(n),
            date_of_birth=date(1980, 1, 1),
            sms_opt_in=True,
            sms_opt_in_source="online",
            sms_opt_in_at=now,
            created_at=now,
        )
        for n in range(count)
    ]
    db.session.add_all(patients)
    db.session.flush()
    db.session.add_all(
        OutboundText(
            kind=Kind.AFTERCARE_24H,
            patient_id=patient.id,
            send_at=now - timedelta(minutes=5),
            expires_at=now + timedelta(days=1),
            status=TextStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        for patient in patients
    )
    db.session.commit()
    db.session.remove()


def dispatcher(app, fake, tmp_path, name: str, **settings) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret",
        "PUBLIC_BASE_URL": "http://clinic.test",
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": "+447700900001",
        "TWILIO_MESSAGING_SERVICE_SID": "",
        "TWILIO_API_BASE_URL": fake.base_url,
        "TWILIO_TIMEOUT_SECONDS": "10",
        "SMS_SEGMENTS_PER_SECOND": "0",
        "SMS_QUIET_START": "00:00",
        "SMS_QUIET_END": "00:00",
        "SMS_BATCH_SIZE": "10",
        **settings,
    }
    return start_dispatch_process(env, tmp_path, name)


def finish(process: subprocess.Popen, tmp_path, name: str) -> str:
    return finish_dispatch_process(process, tmp_path, name, RUN_TIMEOUT)


def run_to_end(app, fake, tmp_path, name: str) -> str:
    process = dispatcher(app, fake, tmp_path, name, SMS_CLAIM_LEASE_SECONDS="0")
    return finish(process, tmp_path, name)


def wait_for_more(fake, process, at_least: int) -> bool:
    """Until the fake holds ``at_least`` texts (True) or the process ends first (False)."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        if fake.wait_for_count(at_least, timeout=0.02):
            return True
        if process.poll() is not None:
            return False
    raise AssertionError(f"the dispatcher sent nothing more in {RUN_TIMEOUT} s")


def outbox() -> list[OutboundText]:
    db.session.remove()  # a fresh session: another process wrote the rows
    return list(db.session.scalars(select(OutboundText).order_by(OutboundText.id)))


def assert_every_text_sent_once(fake, count: int) -> None:
    rows = outbox()
    assert Counter(r.status for r in rows) == Counter({TextStatus.SENT: count})
    assert Counter(m["to"] for m in fake.messages) == Counter({phone(n): 1 for n in range(count)})
    held = {m["sid"]: (m["to"], m["body"]) for m in fake.messages}
    assert {r.provider_sid: (r.to_number, r.body) for r in rows} == held


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_dispatcher_killed_again_and_again_still_sends_each_text_once(
    request, backend, twilio, tmp_path
):
    app = request.getfixturevalue("app" if backend == "sqlite" else "pg_app")
    count = 200
    seed(count)
    rng = random.Random()
    kills = orphans = 0
    for round_ in range(6):
        process = dispatcher(app, twilio, tmp_path, f"run{round_}", SMS_CLAIM_LEASE_SECONDS="0")
        reached = wait_for_more(twilio, process, twilio.count() + rng.randint(3, 25))
        if not reached:
            finish(process, tmp_path, f"run{round_}")
            break
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=RUN_TIMEOUT)
        kills += 1
        # Texts Twilio took that the killed process never wrote down as sent.
        accepted = {m["to"] for m in twilio.messages}
        orphans += sum(r.status == TextStatus.SENDING and r.to_number in accepted for r in outbox())
    assert kills >= 4, "the dispatcher finished before it could be killed"
    assert orphans > 0, "no kill landed between Twilio taking a text and the outbox recording it"
    assert twilio.count() < count

    output = run_to_end(app, twilio, tmp_path, "last")
    assert "reconciled (already sent)" in output
    assert_every_text_sent_once(twilio, count)
    assert all(r.attempts >= 1 for r in outbox())

    again = run_to_end(app, twilio, tmp_path, "again")
    assert again.strip() == "dispatch: nothing due"
    assert twilio.count() == count


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_dispatchers_together_share_the_work_and_send_each_text_once(
    request, backend, twilio, tmp_path
):
    app = request.getfixturevalue("app" if backend == "sqlite" else "pg_app")
    count = 300
    seed(count)
    twilio.set_latency(0.01, 0.02)
    processes = [dispatcher(app, twilio, tmp_path, f"twin{n}") for n in range(2)]
    outputs = [finish(p, tmp_path, f"twin{n}") for n, p in enumerate(processes)]

    assert_every_text_sent_once(twilio, count)
    sent = [int(m[1]) if (m := re.search(r"\bsent (\d+)", out)) else 0 for out in outputs]
    assert sum(sent) == count
    assert min(sent) > 0, outputs  # both really worked, side by side
    assert all(r.attempts == 1 for r in outbox())
