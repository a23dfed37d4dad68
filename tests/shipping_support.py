"""Shipping test support: orders confirmed through the door with a registered parcel."""

from datetime import datetime

import pytest

from extensions import db
from models import Actor, Order
from models.orders.operations import change_confirmation, change_shipping
from models.shipping.operations import open_parcel, record_registration

# The path from Created to each status, as the operator and the carrier would walk it.
PATHS = {
    "created": [],
    "fulfilled": [("operator", "fulfilled")],
    "shipped": [("operator", "fulfilled"), ("carrier", "shipped")],
    "delivered": [("operator", "fulfilled"), ("carrier", "shipped"), ("carrier", "delivered")],
    "in_return": [("operator", "fulfilled"), ("carrier", "shipped"), ("carrier", "in_return")],
    "returned": [("operator", "fulfilled"), ("carrier", "shipped"), ("carrier", "in_return"),
                 ("operator", "returned")],
}


@pytest.fixture
def confirmed(make_order, make_product, make_channel, make_carrier):
    """confirmed(when, **overrides): an order confirmed at that time (status columns set
    directly, no stock taken, no parcel), for the desk's ordering and stuck rules."""
    product = make_product(stock=0)
    channel, carrier = make_channel(), make_carrier()

    def make(when: datetime, **overrides) -> Order:
        overrides.setdefault("channel", channel)
        overrides.setdefault("carrier", carrier)
        overrides.setdefault("confirmation_status", "confirmed")
        overrides.setdefault("shipping_status", "created")
        return make_order(lines=[(product, 1)], confirmed_at=when, **overrides)

    return make


@pytest.fixture
def parcel_order(make_order, make_user, make_carrier):
    """parcel_order(status="fulfilled", tracking="SBX0000000001", carrier=None, lines=None):
    an order confirmed by an agent (stock taken), its parcel registered, walked to status."""
    counter = iter(range(1, 10**6))

    def make(status: str = "fulfilled", tracking: str | None = None, carrier=None,
             lines=None, **overrides):
        carrier = carrier or make_carrier()
        order = make_order(lines=lines, carrier=carrier, **overrides)
        agent = make_user("agent")
        order.claimed_by_id = agent.id
        change_confirmation(order, "confirmed", Actor.of(agent))
        parcel = open_parcel(order)
        tracking = tracking or f"SBX{order.id:06d}{next(counter):04d}"
        record_registration(parcel, tracking, None, Actor.carrier(carrier.code))
        operator = Actor.of(make_user("operator"))
        for who, to in PATHS[status]:
            actor = operator if who == "operator" else Actor.carrier(carrier.code)
            change_shipping(order, to, actor)
        db.session.commit()
        return order, parcel

    return make
