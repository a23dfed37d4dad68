"""money: remittance mappings, statements and their lines

Revision ID: 0008_money
Revises: 0007_dropship
Create Date: 2026-11-28 16:24:51.304333

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_money'
down_revision = '0007_dropship'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('remittance_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('carrier_id', sa.Integer(), nullable=False),
    sa.Column('tracking_number', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.String(length=64), nullable=False),
    sa.Column('fees', sa.String(length=64), nullable=False),
    sa.Column('payout_date', sa.String(length=64), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('decimal_comma', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['carrier_id'], ['carriers.id'], name=op.f('fk_remittance_mappings_carrier_id_carriers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remittance_mappings')),
    sa.UniqueConstraint('carrier_id', name=op.f('uq_remittance_mappings_carrier_id'))
    )
    op.create_table('remittance_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('carrier_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_by_name', sa.String(length=120), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('refused_rows', sa.Integer(), nullable=False),
    sa.Column('collected_cents', sa.Integer(), nullable=False),
    sa.Column('fees_cents', sa.Integer(), nullable=False),
    sa.Column('disputed_cents', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['carrier_id'], ['carriers.id'], name=op.f('fk_remittance_statements_carrier_id_carriers')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_remittance_statements_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remittance_statements')),
    sa.UniqueConstraint('carrier_id', 'file_sha256', name=op.f('uq_remittance_statements_carrier_id_file_sha256'))
    )
    with op.batch_alter_table('remittance_statements', schema=None) as batch_op:
        batch_op.create_index('ix_remittance_statements_uploaded', ['uploaded_at'], unique=False)

    op.create_table('remittance_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('tracking_number', sa.String(length=64), nullable=False),
    sa.Column('parcel_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('fees_cents', sa.Integer(), nullable=False),
    sa.Column('payout_date', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('difference_cents', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_remittance_lines_order_id_orders')),
    sa.ForeignKeyConstraint(['parcel_id'], ['parcels.id'], name=op.f('fk_remittance_lines_parcel_id_parcels')),
    sa.ForeignKeyConstraint(['statement_id'], ['remittance_statements.id'], name=op.f('fk_remittance_lines_statement_id_remittance_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remittance_lines'))
    )
    with op.batch_alter_table('remittance_lines', schema=None) as batch_op:
        batch_op.create_index('ix_remittance_lines_order', ['order_id'], unique=False)
        batch_op.create_index('ix_remittance_lines_statement', ['statement_id', 'line_no'], unique=False)
        batch_op.create_index('uq_remittance_lines_settled_parcel', ['parcel_id'], unique=True, sqlite_where=sa.text("outcome IN ('remitted', 'short', 'over')"), postgresql_where=sa.text("outcome IN ('remitted', 'short', 'over')"))


def downgrade():
    # Indexes go with their tables.
    op.drop_table('remittance_lines')
    op.drop_table('remittance_statements')
    op.drop_table('remittance_mappings')
