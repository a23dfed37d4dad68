"""agent day counts

Revision ID: 0004_agent_day_counts
Revises: 0003_call_queue
Create Date: 2026-11-21 23:50:00

"""
import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004_agent_day_counts'
down_revision = '0003_call_queue'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('agent_day_counts',
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('confirmed', sa.Integer(), nullable=False),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('last_action_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_agent_day_counts_agent_id_users')),
    sa.PrimaryKeyConstraint('agent_id', 'day', name=op.f('pk_agent_day_counts'))
    )
    _backfill(table)


def _backfill(table):
    """Today's and yesterday's figures from the audit trail, so the strip stays right."""
    zone = ZoneInfo(os.environ.get("DISPLAY_TIMEZONE", "Africa/Casablanca"))
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=2)
    events = op.get_bind().execute(sa.text(
        "SELECT a.actor_user_id, a.to_value, a.created_at FROM audit_events a"
        " JOIN users u ON u.id = a.actor_user_id"
        " WHERE u.role = 'agent' AND a.kind = 'confirmation' AND a.created_at >= :since"
        " ORDER BY a.created_at, a.id"), {"since": since})
    days = {}
    for agent_id, outcome, at in events:
        if isinstance(at, str):  # SQLite through text() returns the stored text
            at = datetime.fromisoformat(at)
        key = (agent_id, at.replace(tzinfo=UTC).astimezone(zone).date())
        day = days.setdefault(key, {"calls": 0, "confirmed": 0, "streak": 0})
        confirmed = outcome == "confirmed"
        day["calls"] += 1
        day["confirmed"] += confirmed
        day["streak"] = day["streak"] + 1 if confirmed else 0
        day["last_action_at"] = at
    if days:
        op.bulk_insert(table, [{"agent_id": a, "day": d, **v} for (a, d), v in days.items()])


def downgrade():
    op.drop_table('agent_day_counts')
