"""The catalog version: one value that changes with every write to the clinic's set-up.

Availability reads services, practitioners, what they offer, their weekly hours, rooms and
locations on every request, and they change a few times a week. clinic.booking.catalog keeps
them in memory per process and checks this value, read in the same statement as the window's
visits, before trusting its copy. So a change made in any web process is seen by every other
at its next answer, with no time to wait out.

Nothing has to remember to change the value: a listener on every engine sees each INSERT,
UPDATE or DELETE that SQLAlchemy sends for one of those tables (ORM flushes, bulk statements,
Core) and sets a new random value on the same connection, inside the same transaction, so it
commits or rolls back with the change. Only SQL written by hand outside the application (a
psql session) goes unseen; after one, run ``flask catalog-changed`` (or restart the web
processes).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import secrets

import click
from flask import Flask
from sqlalchemy import Delete, Insert, Update, bindparam, event, inspect, select, update
from sqlalchemy.engine import Engine

from clinic.catalog.models import CatalogVersion

# The tables whose rows the in-memory catalog copies. Time off is read with each window's
# visits instead, so it is not here.
CATALOG_TABLES = frozenset(
    {"service", "practitioner", "practitioner_service", "working_hours", "room", "location"}
)
# Time off and closures are read with each window's visits, not copied, but they change the
# version too: a process answering from its availability cache (clinic/web/cache.py) forgets
# its answers when the version moves, so a closure saved anywhere shows everywhere at once.
WATCHED_TABLES = CATALOG_TABLES | {"time_off"}
ROW_ID = 1


def new_version() -> int:
    return secrets.randbits(62)


@functools.cache
def bump_statement():
    return (
        update(CatalogVersion)
        .where(CatalogVersion.id == ROW_ID)
        .values(version=bindparam("version"))
    )


@functools.cache
def version_query():
    return select(CatalogVersion.version).where(CatalogVersion.id == ROW_ID)


# Set while migrations run: a data migration may write these tables before the version's own
# migration (0010v) has made its table. migrations/env.py changes the version once at the end.
_migrating = contextvars.ContextVar("catalog_migrating", default=False)


@contextlib.contextmanager
def migrating():
    token = _migrating.set(True)
    try:
        yield
    finally:
        _migrating.reset(token)


def bump_after_migrations(connection) -> None:
    """Change the version once after a migration run, when its table exists by then, so web
    processes still running re-read whatever the migrations changed."""
    if inspect(connection).has_table(CatalogVersion.__tablename__):
        bump(connection)


def _after_execute(connection, clauseelement, _multiparams, _params, _options, _result) -> None:
    if not isinstance(clauseelement, Insert | Update | Delete) or _migrating.get():
        return
    table = getattr(clauseelement.table, "name", None)
    if table in WATCHED_TABLES:
        connection.execute(bump_statement(), {"version": new_version()})


def bump(connection) -> None:
    """Set a new version on ``connection`` (in its transaction)."""
    connection.execute(bump_statement(), {"version": new_version()})


def init_app(app: Flask) -> None:
    if not event.contains(Engine, "after_execute", _after_execute):
        event.listen(Engine, "after_execute", _after_execute)
    app.cli.add_command(catalog_changed_command)


@click.command("catalog-changed")
def catalog_changed_command() -> None:
    """Tell every web process to re-read the clinic's set-up (after editing it by hand in SQL)."""
    from clinic.extensions import db

    with db.engine.begin() as connection:
        bump(connection)
    click.echo("Catalog version changed: web processes re-read the set-up on their next answer.")
