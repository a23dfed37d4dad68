"""Read-only queries behind the home screens."""

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from .base import db, utcnow
from .order import Order
from .status import Confirmation, Shipping


def call_queue_summary() -> dict:
    """How many orders wait for a call, by kind, and the age of the oldest new lead."""
    now = utcnow()
    counts = dict(db.session.execute(
        select(Order.confirmation_status, func.count())
        .where(Order.confirmation_status.in_([
            Confirmation.NEW, Confirmation.NO_ANSWER, Confirmation.CALL_LATER,
        ]))
        .group_by(Order.confirmation_status)
    ).all())
    callbacks_due = db.session.scalar(
        select(func.count()).select_from(Order)
        .where(Order.confirmation_status == Confirmation.CALL_LATER, Order.callback_at <= now)
    )
    oldest = db.session.scalar(
        select(func.min(Order.created_at)).where(Order.confirmation_status == Confirmation.NEW)
    )
    return {
        "new": counts.get(Confirmation.NEW.value, 0),
        "no_answer": counts.get(Confirmation.NO_ANSWER.value, 0),
        "call_later": counts.get(Confirmation.CALL_LATER.value, 0),
        "callbacks_due": callbacks_due or 0,
        "oldest_new_minutes": int((now - oldest).total_seconds() // 60) if oldest else None,
    }


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
