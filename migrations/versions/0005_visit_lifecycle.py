"""visit lifecycle: undo on the day, calendar sequence, depth reasons

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('undo_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('ics_sequence', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('session_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('depth_override_reason', sa.String(length=300), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('session_record', schema=None) as batch_op:
        batch_op.drop_column('depth_override_reason')

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('ics_sequence')
        batch_op.drop_column('undo_status')
