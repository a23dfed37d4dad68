"""desk: orders by confirmation time (and per shipping status), and a partial index of failing parcels

Revision ID: 0013_desk_counts
Revises: 0012_secrets
Create Date: 2026-11-29 01:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_desk_counts'
down_revision = '0012_secrets'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_confirmed', ['confirmed_at', 'id'], unique=False)
        batch_op.create_index('ix_orders_shipping_confirmed',
                              ['shipping_status', 'confirmed_at', 'id'], unique=False)
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.create_index('ix_parcels_failing', ['order_id'], unique=False,
                              sqlite_where=sa.text('last_error IS NOT NULL'),
                              postgresql_where=sa.text('last_error IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.drop_index('ix_parcels_failing',
                            sqlite_where=sa.text('last_error IS NOT NULL'),
                            postgresql_where=sa.text('last_error IS NOT NULL'))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_shipping_confirmed')
        batch_op.drop_index('ix_orders_confirmed')
