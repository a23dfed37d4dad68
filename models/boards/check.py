"""Recount the boards' rollups from the orders (and the agents' audit events), rebuild
them, and fold past days' shards into one row each so a board reads fewer rows."""

from collections import Counter
from datetime import date

from sqlalchemy import func, select

from models.audit import AuditEvent
from models.base import db
from models.orders.agent_days import day_start
from models.user import User

from .rollups import TABLES, all_facts, fold, local_day, seconds_bucket, write
from .tables import AgentCallCount

CALLS = AgentCallCount.__table__


def stored_rollups() -> dict[tuple, tuple]:
    """Every rollup row summed over its shards: {(table, key…): (values…)}."""
    stored = {}
    for name, (model, keys, values) in TABLES.items():
        table = model.__table__
        query = (select(*(table.c[k] for k in keys), *(func.sum(table.c[v]) for v in values))
                 .group_by(*(table.c[k] for k in keys)))
        for row in db.session.execute(query):
            sums = tuple(int(v) for v in row[len(keys):])
            if any(sums):
                stored[(name, *row[:len(keys)])] = sums
    return stored


def counted_rollups() -> dict[tuple, tuple]:
    """Every rollup row as a fold of all orders would write it."""
    counted = {}
    for key, values in fold(all_facts()).items():
        width = len(TABLES[key[0]][2])
        if any(values[:width]):
            counted[key] = tuple(values[:width])
    return counted


def stored_call_times(since: date | None) -> Counter:
    """agent_call_counts as {(agent, day, bucket): n}."""
    query = select(CALLS.c.agent_id, CALLS.c.day, CALLS.c.seconds, CALLS.c.n)
    if since is not None:
        query = query.where(CALLS.c.day >= since)
    return Counter({(a, d, s): n for a, d, s, n in db.session.execute(query) if n})


def counted_call_times(since: date | None) -> Counter:
    """Agents' calls per (agent, day, bucket), from their timed confirmation events."""
    query = (select(AuditEvent.actor_user_id, AuditEvent.created_at, AuditEvent.call_seconds)
             .join(User, User.id == AuditEvent.actor_user_id)
             .where(User.role == "agent", AuditEvent.kind == "confirmation",
                    AuditEvent.call_seconds.is_not(None)))
    if since is not None:
        query = query.where(AuditEvent.created_at >= day_start(since))
    counted: Counter = Counter()
    for agent_id, at, seconds in db.session.execute(query):
        counted[(agent_id, local_day(at), seconds_bucket(seconds))] += 1
    return counted


def rebuild_call_times(since: date | None) -> None:
    """Rewrite agent_call_counts (from `since` on) from the audit events."""
    delete = CALLS.delete()
    if since is not None:
        delete = delete.where(CALLS.c.day >= since)
    db.session.execute(delete)
    rows = [{"agent_id": a, "day": d, "seconds": s, "n": n}
            for (a, d, s), n in counted_call_times(since).items()]
    if rows:
        db.session.execute(CALLS.insert(), rows)


def compact(before: date) -> int:
    """Fold the shards of every rollup row older than `before` into shard 0; rows folded.

    DELETE … RETURNING takes exactly the rows it removes, so an increment a writer adds
    meanwhile (to a shard row this statement did not see) stays for the next run.
    """
    folded = 0
    connection = db.session.connection()
    for name, (model, keys, values) in TABLES.items():
        table = model.__table__
        taken = connection.execute(
            table.delete().where(table.c.day < before, table.c.shard != 0)
            .returning(*(table.c[k] for k in keys), *(table.c[v] for v in values))).all()
        if not taken:
            continue
        sums: dict[tuple, list[int]] = {}
        for row in taken:
            total = sums.setdefault(tuple(row[:len(keys)]), [0] * len(values))
            for i, v in enumerate(row[len(keys):]):
                total[i] += v
        write({(name, *key): total for key, total in sums.items() if any(total)},
              connection, shard=0)
        connection.execute(table.delete().where(
            table.c.day < before, *(table.c[v] == 0 for v in values)))
        folded += len(taken)
    return folded
