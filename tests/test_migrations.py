"""The migrations and the models describe the same schema, on both databases."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from clinic.extensions import db


def schema_drift(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_models_and_migrations_do_not_drift(request, backend):
    app = request.getfixturevalue("app" if backend == "sqlite" else "pg_app")
    with app.app_context():
        assert schema_drift(db.engine) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_downgrade_and_upgrade_again(request, backend):
    app = request.getfixturevalue("app" if backend == "sqlite" else "pg_app")
    with app.app_context():
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
