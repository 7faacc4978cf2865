"""catalog version: one row that changes with every write to the clinic's set-up

Web processes keep services, practitioners, hours, rooms and locations in memory and check
this value before trusting their copy (clinic/catalog/version.py).

Revision ID: 0010v
Revises: 0010i
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010v'
down_revision = '0010i'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('catalog_version',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_version'))
    )
    op.bulk_insert(table, [{'id': 1, 'version': 0}])


def downgrade():
    op.drop_table('catalog_version')
