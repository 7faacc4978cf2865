"""clinic policy: the cancellation window and quiet hours an admin sets without code

One row at most; an empty column leaves the environment's value in force.

Revision ID: 0010p
Revises: 0010c
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa
import clinic.db_types


# revision identifiers, used by Alembic.
revision = '0010p'
down_revision = '0010c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clinic_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cancellation_window_hours', sa.Integer(), nullable=True),
    sa.Column('quiet_start', sa.Time(), nullable=True),
    sa.Column('quiet_end', sa.Time(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', clinic.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('cancellation_window_hours BETWEEN 0 AND 336', name=op.f('ck_clinic_policy_cancellation_window_range')),
    sa.CheckConstraint('id = 1', name=op.f('ck_clinic_policy_single_row')),
    sa.CheckConstraint('quiet_start <> quiet_end', name=op.f('ck_clinic_policy_quiet_start_not_end')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinic_policy'))
    )


def downgrade():
    op.drop_table('clinic_policy')
