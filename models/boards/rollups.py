"""Keep the boards' rollups in step with the orders, inside the writer's own transaction.

Every order contributes a fixed set of rollup rows, derived from its own columns and its
lines' suppliers (`contributions`): one per slice in order_day_counts, one per slice in
lead_speed_counts once an agent has called, one in cod_counts once confirmed. A writer
takes the facts of the orders it changes before and after the change and adds the
difference (`apply`); the ORM's flush does the same through the listeners below. The
same function folds every order from scratch for check-counters and rebuilds.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import event, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.base import db
from models.orders.tables import Order, OrderLine
from models.shards import transaction_shard
from models.small_tables import forget

from .tables import (
    AGENT,
    ALL,
    CARRIER,
    CHANNEL,
    CITY,
    NO_KEY,
    NOT_SHIPPED,
    SUPPLIER,
    AgentCallCount,
    CodCount,
    LeadSpeedCount,
    OrderDayCount,
)

ORDERS, LINES = Order.__table__, OrderLine.__table__
LIVE_PREFIX = "board:"  # boards rendered from these rollups, cached a moment per process
CHUNK = 1000  # ids per IN (...) lookup


@dataclass(frozen=True)
class Facts:
    """What the rollups know of one order."""

    created_at: datetime
    channel_id: int
    carrier_id: int | None
    agent_id: int | None
    city: str
    confirmation_status: str
    shipping_status: str | None
    cod_amount_cents: int
    first_call_at: datetime | None
    shipping_changed_at: datetime | None
    remittance: str
    remitted_cents: int
    remittance_fees_cents: int
    suppliers: frozenset = frozenset()


ORDER_FIELDS = tuple(f.name for f in fields(Facts) if f.name != "suppliers")
FACT_COLUMNS = (ORDERS.c.id, *(ORDERS.c[name] for name in ORDER_FIELDS))


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(moment: datetime) -> date:
    """The business's calendar day of a naive UTC time."""
    zone = _zone(current_app.config["DISPLAY_TIMEZONE"])
    return moment.replace(tzinfo=UTC).astimezone(zone).date()


def minutes_bucket(minutes: int) -> int:
    """Lower bound of the speed-to-lead bucket: a minute wide below an hour (so "within
    15 minutes" is exact), a quarter hour below four hours, an hour below a day, then days."""
    minutes = max(minutes, 0)
    for limit, width in ((60, 1), (240, 15), (1440, 60)):
        if minutes < limit:
            return minutes - minutes % width
    return minutes - minutes % 1440


def seconds_bucket(seconds: int) -> int:
    """Lower bound of the time-per-call bucket: 5 s wide below 10 minutes, then a minute,
    then an hour."""
    seconds = max(seconds, 0)
    for limit, width in ((600, 5), (3600, 60)):
        if seconds < limit:
            return seconds - seconds % width
    return seconds - seconds % 3600


def slices(f: Facts) -> list[tuple[str, str]]:
    """The (dimension, key) slices an order is counted in."""
    found = [(ALL, NO_KEY), (CHANNEL, str(f.channel_id)),
             (CARRIER, str(f.carrier_id) if f.carrier_id else NO_KEY),
             (AGENT, str(f.agent_id) if f.agent_id else NO_KEY), (CITY, (f.city or "")[:120])]
    return found + [(SUPPLIER, str(s)) for s in sorted(f.suppliers)]


