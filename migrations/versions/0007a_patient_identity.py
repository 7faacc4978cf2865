"""patient identity: folded name, possible duplicates, merges; sms suppression list; booking
submission keys

Revision ID: 0007a
Revises: 0006d
Create Date: 2026-11-28

"""

import unicodedata

from alembic import op
import sqlalchemy as sa
import clinic.db_types


# revision identifiers, used by Alembic.
revision = "0007a"
down_revision = "0007d"
branch_labels = None
depends_on = None


def _fold(name):
    # A frozen copy of clinic.patients.names.fold_name: a migration must not change with the app.
    decomposed = unicodedata.normalize("NFKD", name or "")
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


def upgrade():
    op.create_table(
        "sms_suppression",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("created_at", clinic.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_sms_suppression")),
    )
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_key", sa.String(length=120), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("possible_duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))

    patient = sa.table(
        "patient",
        sa.column("id", sa.Integer),
        sa.column("full_name", sa.String),
        sa.column("name_key", sa.String),
        sa.column("phone", sa.String),
        sa.column("sms_opt_in", sa.Boolean),
        sa.column("sms_opt_in_at", clinic.db_types.UTCDateTime(timezone=True)),
        sa.column("sms_opt_in_source", sa.String),
        sa.column("created_at", clinic.db_types.UTCDateTime(timezone=True)),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(patient.c.id, patient.c.full_name)).all()
    for row in rows:
        bind.execute(
            patient.update().where(patient.c.id == row.id).values(name_key=_fold(row.full_name))
        )
    # Numbers that already said STOP start out on the suppression list.
    suppression = sa.table(
        "sms_suppression",
        sa.column("phone", sa.String),
        sa.column("created_at", clinic.db_types.UTCDateTime(timezone=True)),
        sa.column("source", sa.String),
    )
    stopped = {}
    for row in bind.execute(
        sa.select(patient.c.phone, patient.c.sms_opt_in_at, patient.c.created_at).where(
            patient.c.sms_opt_in_source == "sms", sa.not_(patient.c.sms_opt_in)
        )
    ):
        stopped.setdefault(row.phone, row.sms_opt_in_at or row.created_at)
    if stopped:
        op.bulk_insert(
            suppression,
            [{"phone": phone, "created_at": at, "source": "sms"} for phone, at in stopped.items()],
        )

    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_constraint("uq_patient_phone_dob", type_="unique")
        batch_op.create_unique_constraint(
            "uq_patient_phone_dob_name", ["phone", "date_of_birth", "name_key"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_patient_possible_duplicate_of_id_patient"),
            "patient",
            ["possible_duplicate_of_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_patient_merged_into_id_patient"), "patient", ["merged_into_id"], ["id"]
        )

    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submission_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_appointment_submission_key"), ["submission_key"]
        )


def downgrade():
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_appointment_submission_key"), type_="unique")
        batch_op.drop_column("submission_key")

    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_patient_merged_into_id_patient"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_patient_possible_duplicate_of_id_patient"), type_="foreignkey"
        )
        batch_op.drop_constraint("uq_patient_phone_dob_name", type_="unique")
        batch_op.create_unique_constraint("uq_patient_phone_dob", ["phone", "date_of_birth"])
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("possible_duplicate_of_id")
        batch_op.drop_column("name_key")

    op.drop_table("sms_suppression")
