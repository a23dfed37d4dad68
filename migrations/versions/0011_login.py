"""login: session timeouts, login throttling and the optional second factor

Revision ID: 0011_login
Revises: 0010_languages
Create Date: 2026-11-29 00:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_login'
down_revision = '0010_languages'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
