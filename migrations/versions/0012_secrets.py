"""secrets: partner credentials encrypted at rest

Revision ID: 0012_secrets
Revises: 0011_login
Create Date: 2026-11-29 00:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_secrets'
down_revision = '0011_login'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
