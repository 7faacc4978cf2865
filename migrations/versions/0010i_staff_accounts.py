"""staff accounts: one-time password links, invitations, last sign-in, staff emails

Revision ID: 0010i
Revises: 0010p
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa
import clinic.db_types


# revision identifiers, used by Alembic.
revision = '0010i'
down_revision = '0010p'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=10), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', clinic.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', clinic.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', clinic.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', clinic.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("purpose IN ('invite','reset')", name=op.f('ck_staff_token_purpose_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_user.id'], name=op.f('fk_staff_token_created_by_id_staff_user')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_user.id'], name=op.f('fk_staff_token_staff_user_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_token_token_hash'))
    )
    with op.batch_alter_table('staff_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_token_staff_user_id'), ['staff_user_id'], unique=False)

    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_sign_in_at', clinic.db_types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('invited_at', clinic.db_types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('invite_pending', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('outbound_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_user_id', sa.Integer(), nullable=True))
        batch_op.alter_column('patient_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_outbound_email_staff_user_id'), ['staff_user_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbound_email_staff_user_id_staff_user'), 'staff_user', ['staff_user_id'], ['id'])
        batch_op.create_check_constraint('one_recipient', '(patient_id IS NULL) <> (staff_user_id IS NULL)')


def downgrade():
    # Staff emails have no patient: they cannot stay once patient_id is required again.
    op.execute("DELETE FROM outbound_email WHERE patient_id IS NULL")
    with op.batch_alter_table('outbound_email', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbound_email_one_recipient'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_outbound_email_staff_user_id_staff_user'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbound_email_staff_user_id'))
        batch_op.alter_column('patient_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('staff_user_id')

    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_column('invite_pending')
        batch_op.drop_column('invited_at')
        batch_op.drop_column('last_sign_in_at')

    with op.batch_alter_table('staff_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_token_staff_user_id'))

    op.drop_table('staff_token')
