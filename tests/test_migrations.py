"""The migrations and the models describe the same schema, on both databases.

The other tests copy a database migrated once per worker; these run the migrations themselves,
from an empty database.
"""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from clinic.extensions import db
from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import make_app


def schema_drift(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_app(request, clock, tmp_path):
    """An app on an empty database: no table, not even Alembic's."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    else:
        url = request.getfixturevalue("empty_postgres_url")
    app = make_app(url, clock, tmp_path)
    with app.app_context():
        assert sa.inspect(db.engine).get_table_names() == []
        yield app
        db.session.remove()
        db.engine.dispose()


def test_models_and_migrations_do_not_drift(empty_app):
    upgrade()
    assert schema_drift(db.engine) == []


def test_migrations_downgrade_and_upgrade_again(empty_app):
    upgrade()
    downgrade(revision="base")
    assert "appointment" not in sa.inspect(db.engine).get_table_names()
    upgrade()
    assert schema_drift(db.engine) == []


def test_postgres_has_the_overlap_exclusion_constraints(pg_app):
    rows = db.session.execute(
        sa.text("SELECT conname FROM pg_constraint WHERE contype = 'x' ORDER BY conname")
    ).scalars()
    assert list(rows) == [
        "appointment_practitioner_id_no_overlap",
        "appointment_room_id_no_overlap",
    ]


def source_check(engine) -> str:
    checks = sa.inspect(engine).get_check_constraints("appointment")
    return next(c["sqltext"] for c in checks if c["name"] == "ck_appointment_source_known")


def test_phone_and_walk_in_sources_come_and_go_with_their_migration(empty_app):
    upgrade()
    assert all(f"'{source}'" in source_check(db.engine) for source in ("phone", "walk_in"))
    downgrade(revision="0007a")
    assert "walk_in" not in source_check(db.engine)
    assert "'desk'" in source_check(db.engine)
    upgrade()
    assert "walk_in" in source_check(db.engine)
    assert schema_drift(db.engine) == []


def test_going_back_before_0008a_keeps_phone_and_walk_in_visits_as_desk_ones(empty_app):
    upgrade()
    make_clinic()
    for n, source in enumerate(("phone", "walk_in", "online")):
        make_booking(
            "consultation",
            datetime(2026, 3, 3, 10, 0, tzinfo=UTC) + timedelta(hours=n),
            source=source,
            patient=patient_details(full_name=f"Patient {n}"),
        )
    db.session.remove()
    downgrade(revision="0007a")
    sources = db.session.scalars(sa.text("SELECT source FROM appointment ORDER BY id")).all()
    assert sources == ["desk", "desk", "online"]
    db.session.remove()
    upgrade()
    if db.engine.dialect.name == "sqlite":  # foreign keys, off for the rebuild, are back on
        assert db.session.scalar(sa.text("PRAGMA foreign_keys")) == 1
