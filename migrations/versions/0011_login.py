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
    # The secret is stored Fernet-encrypted by models.crypto.EncryptedText (a Text column).
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled')
        batch_op.drop_column('totp_secret')
