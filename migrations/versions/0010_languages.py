"""languages: each user's chosen language (empty follows the browser)

Revision ID: 0010_languages
Revises: 0009_boards
Create Date: 2026-11-28 21:01:10.960753

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_languages'
down_revision = '0009_boards'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language')
