"""What several test modules share besides the fixtures: the test app, staff accounts and forms,
and JSON API bodies. Test modules import from here (or factories.py), never from each other."""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from flask import has_app_context
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from clinic import create_app
from clinic.clock import FrozenClock, utcnow
from clinic.extensions import db, limiter
from clinic.staff.models import StaffUser
from clinic.staff.services import normalise_email

# Monday 2 March 2026, 08:00 in London (GMT): a plain week, well away from DST changes.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


# --- the app under test ---------------------------------------------------------------------


class FreshContextClient(FlaskClient):
    """Runs each request in its own app context, as a server does.

    The ``app`` fixture keeps an app context pushed for the whole test and requests would reuse
    it, so ``g`` (Flask-Login's current user, Flask-WTF's CSRF token) and the database session
    would carry over from one request, or one client, to the next.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            # End the test's own read transaction: under WAL it would keep an old snapshot
            # and miss what the request writes. Its objects reload on next use.
            db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_app(database_url: str, clock: FrozenClock, tmp_path, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PUBLIC_BASE_URL": "http://clinic.test",
        "CLOCK": clock,
        "API_RATE_LIMIT": "",
        "LOGIN_RATE_LIMIT": "",
        "CLINIC_TIMEZONE": "Europe/London",
        "DEMO_LOGINS_FILE": str(tmp_path / "demo-logins.txt"),
        # Tests look at fresh answers; test_availability_cache.py covers the cache itself.
        "AVAILABILITY_CACHE_SECONDS": 0,
        # Tests move the clock days on while signed in; tests/test_staff_sessions.py sets the
        # real session lengths through its app_config.
        "STAFF_SESSION_HOURS": 24 * 365 * 20,
        "STAFF_IDLE_MINUTES": 60 * 24 * 365 * 20,
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = FreshContextClient
    # The limiter is one object for the whole process; no test may inherit another's counts.
    limiter.reset()
    return app


def seal_sqlite(path) -> None:
    """Make the database file at ``path`` whole on its own, ready to copy.

    The app turns WAL on at connect, so recent writes may sit in ``<file>-wal``: fold them into
    the file and leave WAL mode. Every connection to the file must be closed first.
    """
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    assert not path.with_name(f"{path.name}-wal").exists()


def copy_sqlite_template(template, folder, name="test.sqlite") -> str:
    """A migrated database of its own in ``folder``, copied from the ``sqlite_template``
    fixture's file; returns its URL."""
    path = folder / name
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


# --- staff accounts and their forms ---------------------------------------------------------

PASSWORD = "correct horse battery"


@cache
def quick_hash(password: str) -> str:
    """Werkzeug's scrypt at a small work factor, made once per password.

    The check at sign-in reads the cost from the stored hash, so an account made here signs in
    through the real form and the real check in a millisecond, where the production cost takes
    a fifth of a second twice per test. Accounts made by the service (test_staff.py, the
    create-staff command) keep the production cost.
    """
    return generate_password_hash(password, method="scrypt:1024:8:1")


def make_staff(
    role="desk",
    email="desk@example.com",
    password=PASSWORD,
    *,
    name="Jo Ellis",
    practitioner_id=None,
) -> StaffUser:
    """A staff account, as ``clinic.staff.services.create_staff`` stores one."""
    user = StaffUser(
        email=normalise_email(email),
        name=name,
        role=role,
        practitioner_id=practitioner_id,
        active=True,
        created_at=utcnow(),
        password_hash=quick_hash(password),
    )
    db.session.add(user)
    db.session.commit()
    return user


def csrf_token(client, path="/login") -> str:
    """The CSRF token of the form on ``path``, as a browser would send it back."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def sign_in(client, email="desk@example.com", password=PASSWORD, url="/login"):
    token = csrf_token(client, url)
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def sign_out(client):
    token = csrf_token(client, "/desk")
    return client.post("/logout", data={"csrf_token": token})


# --- the JSON API ---------------------------------------------------------------------------

BOOKINGS = "/api/v1/bookings"
SLUGS = ("consultation", "microneedling", "microneedling-prp", "microneedling-steroid")


def booking_body(**overrides):
    body = {
        "service": "consultation",
        "start": "2026-03-04T10:00:00+00:00",
        "patient": {
            "full_name": "Alex Morgan",
            "phone": "07911 123456",
            "email": "alex@example.com",
            "date_of_birth": "1988-04-12",
        },
        "sms_opt_in": True,
    }
    body.update(overrides)
    return body


def intake(client, slug: str) -> dict:
    response = client.get(f"/api/v1/services/{slug}/intake")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def answered(client, body: dict, **answers: bool) -> dict:
    """``body`` as a patient sends it after the intake: every question answered "no" unless
    given in ``answers``, and the consent signed with the patient's name when one is asked.

    A "screening" or "consent" already in ``body`` is kept as it is.
    """
    form = intake(client, body["service"])
    screening = {question["key"]: False for question in form["questions"]} | answers
    complete = {"screening": screening, **body}
    if form["consent"] is not None:
        complete.setdefault(
            "consent",
            {
                "version": form["consent"]["version"],
                "signed_name": body["patient"]["full_name"],
                "agree": True,
                "photos": False,
            },
        )
    return complete


# --- a real dispatcher process, for the crash tests -------------------------------------------

REPO_ROOT = Path(__file__).resolve().parent.parent


def start_dispatch_process(env: dict, tmp_path, name: str) -> subprocess.Popen:
    """`flask --app wsgi dispatch` in its own process, its output kept in tmp_path/<name>.out."""
    out = (tmp_path / f"{name}.out").open("w")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "dispatch"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        out.close()


def finish_dispatch_process(process: subprocess.Popen, tmp_path, name: str, timeout: float) -> str:
    """Wait for a dispatcher that was left to run to its end; it must have exited cleanly."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    output = (tmp_path / f"{name}.out").read_text()
    assert process.returncode == 0, output
    return output
