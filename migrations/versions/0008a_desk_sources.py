"""desk booking sources: phone and walk-in besides desk and online

Revision ID: 0008a
Revises: 0007a
Create Date: 2026-11-28

"""

from alembic import op
import sqlalchemy as sa
import clinic.db_types


# revision identifiers, used by Alembic.
revision = "0008a"
down_revision = "0007a"
branch_labels = None
depends_on = None

NAME = "ck_appointment_source_known"


def upgrade():
    # Batch mode rebuilds the table on SQLite, which cannot alter a CHECK constraint in place
    # (migrations/env.py holds foreign keys off meanwhile); PostgreSQL alters it directly.
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(NAME), type_="check")
        batch_op.create_check_constraint(
            op.f(NAME), "source IN ('online','desk','phone','walk_in')"
        )


def downgrade():
    # The older schema knows only online and desk: phone and walk-in bookings stay desk ones.
    appointment = sa.table("appointment", sa.column("source", sa.String))
    op.execute(
        appointment.update()
        .where(appointment.c.source.in_(("phone", "walk_in")))
        .values(source="desk")
    )
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(NAME), type_="check")
        batch_op.create_check_constraint(op.f(NAME), "source IN ('online','desk')")
