"""Read-only queries behind the home screens."""

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from models.base import db
from models.status import Shipping
from models.stock.ledger import unrestocked_reserves

from .tables import Order, OrderLine


def shipping_counts() -> dict[str, int]:
    """Number of confirmed orders in each shipping status."""
    rows = db.session.execute(
        select(Order.shipping_status, func.count())
        .where(Order.shipping_status.is_not(None))
        .group_by(Order.shipping_status)
    ).all()
    found = dict(rows)
    return {s.value: found.get(s.value, 0) for s in Shipping}


def awaiting_fulfilment(limit: int = 20) -> list[Order]:
    """Oldest confirmed orders still waiting to be packed."""
    return list(db.session.execute(
        select(Order).options(joinedload(Order.carrier))
        .where(Order.shipping_status == Shipping.CREATED)
        .order_by(Order.confirmed_at, Order.id).limit(limit)
    ).scalars())


def status_matrix() -> dict[tuple[str, str | None], int]:
    """Orders counted by (confirmation status, shipping status)."""
    rows = db.session.execute(
        select(Order.confirmation_status, Order.shipping_status, func.count())
        .group_by(Order.confirmation_status, Order.shipping_status)
    ).all()
    return {(c, s): n for c, s, n in rows}


def returned_orders_due_restock(limit: int = 500) -> list[int]:
    """Ids of returned orders whose stock has not come back yet (for reconcile)."""
    returned_lines = (
        select(OrderLine.id).join(Order, Order.id == OrderLine.order_id)
        .where(Order.shipping_status == Shipping.RETURNED)
    )
    reserves = unrestocked_reserves(returned_lines).subquery()
    return list(db.session.execute(
        select(OrderLine.order_id).join(reserves, reserves.c.order_line_id == OrderLine.id)
        .distinct().order_by(OrderLine.order_id).limit(limit)
    ).scalars())
