"""The real dispatcher process (`flask --app wsgi dispatch`) sending email, killed with SIGKILL
mid-run, again and again.

The kills land while the server holds a message the dispatcher has not yet recorded as sent
(the test server answers 250 a little after taking each message). Whatever the moment, the
next run must leave every email sent and the SMTP server on 127.0.0.1 holding each exactly once.
The processes run on the real clock: the emails are due in the real past.
"""

import os
import random
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.mail import outbox as mail_outbox
from clinic.mail.models import EmailStatus, OutboundEmail
from clinic.patients.models import Patient
from tests.helpers import finish_dispatch_process, start_dispatch_process
from tests.smtp_server import SmtpServer

RUN_TIMEOUT = 60
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        # Time between taking a message and saying so, for a kill to land in between.
        server.set_latency(0.005, 0.02)
        yield server


@pytest.fixture
def app_config(smtp):
    return {"SMTP_URL": smtp.url}


def address(n: int) -> str:
    return f"patient{n}@example.com"


def seed(count: int) -> None:
    """``count`` patients who agreed to email, with one due email each."""
    now = datetime.now(UTC)
    patients = [
        Patient(
            full_name=f"Patient {n}",
            phone=f"+4479112{n:05d}",
            email=address(n),
            email_opt_in=True,
            date_of_birth=date(1980, 1, 1),
            created_at=now,
        )
        for n in range(count)
    ]
    db.session.add_all(patients)
    db.session.flush()
    for patient in patients:
        row = mail_outbox.plan(
            "aftercare_sheet",
            patient,
            subject="After your visit: how to look after yourself",
            text="Plain words.\n.\nA line that is only a dot, stuffed on the way.",
            html="<p>Plain words.</p>",
            expires_at=now + timedelta(days=1),
        )
        row.send_at = now - timedelta(minutes=5)
    db.session.commit()
    db.session.remove()


def dispatcher(app, smtp, tmp_path, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret",
        "PUBLIC_BASE_URL": "http://clinic.test",
        "SMTP_URL": smtp.url,
        "EMAIL_FROM": "Clinic <care@clinic.test>",
        "TWILIO_ACCOUNT_SID": "",
        "TWILIO_AUTH_TOKEN": "",
        "SMS_CLAIM_LEASE_SECONDS": "0",
        "SMS_BATCH_SIZE": "10",
    }
    return start_dispatch_process(env, tmp_path, name)


def finish(process: subprocess.Popen, tmp_path, name: str) -> str:
    return finish_dispatch_process(process, tmp_path, name, RUN_TIMEOUT)


def wait_for_more(smtp, process, at_least: int) -> bool:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        if smtp.wait_for_count(at_least, timeout=0.02):
            return True
        if process.poll() is not None:
            return False
    raise AssertionError(f"the dispatcher sent nothing more in {RUN_TIMEOUT} s")


def outbox() -> list[OutboundEmail]:
    db.session.remove()  # a fresh session: another process wrote the rows
    return list(db.session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_dispatcher_killed_again_and_again_still_sends_each_email_once(
    request, backend, smtp, tmp_path
):
    app = request.getfixturevalue("app" if backend == "sqlite" else "pg_app")
    count = 80
    seed(count)
    rng = random.Random()
    kills = in_flight = 0
    for round_ in range(6):
        process = dispatcher(app, smtp, tmp_path, f"run{round_}")
        reached = wait_for_more(smtp, process, smtp.count() + rng.randint(2, 12))
        if not reached:
            finish(process, tmp_path, f"run{round_}")
            break
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=RUN_TIMEOUT)
        kills += 1
        # Emails the server took that the killed process never recorded as sent.
        taken = {received.rcpt_tos[0] for received in smtp.messages}
        in_flight += sum(
            row.status == EmailStatus.SENDING and row.to_address in taken for row in outbox()
        )
    assert kills >= 4, "the dispatcher finished before it could be killed"
    assert in_flight > 0, "no kill landed between the server taking an email and its recording"
    assert smtp.count() < count

    output = finish(dispatcher(app, smtp, tmp_path, "last"), tmp_path, "last")
    assert "email settled (already handed over)" in output

    rows = outbox()
    assert Counter(row.status for row in rows) == Counter({EmailStatus.SENT: count})
    received = smtp.messages
    assert Counter(r.rcpt_tos for r in received) == Counter(
        {(address(n),): 1 for n in range(count)}
    )
    assert {r.message["Message-ID"].strip() for r in received} == {row.message_id for row in rows}
    # The message that arrived is the one planned, dot-stuffing undone by the server.
    assert "\n.\n" in received[0].message.get_body(("plain",)).get_content().replace("\r", "")

    again = finish(dispatcher(app, smtp, tmp_path, "again"), tmp_path, "again")
    assert again.strip() == "dispatch: nothing due"
    assert smtp.count() == count