def contributions(f: Facts) -> dict[tuple, tuple]:
    """The rollup rows one order adds to: {(table, key…): (values…)}."""
    day = local_day(f.created_at)
    out: dict[tuple, tuple] = {}
    shipping = f.shipping_status or NOT_SHIPPED
    for dim, key in slices(f):
        out[("order_day_counts", dim, key, day, f.confirmation_status, shipping)] = (1,)
    if f.first_call_at is not None:
        waited = int((f.first_call_at - f.created_at).total_seconds() // 60)
        bucket = minutes_bucket(waited)
        for dim, key in slices(f):
            out[("lead_speed_counts", dim, key, day, bucket)] = (1,)
    if f.shipping_status is not None:
        since = local_day(f.shipping_changed_at or f.created_at)
        out[("cod_counts", f.carrier_id or 0, f.shipping_status, f.remittance, since)] = (
            1, f.cod_amount_cents, f.remitted_cents, f.remittance_fees_cents)
    return out


def fold(all_facts: Iterable[Facts], into: dict | None = None) -> dict[tuple, list[int]]:
    """Sum the contributions of many orders."""
    totals: dict[tuple, list[int]] = into if into is not None else defaultdict(lambda: [0] * 4)
    for f in all_facts:
        for key, values in contributions(f).items():
            total = totals[key]
            for i, v in enumerate(values):
                total[i] += v
    return totals


def _delta(pairs: Iterable[tuple[Facts | None, Facts | None]]) -> dict[tuple, list[int]]:
    """Rollup changes implied by orders moving from `before` to `after` (None: absent)."""
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0] * 4)
    for before, after in pairs:
        if before == after:
            continue
        for sign, facts in ((-1, before), (1, after)):
            if facts is None:
                continue
            for key, values in contributions(facts).items():
                total = totals[key]
                for i, v in enumerate(values):
                    total[i] += sign * v
    return {k: v for k, v in totals.items() if any(v)}


# table name → (model, key columns, value columns)
TABLES = {
    "order_day_counts": (OrderDayCount, ("dim", "key", "day", "confirmation_status",
                                         "shipping_status"), ("n",)),
    "lead_speed_counts": (LeadSpeedCount, ("dim", "key", "day", "minutes"), ("n",)),
    "cod_counts": (CodCount, ("carrier_id", "shipping_status", "remittance", "day"),
                   ("n", "cod_cents", "collected_cents", "fees_cents")),
}


def _upsert_statement(dialect, name: str):
    """INSERT … ON CONFLICT that adds the values to a rollup row (built once per dialect)."""
    model, keys, values = TABLES[name]
    table = model.__table__
    stmt = dialect.insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[*keys, "shard"],
        set_={v: table.c[v] + stmt.excluded[v] for v in values})


_UPSERT = {(dialect_name, name): _upsert_statement(dialect, name)
           for dialect_name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
           for name in TABLES}


def write(deltas: dict[tuple, list[int]], connection=None, shard: int | None = None) -> None:
    """Add the deltas to their rollup rows, in a fixed order (no deadlock between writers)."""
    if not deltas:
        return
    connection = connection or db.session.connection()
    shard = transaction_shard(connection) if shard is None else shard
    rows: dict[str, list[dict]] = defaultdict(list)
    for key in sorted(deltas, key=str):
        name, *parts = key
        _model, keys, values = TABLES[name]
        row = dict(zip(keys, parts, strict=True))
        row.update(zip(values, deltas[key], strict=False))
        row["shard"] = shard
        rows[name].append(row)
    for name in sorted(rows):
        connection.execute(_UPSERT[(connection.dialect.name, name)], rows[name])
    forget(LIVE_PREFIX)  # this process's own changes show at once


def apply(pairs: Iterable[tuple[Facts | None, Facts | None]]) -> None:
    """Move the rollups for orders that changed from `before` to `after`."""
    write(_delta(pairs))


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def facts_for(order_ids: Iterable[int], connection=None) -> dict[int, Facts]:
    """The current facts of these orders, read from the database (two queries per chunk)."""
    connection = connection or db.session.connection()
    ids = sorted(set(order_ids))
    found: dict[int, Facts] = {}
    for chunk in _chunks(ids):
        suppliers: dict[int, set] = defaultdict(set)
        for order_id, supplier_id in connection.execute(
                select(LINES.c.order_id, LINES.c.supplier_id).distinct()
                .where(LINES.c.order_id.in_(chunk), LINES.c.supplier_id.is_not(None))):
            suppliers[order_id].add(supplier_id)
        for order_id, *values in connection.execute(
                select(*FACT_COLUMNS).where(ORDERS.c.id.in_(chunk))):
            found[order_id] = Facts(*values, suppliers=frozenset(suppliers.get(order_id, ())))
    return found


def changed(before: Facts, **values) -> Facts:
    """The facts after a plain UPDATE that set `values` (other columns are ignored)."""
    return replace(before, **{k: v for k, v in values.items() if k in ORDER_FIELDS})


def all_facts(connection=None, chunk: int = 5000) -> Iterable[Facts]:
    """Every order's facts, read in id order a chunk at a time (for recounts)."""
    connection = connection or db.session.connection()
    last = 0
    while True:
        ids = list(connection.scalars(select(ORDERS.c.id).where(ORDERS.c.id > last)
                                      .order_by(ORDERS.c.id).limit(chunk)))
        if not ids:
            return
        yield from facts_for(ids, connection).values()
        last = ids[-1]


