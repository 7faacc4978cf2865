"""Fixtures: app, client, runner, clock, db, signed_in; PostgreSQL and the browser when present.

Each worker of a run (pytest-xdist) migrates one template database per backend; every test gets
a copy of it. Locally a missing layer (PostgreSQL, Chromium) skips with a reason; with CI=true
it fails.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.serving import make_server

from clinic.clock import FrozenClock
from clinic.extensions import db as _db
from tests.helpers import (
    START,
    copy_sqlite_template,
    make_app,
    make_staff,
    seal_sqlite,
    sign_in,
)

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = "/usr/bin/chromium"
# Under pytest-xdist each worker is its own process with its own databases; the pid keeps two
# runs on one machine apart too.
RUN_NAME = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def missing_layer(reason: str):
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this layer is required)")
    pytest.skip(reason)


@pytest.fixture
def clock():
    return FrozenClock(START)


@pytest.fixture
def app_config():
    """Overrides for the app under test; a test module can redefine this fixture."""
    return {}


def migrate(database_url: str, folder) -> None:
    """Run every migration against ``database_url``, from an app of its own."""
    app = make_app(database_url, FrozenClock(START), folder)
    with app.app_context():
        upgrade()
        _db.session.remove()
        _db.engine.dispose()


# --- SQLite ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A database file migrated once per worker, which each test copies instead of migrating.

    test_migrations.py still runs the migrations from an empty database.
    """
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.sqlite"
    migrate(f"sqlite:///{path}", folder)
    seal_sqlite(path)
    return path


@pytest.fixture
def app(tmp_path, clock, app_config, sqlite_template):
    app = make_app(copy_sqlite_template(sqlite_template, tmp_path), clock, tmp_path, **app_config)
    with app.app_context():
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


@pytest.fixture
def signed_in(client):
    """Sign the test client in as a new staff member of a role, through the real /login form.

    ``desk = signed_in("desk")`` returns the client; ``desk.get("/desk")`` is then the desk's.
    ``email`` and ``name`` are the account's (by default ``<role>@example.com``, "Jo Ellis").
    """

    def sign_in_as(role: str, *, email: str | None = None, name: str = "Jo Ellis"):
        email = email or f"{role}@example.com"
        make_staff(role=role, email=email, name=name)
        response = sign_in(client, email=email)
        assert response.status_code == 302, response.get_data(as_text=True)
        assert not response.headers["Location"].startswith("/login")
        return client

    return sign_in_as


# --- PostgreSQL -----------------------------------------------------------------------------


class PostgresServer:
    """Makes and drops this worker's databases through the `test` database."""

    def __init__(self, url: str):
        self.url = url
        self.admin = sa.create_engine(
            url.replace("postgresql://", "postgresql+psycopg://", 1),
            isolation_level="AUTOCOMMIT",
        )
        self.made: set[str] = set()

    def url_of(self, name: str) -> str:
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def create(self, name: str, template: str | None = None) -> str:
        """A new, empty database (or a copy of ``template``) named ``name``; returns its URL.

        A database left by an earlier test of this worker is dropped first.
        """
        self.made.add(name)
        copy = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
        return self.url_of(name)

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            for name in self.made:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer(POSTGRES_URL)
    try:
        with server.admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        server.admin.dispose()
        missing_layer(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc.__class__.__name__}")
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def postgres_template(postgres_server, tmp_path_factory):
    """The name of a database migrated once per worker, which each test's database copies.

    PostgreSQL copies a template only while nobody is connected to it: the migrating app's
    connections are closed before the first copy.
    """
    name = f"clinic_template_{RUN_NAME}"
    migrate(postgres_server.create(name), tmp_path_factory.mktemp("pg-template"))
    return name


@pytest.fixture
def postgres_url(postgres_server, postgres_template):
    """A migrated database of this test's own: a fresh copy of the worker's template."""
    return postgres_server.create(f"clinic_test_{RUN_NAME}", template=postgres_template)


@pytest.fixture
def empty_postgres_url(postgres_server):
    """An empty database of this test's own, for running the migrations themselves."""
    return postgres_server.create(f"clinic_empty_{RUN_NAME}")


@pytest.fixture
def pg_app(postgres_url, clock, tmp_path, app_config):
    app = make_app(postgres_url, clock, tmp_path, **app_config)
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request):
    """The same test on SQLite and on PostgreSQL."""
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


# --- Redis ----------------------------------------------------------------------------------


@pytest.fixture
def redis_url():
    """The URL of a running Redis (rate-limit counters shared between processes)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        missing_layer(f"Redis is not reachable at {REDIS_URL}: {exc.__class__.__name__}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_key_prefix():
    """Keys of this test run only: parallel workers and other runs never share a counter."""
    return f"clinic-test-{RUN_NAME}"


# --- the API client generator -------------------------------------------------------------


@pytest.fixture(scope="session")
def openapi_generator():
    """The command that runs openapi-python-client (requirements-dev.txt), and the PATH it
    needs: it formats the client it writes with the ruff beside it."""
    bin_dir = os.path.dirname(sys.executable)
    path = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    if importlib.util.find_spec("openapi_python_client") is None:
        missing_layer(
            "openapi-python-client is not installed (pip install -r requirements-dev.txt)"
        )
    if shutil.which("ruff", path=path) is None:
        missing_layer("ruff is not installed (pip install -r requirements-dev.txt)")
    return [sys.executable, "-m", "openapi_python_client"], path


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


class LiveServers:
    """Apps served on free loopback ports, each in a thread of its own, until ``stop()``."""

    def __init__(self):
        self.running = []

    def __call__(self, app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        base = f"http://127.0.0.1:{server.server_port}"
        # Links the pages print (the private manage link) must point at this server.
        app.config["PUBLIC_BASE_URL"] = base
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        self.running.append((server, thread))
        return base

    def stop(self) -> None:
        for server, thread in self.running:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()


@pytest.fixture
def serve():
    """Serve an app on a free loopback port in a thread: ``base = serve(app)``."""
    servers = LiveServers()
    yield servers
    servers.stop()


@pytest.fixture(scope="module")
def serve_for_module():
    """``serve`` for an app a whole module's tests share (tests/test_page_quality.py)."""
    servers = LiveServers()
    yield servers
    servers.stop()


# --- the page-checking tools (npm) ----------------------------------------------------------

NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
PAGE_CHECK_TOOLS = ("axe-core/axe.min.js", ".bin/html-validate")


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """The folder holding axe-core and html-validate, as `make test` installs them from
    package-lock.json (`npm ci`)."""
    if shutil.which("node") is None:
        missing_layer("node is not installed (apt-get install nodejs)")
    missing = [tool for tool in PAGE_CHECK_TOOLS if not (NODE_MODULES / tool).exists()]
    if missing:
        missing_layer(f"{', '.join(missing)} missing from node_modules (run `npm ci`)")
    return NODE_MODULES


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
