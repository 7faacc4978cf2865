"""alert escalation: texts to the clinician on call, outcomes of acknowledged alerts

Revision ID: 0006b
Revises: 0005
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa

import clinic.db_types


# revision identifiers, used by Alembic.
revision = '0006b'
down_revision = '0006e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbound_text', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alert_id', sa.Integer(), nullable=True))
        batch_op.alter_column('patient_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_outbound_text_alert_id'), ['alert_id'], unique=False)
        batch_op.create_check_constraint(
            'recipient_known', "patient_id IS NOT NULL OR to_number <> ''"
        )

    with op.batch_alter_table('staff_alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column('outcome_note', sa.String(length=300), server_default='', nullable=False)
        )
        batch_op.add_column(sa.Column('outcome_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('outcome_at', clinic.db_types.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column('escalation_stopped_at', clinic.db_types.UTCDateTime(), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_staff_alert_outcome_by_id_staff_user'),
            'staff_user',
            ['outcome_by_id'],
            ['id'],
        )
        batch_op.create_check_constraint(
            'outcome_known',
            "outcome IS NULL OR outcome IN "
            "('called_advised','emergency_care','booked','no_answer')",
        )


def downgrade():
    with op.batch_alter_table('staff_alert', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_staff_alert_outcome_known'), type_='check')
        batch_op.drop_constraint(
            batch_op.f('fk_staff_alert_outcome_by_id_staff_user'), type_='foreignkey'
        )
        batch_op.drop_column('escalation_stopped_at')
        batch_op.drop_column('outcome_at')
        batch_op.drop_column('outcome_by_id')
        batch_op.drop_column('outcome_note')
        batch_op.drop_column('outcome')

    with op.batch_alter_table('outbound_text', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbound_text_recipient_known'), type_='check')
        batch_op.drop_index(batch_op.f('ix_outbound_text_alert_id'))
        batch_op.alter_column('patient_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('alert_id')
