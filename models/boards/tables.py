"""The rollup tables behind the boards: each row counts orders (or calls) of one slice.

Every one is derived from the order rows alone (or, for call times, from the agents'
audit events), so `flask check-counters` can recount it. Writers touch them in the
same transaction as the change they count; see models/boards/rollups.py.
"""

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db

# The slices a board can be narrowed to. "all" has the single key "".
ALL, CHANNEL, CARRIER, AGENT, CITY, SUPPLIER = (
    "all", "channel", "carrier", "agent", "city", "supplier")
DIMENSIONS = (ALL, CHANNEL, CARRIER, AGENT, CITY, SUPPLIER)
NO_KEY = ""  # the "all" slice, and an order without a carrier or an agent
NOT_SHIPPED = ""  # shipping status before confirmation (primary keys cannot be NULL)
UNPAID = ""  # remittance of a parcel no statement has settled yet
# Concurrent transactions pick different rows (shards, models/shards.py) of a hot slice
# (today, all orders); readers sum the shards, and the daily check folds past days into
# shard 0.


class OrderDayCount(db.Model):
    """Orders that arrived on one local day, in one slice, in one (confirmation, shipping)."""

    __tablename__ = "order_day_counts"
    # The agents table reads every agent's slice over a few days (the key is not known).
    __table_args__ = (Index("ix_order_day_counts_dim_day", "dim", "day"),)

    dim: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    confirmation_status: Mapped[str] = mapped_column(String(16), primary_key=True)
    shipping_status: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class LeadSpeedCount(db.Model):
    """Orders that arrived on one local day, in one slice, first called after `minutes`
    (a bucket's lower bound: one minute wide below an hour, then wider)."""

    __tablename__ = "lead_speed_counts"

    dim: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    minutes: Mapped[int] = mapped_column(primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class CodCount(db.Model):
    """Parcels' cash of one carrier in one shipping status and remittance outcome, by the
    local day the order entered that shipping status (what makes a payout overdue)."""

    __tablename__ = "cod_counts"

    carrier_id: Mapped[int] = mapped_column(primary_key=True)  # 0: no carrier yet
    shipping_status: Mapped[str] = mapped_column(String(16), primary_key=True)
    remittance: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(default=0)
    cod_cents: Mapped[int] = mapped_column(default=0)
    collected_cents: Mapped[int] = mapped_column(default=0)
    fees_cents: Mapped[int] = mapped_column(default=0)


class AgentCallCount(db.Model):
    """An agent's calls on one local day that took `seconds` (a bucket's lower bound)
    from taking the card to recording the outcome."""

    __tablename__ = "agent_call_counts"

    # Day first: the agents table reads every agent's calls over a few days.
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    seconds: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(default=0)
