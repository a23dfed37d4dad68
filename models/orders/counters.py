"""Live order counts per channel and status, so lists and boards never count a million
rows: every flush that adds an order or changes its statuses adjusts the counters in
the same transaction, and a plain UPDATE of a status calls count_move."""

from collections import Counter

from sqlalchemy import ForeignKey, String, event, func, insert, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import db
from models.shards import transaction_shard
from models.small_tables import cached, forget

from .tables import Order

# Concurrent transactions that change the same status pick different rows (shards), so
# they don't queue behind one hot counter row; readers sum the shards.
NONE = ""  # shipping status before confirmation (primary keys cannot be NULL)


class OrderStatusCount(db.Model):
    """Number of orders of one channel in one (confirmation, shipping) status, one shard."""

    __tablename__ = "order_status_counts"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    confirmation_status: Mapped[str] = mapped_column(String(16), primary_key=True)
    shipping_status: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


def _key(channel_id, confirmation, shipping) -> tuple:
    return (channel_id, confirmation, shipping or NONE)


def _old(order: Order, attr: str):
    """The value an attribute had before this flush."""
    history = inspect(order).attrs[attr].history
    if history.deleted:
        return history.deleted[0]
    return getattr(order, attr)


def _deltas(session: Session) -> Counter:
    """Counter changes implied by the orders this flush inserts, changes or deletes."""
    deltas: Counter = Counter()
    for obj in session.new:
        if isinstance(obj, Order):
            deltas[_key(obj.channel_id, obj.confirmation_status, obj.shipping_status)] += 1
    for obj in session.dirty:
        if not isinstance(obj, Order):
            continue
        state = inspect(obj)
        if not any(state.attrs[a].history.has_changes()
                   for a in ("channel_id", "confirmation_status", "shipping_status")):
            continue
        deltas[_key(_old(obj, "channel_id"), _old(obj, "confirmation_status"),
                    _old(obj, "shipping_status"))] -= 1
        deltas[_key(obj.channel_id, obj.confirmation_status, obj.shipping_status)] += 1
    for obj in session.deleted:
        if isinstance(obj, Order):
            deltas[_key(_old(obj, "channel_id"), _old(obj, "confirmation_status"),
                        _old(obj, "shipping_status"))] -= 1
    return Counter({k: v for k, v in deltas.items() if v})


def _upsert_statement(dialect):
    """INSERT … ON CONFLICT that adds n to a counter row (built once per dialect)."""
    stmt = dialect.insert(OrderStatusCount.__table__)
    return stmt.on_conflict_do_update(
        index_elements=["channel_id", "confirmation_status", "shipping_status", "shard"],
        set_={"n": OrderStatusCount.__table__.c.n + stmt.excluded.n},
    )


_UPSERT = {"postgresql": _upsert_statement(postgresql), "sqlite": _upsert_statement(sqlite)}


def _upsert(connection, rows: list[dict]) -> None:
    """Add each row's n to its counter, creating the row when missing."""
    connection.execute(_UPSERT[connection.dialect.name], rows)


@event.listens_for(Session, "after_flush")
def _count(session: Session, _context) -> None:
    """Apply this flush's order changes to the counters, inside the same transaction."""
    deltas = _deltas(session)
    if not deltas:
        return
    connection = session.connection()
    shard = transaction_shard(connection)
    rows = [
        {"channel_id": c, "confirmation_status": conf, "shipping_status": ship,
         "shard": shard, "n": n}
        for (c, conf, ship), n in sorted(deltas.items(), key=lambda kv: str(kv[0]))
    ]
    _upsert(connection, rows)
    forget("status_counts:")  # this process's own changes show at once


def count_move(channel_id: int, before: tuple, after: tuple) -> None:
    """Move one order between (confirmation, shipping) counters after a plain UPDATE,
    which the flush hook above cannot see."""
    count_moves([(channel_id, before, after)])


def count_moves(moves) -> None:
    """Apply many plain-UPDATE moves, each (channel_id, before, after), in one statement."""
    deltas: Counter = Counter()
    for channel_id, before, after in moves:
        old, new = _key(channel_id, *before), _key(channel_id, *after)
        if old != new:
            deltas[old] -= 1
            deltas[new] += 1
    connection = db.session.connection()
    rows = [{"channel_id": c, "confirmation_status": conf, "shipping_status": ship, "n": n}
            for (c, conf, ship), n in sorted(deltas.items(), key=lambda kv: str(kv[0])) if n]
    if rows:
        shard = transaction_shard(connection)
        _upsert(connection, [{**row, "shard": shard} for row in rows])
        forget("status_counts:")


def count_arrivals(channel_id: int, n: int) -> None:
    """Add n orders that arrived New through a plain INSERT (the intake door)."""
    if n:
        connection = db.session.connection()
        _upsert(connection, [{
            "channel_id": channel_id, "confirmation_status": "new", "shipping_status": NONE,
            "shard": transaction_shard(connection), "n": n}])
        forget("status_counts:")


def rebuild_counts() -> int:
    """Recompute every counter from the orders table (after bulk loads or repairs)."""
    table = OrderStatusCount.__table__
    db.session.execute(table.delete())
    source = select(
        Order.channel_id, Order.confirmation_status,
        func.coalesce(Order.shipping_status, NONE), 0, func.count(),
    ).group_by(Order.channel_id, Order.confirmation_status, Order.shipping_status)
    db.session.execute(insert(table).from_select(
        ["channel_id", "confirmation_status", "shipping_status", "shard", "n"], source))
    return db.session.scalar(select(func.coalesce(func.sum(table.c.n), 0)))


def status_counts(channel_id: int | None = None) -> dict:
    """Orders per confirmation status and per shipping status (all channels, or one)."""
    return cached(f"status_counts:{channel_id}", lambda: _read_counts(channel_id),
                  ttl=COUNTS_TTL_SECONDS)


# Counts beside a list may lag by a couple of seconds; the list itself never does.
COUNTS_TTL_SECONDS = 2.0


def _read_counts(channel_id: int | None) -> dict:
    """Sum the counter shards, from the database."""
    query = select(
        OrderStatusCount.confirmation_status, OrderStatusCount.shipping_status,
        func.sum(OrderStatusCount.n),
    ).group_by(OrderStatusCount.confirmation_status, OrderStatusCount.shipping_status)
    if channel_id is not None:
        query = query.where(OrderStatusCount.channel_id == channel_id)
    confirmation: Counter = Counter()
    shipping: Counter = Counter()
    for conf, ship, n in db.session.execute(query):
        confirmation[conf] += n
        if ship != NONE:
            shipping[ship] += n
    return {"confirmation": +confirmation, "shipping": +shipping,  # + drops zero counts
            "total": sum(confirmation.values())}
