"""consent form versions published from the settings: who published each one, and when

The consent_form table keeps its PostgreSQL trigger that refuses any UPDATE or DELETE: adding
columns changes no row, and the existing rows (the built-in version 1) keep both columns empty.

Revision ID: 0010c
Revises: 0009w
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa
import clinic.db_types


# revision identifiers, used by Alembic.
revision = '0010c'
down_revision = '0009w'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consent_form', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_at', clinic.db_types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('published_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_consent_form_published_by_id_staff_user'), 'staff_user', ['published_by_id'], ['id'])


def downgrade():
    # Going back drops who published each version; the versions themselves and their
    # signatures stay.
    with op.batch_alter_table('consent_form', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_consent_form_published_by_id_staff_user'), type_='foreignkey')
        batch_op.drop_column('published_by_id')
        batch_op.drop_column('published_at')