def rebuild(connection=None) -> int:
    """Recompute every rollup from the orders (after bulk loads or a repair); orders folded."""
    connection = connection or db.session.connection()
    for model, _keys, _values in TABLES.values():
        connection.execute(model.__table__.delete())
    totals = fold(all_facts(connection))
    rows: dict[str, list[dict]] = defaultdict(list)
    for key, values in totals.items():
        name, *parts = key
        _model, keys, names = TABLES[name]
        row = dict(zip(keys, parts, strict=True))
        row.update(zip(names, values, strict=False))
        row["shard"] = 0
        rows[name].append(row)
    for name, batch in rows.items():
        for part in _chunks(batch, 5000):
            connection.execute(TABLES[name][0].__table__.insert(), part)
    return sum(v[0] for k, v in totals.items() if k[0] == "order_day_counts" and k[1] == ALL)


# --- The ORM path: orders and lines changed through the session ----------------------

TRACKED = frozenset(ORDER_FIELDS)


def _touched(session: Session) -> set[int]:
    """Ids of stored orders whose facts this flush may change."""
    ids = set()
    for obj in session.dirty:
        if isinstance(obj, Order) and obj.id is not None:
            state = inspect(obj)
            if any(state.attrs[a].history.has_changes() for a in TRACKED):
                ids.add(obj.id)
        elif isinstance(obj, OrderLine) and inspect(obj).attrs.supplier_id.history.has_changes():
            ids.update(i for i in (obj.order_id, _old_order_id(obj)) if i)
    for obj in session.deleted:
        if isinstance(obj, Order):
            ids.add(obj.id)
        elif isinstance(obj, OrderLine) and obj.supplier_id is not None:
            ids.add(obj.order_id)
    for obj in session.new:
        if isinstance(obj, OrderLine) and obj.supplier_id is not None:
            # A line added to a stored order (a new order's lines come with it).
            order = obj.order
            if order is not None and order.id is not None and order not in session.new:
                ids.add(order.id)
            elif order is None and obj.order_id:
                ids.add(obj.order_id)
    return ids


def _old_order_id(line: OrderLine) -> int | None:
    history = inspect(line).attrs.order_id.history
    return history.deleted[0] if history.deleted else None


@event.listens_for(Session, "before_flush")
def _remember(session: Session, _context, _instances) -> None:
    """Read the facts of the orders this flush changes, as they stand before it."""
    with session.no_autoflush:
        ids = _touched(session)
        session.info["rollup_before"] = facts_for(ids) if ids else {}


@event.listens_for(Session, "after_flush")
def _roll(session: Session, _context) -> None:
    """Move the rollups of the orders this flush added, changed or deleted."""
    before: dict[int, Facts] = session.info.pop("rollup_before", {})
    ids = set(before)
    ids.update(obj.id for obj in session.new if isinstance(obj, Order))
    if not ids:
        return
    after = facts_for(ids)
    apply((before.get(i), after.get(i)) for i in ids)


# --- Agents' time per call: one row per agent, day and bucket ------------------------

def _call_time_statement(dialect):
    """INSERT … ON CONFLICT that counts one call in its bucket."""
    table = AgentCallCount.__table__
    stmt = dialect.insert(table)
    return stmt.on_conflict_do_update(index_elements=["agent_id", "day", "seconds"],
                                      set_={"n": table.c.n + stmt.excluded.n})


_CALL_TIME = {"postgresql": _call_time_statement(postgresql),
              "sqlite": _call_time_statement(sqlite)}


def call_seconds(claimed_at: datetime | None, now: datetime) -> int | None:
    """Seconds from taking the card to recording its outcome (None: never held)."""
    return max(int((now - claimed_at).total_seconds()), 0) if claimed_at else None


def count_call_time(agent_id: int, seconds: int, at: datetime) -> None:
    """Add one call of `seconds` to the agent's day (in the caller's transaction)."""
    connection = db.session.connection()
    connection.execute(_CALL_TIME[connection.dialect.name], {
        "agent_id": agent_id, "day": local_day(at), "seconds": seconds_bucket(seconds), "n": 1})
