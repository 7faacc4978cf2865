"""Connection set-up and the write transaction that makes check-then-insert safe.

SQLite: pysqlite opens transactions late and as DEFERRED, so two writers can both read "free" and
both insert. We take over transaction control (isolation_level=None) and begin write use cases
with ``BEGIN IMMEDIATE``, which takes the database's write lock before the check. Reads keep a
plain ``BEGIN`` so they never queue behind writers (WAL mode).

PostgreSQL: a transaction-scoped advisory lock per location serialises booking writes, and the
exclusion constraints from the migrations stay as the last line of defence.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import zlib
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from clinic.extensions import db

_immediate = contextvars.ContextVar("begin_immediate", default=False)


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        if engine.url.database not in (None, "", ":memory:"):
            keep_private(Path(engine.url.database))
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if _immediate.get():
            # Through the engine, so a lock that cannot be had is SQLAlchemy's error.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            # A read's BEGIN (it never waits for a lock in WAL mode) goes straight to the
            # driver: it runs for every request that reads, and a statement through the
            # engine costs more than the BEGIN itself.
            connection.connection.driver_connection.execute("BEGIN")


PRIVATE_FILE = 0o600


def keep_private(database: Path) -> None:
    """The database holds health answers and password hashes: only its owner reads it.

    Runs on every new connection, before its first statement: SQLite creates the -wal and -shm
    files with the mode of the database file, and files left by an older install are mended.
    """
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        try:
            if path.stat().st_mode & 0o777 != PRIVATE_FILE:
                os.chmod(path, PRIVATE_FILE)
        except FileNotFoundError:
            continue


@contextlib.contextmanager
def write_transaction(lock_name: str = "booking", *, lock: bool = True):
    """Run a use case in one transaction that holds the write lock from its first statement.

    Commits on success, rolls back on any exception. ``lock_name`` names the PostgreSQL
    advisory lock: every booking write, at any location, takes the same one, so a check and
    the insert that follows it can never interleave with another's. ``lock=False`` skips it for
    work that locks its own rows (the dispatcher's SKIP LOCKED claims).
    """
    session = db.session()
    if session.in_transaction():
        # A read transaction opened earlier in the request (loading the signed-in user, say)
        # must end so the write transaction starts fresh and takes the lock up front.
        session.commit()
    token = _immediate.set(True)
    try:
        if session.get_bind().dialect.name != "postgresql":
            session.execute(text("SELECT 1"))  # emits BEGIN IMMEDIATE: the lock, up front
        elif lock:
            key = zlib.crc32(lock_name.encode())
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _immediate.reset(token)
