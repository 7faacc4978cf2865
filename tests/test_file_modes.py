"""The instance folder and the SQLite database are readable by their owner only: they hold the
secret key, health answers and password hashes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import select

from clinic import create_app
from clinic.booking.models import Appointment
from clinic.extensions import db
from tests.factories import make_booking, make_clinic
from tests.helpers import START


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def database_files(app) -> list[Path]:
    database = Path(db.engine.url.database)
    return [database, Path(f"{database}-wal"), Path(f"{database}-shm")]


def test_the_database_and_its_wal_files_are_private_after_a_write(app):
    make_clinic()
    make_booking("consultation", START.replace(day=4, hour=10))
    assert db.session.scalar(select(Appointment.id)) is not None

    files = database_files(app)
    assert all(path.exists() for path in files)
    assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}


def test_a_new_database_is_private_from_its_first_connection(tmp_path):
    # A permissive umask, as on many servers: the app must not rely on it.
    previous = os.umask(0o022)
    try:
        database = tmp_path / "fresh.sqlite"
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test-secret",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            }
        )
        with app.app_context():
            with db.engine.begin() as connection:
                connection.exec_driver_sql("CREATE TABLE note (id INTEGER PRIMARY KEY)")
                connection.exec_driver_sql("INSERT INTO note (id) VALUES (1)")
            files = database_files(app)
            modes = {path.name: mode(path) for path in files if path.exists()}
            db.engine.dispose()
    finally:
        os.umask(previous)

    assert modes == {"fresh.sqlite": 0o600, "fresh.sqlite-wal": 0o600, "fresh.sqlite-shm": 0o600}


def test_files_left_readable_by_an_older_install_are_mended(tmp_path):
    database = tmp_path / "old.sqlite"
    database.touch(mode=0o644)
    database.chmod(0o644)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        }
    )
    with app.app_context():
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        db.engine.dispose()

    assert mode(database) == 0o600


def test_the_instance_folder_is_private(app):
    instance = Path(app.instance_path)
    instance.chmod(0o755)

    create_app({"TESTING": True, "SECRET_KEY": "test-secret"})

    assert mode(instance) == 0o700
