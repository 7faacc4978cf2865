"""waitlist: entries, the times visits free (openings) and the offers made of them

Partial unique indexes make "one taker per freed time" a database fact on both databases.

Revision ID: 0009w
Revises: 0008a
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa
import clinic.db_types


# revision identifiers, used by Alembic.
revision = '0009w'
down_revision = '0008a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('waitlist_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=True),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('time_of_day', sa.String(length=10), nullable=False),
    sa.Column('time_from', sa.Time(), nullable=True),
    sa.Column('time_to', sa.Time(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', clinic.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', clinic.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('online','desk')", name=op.f('ck_waitlist_entry_source_known')),
    sa.CheckConstraint("status IN ('waiting','offered','booked','withdrawn','expired')", name=op.f('ck_waitlist_entry_status_known')),
    sa.CheckConstraint("time_of_day <> 'between' OR (time_from IS NOT NULL AND time_to IS NOT NULL AND time_from < time_to)", name=op.f('ck_waitlist_entry_between_has_times')),
    sa.CheckConstraint("time_of_day IN ('any','morning','afternoon','evening','between')", name=op.f('ck_waitlist_entry_time_of_day_known')),
    sa.CheckConstraint('first_day <= last_day', name=op.f('ck_waitlist_entry_days_in_order')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_waitlist_entry_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_waitlist_entry_patient_id_patient')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_waitlist_entry_practitioner_id_practitioner')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_waitlist_entry_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entry')),
    sa.UniqueConstraint('key', name=op.f('uq_waitlist_entry_key'))
    )
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_entry_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index('ix_waitlist_entry_service_status', ['service_id', 'status', 'created_at'], unique=False)

    op.create_table('waitlist_opening',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('start_at', clinic.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('freed_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', clinic.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', clinic.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open','filled','gone')", name=op.f('ck_waitlist_opening_status_known')),
    sa.ForeignKeyConstraint(['freed_by_id'], ['appointment.id'], name=op.f('fk_waitlist_opening_freed_by_id_appointment')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_waitlist_opening_location_id_location')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_waitlist_opening_practitioner_id_practitioner')),
    sa.ForeignKeyConstraint(['room_id'], ['room.id'], name=op.f('fk_waitlist_opening_room_id_room')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_waitlist_opening_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_opening'))
    )
    with op.batch_alter_table('waitlist_opening', schema=None) as batch_op:
        batch_op.create_index('ix_waitlist_opening_status_start', ['status', 'start_at'], unique=False)
        batch_op.create_index('uq_waitlist_opening_open_time', ['practitioner_id', 'start_at'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('waitlist_offer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opening_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('offered_at', clinic.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', clinic.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('closed_at', clinic.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('text_id', sa.Integer(), nullable=True),
    sa.Column('gone_text_id', sa.Integer(), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', clinic.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open','taken','gone','expired')", name=op.f('ck_waitlist_offer_status_known')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_waitlist_offer_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entry.id'], name=op.f('fk_waitlist_offer_entry_id_waitlist_entry')),
    sa.ForeignKeyConstraint(['gone_text_id'], ['outbound_text.id'], name=op.f('fk_waitlist_offer_gone_text_id_outbound_text')),
    sa.ForeignKeyConstraint(['opening_id'], ['waitlist_opening.id'], name=op.f('fk_waitlist_offer_opening_id_waitlist_opening')),
    sa.ForeignKeyConstraint(['text_id'], ['outbound_text.id'], name=op.f('fk_waitlist_offer_text_id_outbound_text')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_offer')),
    sa.UniqueConstraint('appointment_id', name=op.f('uq_waitlist_offer_appointment_id')),
    sa.UniqueConstraint('key', name=op.f('uq_waitlist_offer_key')),
    sa.UniqueConstraint('opening_id', 'entry_id', name='uq_waitlist_offer_opening_entry')
    )
    with op.batch_alter_table('waitlist_offer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_offer_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index('ix_waitlist_offer_status_expires', ['status', 'expires_at'], unique=False)
        batch_op.create_index('uq_waitlist_offer_one_open_per_entry', ['entry_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.create_index('uq_waitlist_offer_one_taker', ['opening_id'], unique=True, sqlite_where=sa.text("status = 'taken'"), postgresql_where=sa.text("status = 'taken'"))



def downgrade():
    with op.batch_alter_table('waitlist_offer', schema=None) as batch_op:
        batch_op.drop_index('uq_waitlist_offer_one_taker', sqlite_where=sa.text("status = 'taken'"), postgresql_where=sa.text("status = 'taken'"))
        batch_op.drop_index('uq_waitlist_offer_one_open_per_entry', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_waitlist_offer_status_expires')
        batch_op.drop_index(batch_op.f('ix_waitlist_offer_entry_id'))

    op.drop_table('waitlist_offer')
    with op.batch_alter_table('waitlist_opening', schema=None) as batch_op:
        batch_op.drop_index('uq_waitlist_opening_open_time', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_waitlist_opening_status_start')

    op.drop_table('waitlist_opening')
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_waitlist_entry_service_status')
        batch_op.drop_index(batch_op.f('ix_waitlist_entry_patient_id'))

    op.drop_table('waitlist_entry')
