"""email outbox, email consent, aftercare sheet handed over

Revision ID: 0006d
Revises: 0005
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa
import clinic.db_types


# revision identifiers, used by Alembic.
revision = '0006d'
down_revision = '0006b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbound_email',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('send_at', clinic.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', clinic.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('lease_until', clinic.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('handed_over_at', clinic.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error_message', sa.String(length=300), nullable=False),
    sa.Column('created_at', clinic.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', clinic.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', clinic.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending','sending','sent','failed','skipped')", name=op.f('ck_outbound_email_status_known')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_outbound_email_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_outbound_email_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_email')),
    sa.UniqueConstraint('appointment_id', 'kind', name='uq_outbound_email_appointment_kind'),
    sa.UniqueConstraint('message_id', name=op.f('uq_outbound_email_message_id'))
    )
    with op.batch_alter_table('outbound_email', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_email_due', ['status', 'send_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_email_patient_id'), ['patient_id'], unique=False)

    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_opt_in', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('email_opt_in_at', clinic.db_types.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('session_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('aftercare_sheet_given_at', clinic.db_types.UTCDateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('session_record', schema=None) as batch_op:
        batch_op.drop_column('aftercare_sheet_given_at')

    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_column('email_opt_in_at')
        batch_op.drop_column('email_opt_in')

    with op.batch_alter_table('outbound_email', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbound_email_patient_id'))
        batch_op.drop_index('ix_outbound_email_due')

    op.drop_table('outbound_email')
