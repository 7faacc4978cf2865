"""Fixtures: app, client, runner, clock, db; PostgreSQL and the browser when present.

Locally a missing layer (PostgreSQL, Chromium) skips with a reason; with CI=true it fails.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.serving import make_server

from clinic import create_app
from clinic.clock import FrozenClock
from clinic.extensions import db as _db
from clinic.extensions import limiter

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
CHROMIUM = "/usr/bin/chromium"

# Monday 2 March 2026, 08:00 in London (GMT): a plain week, well away from DST changes.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def missing_layer(reason: str):
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this layer is required)")
    pytest.skip(reason)


@pytest.fixture
def clock():
    return FrozenClock(START)


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
            _db.session.commit()
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
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = FreshContextClient
    # The limiter is one object for the whole process; no test may inherit another's counts.
    limiter.reset()
    return app


@pytest.fixture
def app_config():
    """Overrides for the app under test; a test module can redefine this fixture."""
    return {}


@pytest.fixture
def app(tmp_path, clock, app_config):
    app = make_app(f"sqlite:///{tmp_path / 'test.sqlite'}", clock, tmp_path, **app_config)
    with app.app_context():
        upgrade()
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def reset_postgres(url: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_database():
    """A database of this test run's own, made through the `test` database and dropped at the
    end, so several runs on one machine never reset each other's schema."""
    admin = sa.create_engine(
        POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    name = f"clinic_test_{os.getpid()}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        missing_layer(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc.__class__.__name__}")
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_database):
    reset_postgres(postgres_database)
    return postgres_database


@pytest.fixture
def pg_app(postgres_url, clock, tmp_path, app_config):
    app = make_app(postgres_url, clock, tmp_path, **app_config)
    with app.app_context():
        upgrade()
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request):
    """The same test on SQLite and on PostgreSQL."""
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


# --- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        missing_layer(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def base_url():
    # pytest-playwright 0.10 supplies this fixture as a method on a class, which pytest 9
    # refuses (and warnings are errors here); the pages are opened by full URL anyway.
    return None


@pytest.fixture
def serve():
    """Serve an app on a free loopback port in a thread: ``base = serve(app)``."""
    servers = []

    def start(app):
        server = make_server("127.0.0.1", 0, app, threaded=True)
        base = f"http://127.0.0.1:{server.server_port}"
        # Links the pages print (the private manage link) must point at this server.
        app.config["PUBLIC_BASE_URL"] = base
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        servers.append((server, thread))
        return base

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


# --- the fake Twilio server -----------------------------------------------------------------

from tests.fake_twilio import FakeTwilio, drop_sender  # noqa: E402 - fixtures of this section

TWILIO_FROM = "+447700900001"


@pytest.fixture
def fake_twilio(clock):
    """A fake Twilio API on loopback whose clock is the test's, as Twilio's and ours agree."""
    with FakeTwilio(now=clock.now) as fake:
        yield fake


@pytest.fixture
def twilio_app(app, fake_twilio):
    """``app`` sending through the real twilio client to ``fake_twilio``, rate limit off."""
    app.config.update(
        TWILIO_ACCOUNT_SID=fake_twilio.account_sid,
        TWILIO_AUTH_TOKEN=fake_twilio.auth_token,
        TWILIO_FROM_NUMBER=TWILIO_FROM,
        TWILIO_MESSAGING_SERVICE_SID="",
        TWILIO_API_BASE_URL=fake_twilio.base_url,
        TWILIO_TIMEOUT_SECONDS=5,
        SMS_SEGMENTS_PER_SECOND=0,
    )
    # The sender is built once and kept; a sender from other settings must not linger.
    drop_sender(app)
    yield app
    drop_sender(app)
