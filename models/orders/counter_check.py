"""Recount the counter tables from the data they count and list where they disagree.

Checked:
- order_status_counts: the sum of the shards per (channel, confirmation, shipping)
  against a GROUP BY over orders (one query each side);
- agent_day_counts: calls, confirmed, streak and last_action_at per (agent, day)
  against the agents' confirmation audit events, folded exactly as
  rebuild_agent_days folds them (events of users whose role is agent; a user whose
  role changed since is recounted under the new role, as the rebuild would);
- the boards' rollups (order_day_counts, lead_speed_counts, cod_counts) against a fold
  of every order, and agent_call_counts against the agents' timed outcome events.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from models.audit import AuditEvent
from models.base import db
from models.boards.check import (
    counted_call_times,
    counted_rollups,
    stored_call_times,
    stored_rollups,
)
from models.boards.rollups import TABLES as ROLLUP_TABLES
from models.user import User

from .agent_days import TABLE as AGENT_DAYS
from .agent_days import day_start, fold_calls
from .counters import NONE, OrderStatusCount
from .tables import Order

AGENT_DAY_FIELDS = ("calls", "confirmed", "streak", "last_action_at")
EMPTY_DAY = (0, 0, 0, None)


@dataclass(frozen=True)
class Difference:
    """One counter that disagrees with its recount."""

    table: str
    key: tuple
    counted: object
    stored: object

    def __str__(self) -> str:
        key = ", ".join("—" if part == NONE else str(part) for part in self.key)
        return f"{self.table} ({key}): counted {self.counted}, stored {self.stored}"


def _compare(table: str, counted: dict, stored: dict, zero=0) -> list[Difference]:
    """Differences between two {key: value} maps (a missing key is worth `zero`)."""
    return [Difference(table, key, counted.get(key, zero), stored.get(key, zero))
            for key in sorted(counted.keys() | stored.keys(), key=str)
            if counted.get(key, zero) != stored.get(key, zero)]


def status_differences() -> list[Difference]:
    """order_status_counts against a count of the orders."""
    counted = Counter({
        (channel, conf, ship): n for channel, conf, ship, n in db.session.execute(
            select(Order.channel_id, Order.confirmation_status,
                   func.coalesce(Order.shipping_status, NONE), func.count())
            .group_by(Order.channel_id, Order.confirmation_status, Order.shipping_status))
    })
    stored = {
        (channel, conf, ship): n for channel, conf, ship, n in db.session.execute(
            select(OrderStatusCount.channel_id, OrderStatusCount.confirmation_status,
                   OrderStatusCount.shipping_status, func.sum(OrderStatusCount.n))
            .group_by(OrderStatusCount.channel_id, OrderStatusCount.confirmation_status,
                      OrderStatusCount.shipping_status))
    }
    return _compare("order_status_counts", counted, stored)


def agent_day_differences(since: date | None = None) -> list[Difference]:
    """agent_day_counts (from `since` on, else every day) against the audit trail."""
    events = (
        select(AuditEvent.actor_user_id, AuditEvent.to_value, AuditEvent.created_at)
        .join(User, User.id == AuditEvent.actor_user_id)
        .where(User.role == "agent", AuditEvent.kind == "confirmation")
        .order_by(AuditEvent.created_at, AuditEvent.id))
    rows = select(AGENT_DAYS.c.agent_id, AGENT_DAYS.c.day,
                  *(AGENT_DAYS.c[name] for name in AGENT_DAY_FIELDS))
    if since is not None:
        events = events.where(AuditEvent.created_at >= day_start(since))
        rows = rows.where(AGENT_DAYS.c.day >= since)
    counted = {(agent_id, day): (d.calls, d.confirmed, d.streak, d.last_action)
               for (agent_id, day), d in fold_calls(db.session.execute(events)).items()
               if since is None or day >= since}
    stored = {(agent_id, day): tuple(values)
              for agent_id, day, *values in db.session.execute(rows)}
    differences = []
    for agent_id, day in sorted(counted.keys() | stored.keys()):
        # A day without a call has no row: zero calls, no streak, no last action.
        mine = counted.get((agent_id, day), EMPTY_DAY)
        theirs = stored.get((agent_id, day), EMPTY_DAY)
        differences += [
            Difference("agent_day_counts", (agent_id, day, name), a, b)
            for name, a, b in zip(AGENT_DAY_FIELDS, mine, theirs, strict=True) if a != b]
    return differences


def rollup_differences() -> list[Difference]:
    """The boards' rollups against a fold of every order."""
    counted, stored = counted_rollups(), stored_rollups()

    def shown(values: tuple | None, key: tuple):
        width = len(ROLLUP_TABLES[key[0]][2])
        values = values or (0,) * width
        return values[0] if width == 1 else values  # a single count reads as a number

    return [Difference(key[0], key[1:], shown(counted.get(key), key),
                       shown(stored.get(key), key))
            for key in sorted(counted.keys() | stored.keys(), key=str)
            if counted.get(key) != stored.get(key)]


def call_time_differences(since: date | None = None) -> list[Difference]:
    """agent_call_counts (from `since` on) against the agents' timed outcomes."""
    return _compare("agent_call_counts", counted_call_times(since), stored_call_times(since))


def check_counters(since: date | None = None) -> list[Difference]:
    """Every counter that differs from a recount of what it counts (empty: all match)."""
    return (status_differences() + agent_day_differences(since) + rollup_differences()
            + call_time_differences(since))
