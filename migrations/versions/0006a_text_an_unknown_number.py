"""a safety reply to a number that matches no patient: outbound_text.patient_id nullable

Revision ID: 0006a
Revises: 0005
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006a'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbound_text', schema=None) as batch_op:
        batch_op.alter_column('patient_id', existing_type=sa.Integer(), nullable=True)


def downgrade():
    # Texts to unknown numbers have no patient to hang on: they go with the downgrade.
    op.execute("DELETE FROM outbound_text WHERE patient_id IS NULL")
    with op.batch_alter_table('outbound_text', schema=None) as batch_op:
        batch_op.alter_column('patient_id', existing_type=sa.Integer(), nullable=False)
