"""an index for the dispatcher's daily count of texts sent (the per-number and per-day caps)

Revision ID: 0007d
Revises: 0006d
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007d'
down_revision = '0007b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbound_text', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_text_sent_at', ['sent_at', 'to_number'], unique=False)


def downgrade():
    with op.batch_alter_table('outbound_text', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_text_sent_at')
