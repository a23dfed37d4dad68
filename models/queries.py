"""Read-only queries behind the home screens."""

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from .base import db
from .order import Order
from .status import Shipping


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
