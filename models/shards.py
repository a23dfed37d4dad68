"""The shard a transaction writes to in the sharded counter tables (status counts, rollups).

Readers sum a counter's shards, so any shard is correct; the choice only decides who
waits for whom. A transaction keeps one shard for all its writes: with a new shard per
flush, two transactions adding to the same counters in two flushes each could lock
(row, shard 6) then (row, shard 1) and the other way round, and PostgreSQL aborts one of
them as a deadlock (seen in the chaos run). On PostgreSQL each transaction also holds a
transaction-scoped advisory lock on its shard, so concurrent writers take different
shards and never wait on each other's counter rows.
"""

import random

from sqlalchemy import text

SHARDS = 8
_LOCK_SPACE = 0x636F64  # first key of the advisory locks: one per shard
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:space, :shard)")


def transaction_shard(connection) -> int:
    """This transaction's shard, chosen at its first counter write and kept to its end."""
    if not connection.in_transaction():
        connection.begin()  # as its first statement would, so the shard is tied to it
    transaction = connection.get_transaction()
    info = connection.info
    if info.get("shard_transaction") is not transaction:
        info["shard_transaction"], info["shard"] = transaction, None
    held = info["shard"]
    if connection.dialect.name == "postgresql":
        held = _claim(connection, held)
    elif held is None:
        held = random.randrange(SHARDS)  # SQLite has one writer at a time: nothing to share
    info["shard"] = held
    return held


def _claim(connection, held: int | None) -> int:
    """A shard no other transaction holds (ours first: taking it again is free and keeps it
    held should a savepoint rollback have released it); with all held, share one."""
    candidates = random.sample(range(SHARDS), SHARDS)
    if held is not None:
        candidates.insert(0, held)
    for shard in candidates:
        if connection.scalar(_TRY_LOCK, {"space": _LOCK_SPACE, "shard": shard}):
            return shard
    # More writers than shards: sharing is safe, each statement's rows are in a fixed order.
    return candidates[0]
