"""secrets: partner credentials encrypted at rest

Revision ID: 0012_secrets
Revises: 0011_login
Create Date: 2026-11-29 00:50:00

"""
import sqlalchemy as sa
from alembic import op

from models.crypto import decrypt, encrypt, is_encrypted

# revision identifiers, used by Alembic.
revision = '0012_secrets'
down_revision = '0011_login'
branch_labels = None
depends_on = None

# The columns as they were before this revision: secrets typed by managers, in plain text.
SECRETS = {
    'carriers': ('api_key', 'webhook_secret'),
    'channels': ('api_key', 'api_secret', 'webhook_secret'),
    'suppliers': ('api_key',),
}
# Shopify's client secret from before a rotation, kept in the channel's settings.
SEALED_SETTING = 'previous_webhook_secret'


def upgrade():
    # Text first: a Fernet token of a 255-character secret is about 420 characters.
    for table, columns in SECRETS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=sa.String(length=255),
                                      type_=sa.Text(), existing_nullable=True)
    # The key is the app's (CODBOARD_SECRETS_KEY, else instance/secrets_key).
    _convert(lambda value: value if is_encrypted(value) else encrypt(value))


def downgrade():
    _convert(decrypt)
    for table, columns in SECRETS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=sa.Text(),
                                      type_=sa.String(length=255), existing_nullable=True)


def _convert(change) -> None:
    """Apply `change` to every stored secret, in place (empty values left as they are)."""
    bind = op.get_bind()
    for name, columns in SECRETS.items():
        table = sa.table(name, sa.column('id', sa.Integer),
                         *(sa.column(c, sa.Text) for c in columns))
        for row in bind.execute(sa.select(table)).mappings().all():
            values = {c: change(row[c]) for c in columns if row[c]}
            if any(values[c] != row[c] for c in values):
                bind.execute(table.update().where(table.c.id == row['id']).values(**values))
    channels = sa.table('channels', sa.column('id', sa.Integer), sa.column('settings', sa.JSON))
    for row in bind.execute(sa.select(channels)).mappings().all():
        settings = dict(row['settings'] or {})
        if isinstance(settings.get(SEALED_SETTING), str) and settings[SEALED_SETTING]:
            settings[SEALED_SETTING] = change(settings[SEALED_SETTING])
            if settings != row['settings']:
                bind.execute(channels.update().where(channels.c.id == row['id'])
                             .values(settings=settings))
