"""What a channel tells us about its orders: new ones, payments and cancellations.

Polling and webhooks both end here with a batch of IncomingOrder values, in the order
the channel reported them; every fact is applied through the doors (create_orders,
change_confirmation), so a repeated or late report changes nothing twice.
"""

from dataclasses import dataclass

from sqlalchemy import select

from models.actor import Actor
from models.base import db, utcnow
from models.catalog.sales import Channel
from models.orders.operations import audit, change_confirmation
from models.orders.tables import Order
from models.status import Confirmation, PushStatus

from .create import WAITING_FOR_PAYMENT, create_orders
from .forwarding import send_paid
from .incoming import IncomingOrder

OPEN = frozenset({Confirmation.NEW, Confirmation.NO_ANSWER, Confirmation.CALL_LATER})


@dataclass
class Applied:
    """Counts of what one batch of channel news did."""

    created: int = 0
    canceled: int = 0
    flagged: int = 0
    sent: int = 0


def apply_channel_orders(channel: Channel, orders: list[IncomingOrder]) -> Applied:
    """Create the orders not seen before, then apply payments and cancellations."""
    actor = Actor.channel(channel.code)
    result = Applied()
    # An order first seen already canceled never enters the queue.
    arriving = [o for o in orders if not o.canceled]
    arrivals = create_orders(channel, arriving, actor, source=channel.kind, strict=False)
    result.created = sum(a.created for a in arrivals)
    keys = {o.external_id.strip() for o in orders if o.canceled or o.paid}
    if not keys:
        return result
    found = {o.external_id: o for o in db.session.execute(select(Order).where(
        Order.channel_id == channel.id, Order.external_id.in_(sorted(keys)))).scalars()}
    for news in orders:
        order = found.get(news.external_id.strip())
        if order is None:
            continue
        if news.canceled:
            outcome = cancel_from_channel(order, actor)
            result.canceled += outcome == "canceled"
            result.flagged += outcome == "flagged"
        elif news.paid and _waiting_for_payment(order):
            order.paid = True
            db.session.flush()
            result.sent += send_paid(order, actor).push_status == PushStatus.SENT
    return result


def cancel_from_channel(order: Order, actor: Actor) -> str:
    """The channel canceled the order: out of the queue if nobody confirmed it yet, else
    flagged for an operator (the parcel may need stopping). Returns what was done."""
    status = Confirmation(order.confirmation_status)
    if status in OPEN:
        # shown translated: models/stored_text.py
        change_confirmation(order, Confirmation.CANCELED, actor, note="Canceled by the channel")
        return "canceled"
    if status == Confirmation.CONFIRMED and order.channel_canceled_at is None:
        order.channel_canceled_at = utcnow()
        # shown translated: models/stored_text.py
        audit(order, actor, "channel_cancel", None, "canceled",
              "The channel canceled this order after it was confirmed: stop or recall "
              "the parcel, or tell the customer.")
        db.session.flush()
        return "flagged"
    return "unchanged"


def _waiting_for_payment(order: Order) -> bool:
    """Held only because the channel had not said it was paid."""
    return (order.push_status == PushStatus.NOT_SENT and order.push_detail == WAITING_FOR_PAYMENT
            and order.confirmation_status == Confirmation.NEW)
