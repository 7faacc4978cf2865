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


def read(statement, parameters: dict | None = None) -> list:
    """Rows of a Core statement, fetched in one go, without the ORM's handling of statements
    (which costs more than a small read itself).

    Inside an open transaction of the request's session (a write use case re-checking what
    it is about to write, say), the read runs in it and sees its changes. Otherwise it runs
    on a connection of its own: a request that only reads (an availability answer) then
    never creates, begins and closes a session, which cost about as much as the read."""
    if db.session.registry.has():
        session = db.session()
        if session.in_transaction():
            return session.connection().execute(statement, parameters).all()
    with db.engine.connect() as connection:
        return connection.execute(statement, parameters).all()


class CompiledRead:
    """A SELECT read on every request of a hot path: its SQL is rendered once per database
    kind, and outside a session transaction it runs on a pooled DBAPI cursor, with the
    parameters converted by their columns' own SQLAlchemy types.

    An availability answer's one statement spent more time in SQLAlchemy's per-execution
    work (compiled-statement context, result rows, type processing) than in the database.
    Rows come back as the driver gives them, with no type processing: select only columns the
    drivers return as the wanted Python values (integers, text; times as
    clinic.db_types.epoch_micros). Constant ``IN`` lists in the statement are written into the
    SQL once; a statement with a caller-given list (an expanding parameter) must go through
    ``read`` instead, since its SQL changes with the list."""

    def __init__(self, statement):
        self.statement = statement
        self._by_dialect: dict[tuple[str, str], tuple] = {}

    def rows(self, parameters: dict) -> list:
        if db.session.registry.has() and db.session().in_transaction():
            return read(self.statement, parameters)
        engine = db.engine
        kind = (engine.dialect.name, engine.dialect.driver)
        compiled = self._by_dialect.get(kind)
        if compiled is None:
            compiled = self._by_dialect[kind] = self._compile(engine.dialect, parameters)
        sql, names, fixed, bind_processors = compiled
        values = dict(fixed)
        for name, value in parameters.items():
            processor = bind_processors.get(name)
            values[name] = processor(value) if processor is not None else value
        arguments = tuple(values[name] for name in names) if names is not None else values
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, arguments)
                return cursor.fetchall()
            finally:
                cursor.close()
        finally:
            connection.close()  # back to the pool, which ends the read's transaction

    def _compile(self, dialect, parameters: dict) -> tuple:
        """The SQL with its fixed parameters (literals, constant lists) in place, and what
        converts the caller's parameters."""
        compiled = self.statement.compile(dialect=dialect)
        expanded = compiled.construct_expanded_state(compiled.construct_params(parameters))
        fixed = {
            name: value for name, value in expanded.parameters.items() if name not in parameters
        }
        bind_processors = {}
        for name in parameters:
            kind = compiled.binds[name].type
            processor = kind.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                bind_processors[name] = processor
        names = list(expanded.positiontup) if dialect.positional else None
        return expanded.statement, names, fixed, bind_processors
