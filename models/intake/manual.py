"""Orders typed in by hand (phone, WhatsApp, the shop counter), through the intake door."""

import secrets

from models.actor import Actor
from models.base import utcnow
from models.catalog.sales import Channel

from .create import Arrival, create_orders, existing_orders
from .incoming import IncomingOrder

# No 0/O or 1/I: the id is read out on the phone and typed back.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CANDIDATES = 5
ATTEMPTS = 3


def generated_id(channel_id: int) -> str:
    """A fresh "M-YYMMDD-XXXX" id no order of the channel has yet."""
    day = f"{utcnow():%y%m%d}"
    candidates = [f"M-{day}-{''.join(secrets.choice(ALPHABET) for _ in range(4))}"
                  for _ in range(CANDIDATES)]
    taken = existing_orders(channel_id, candidates)
    # 32^4 ids a day: five all taken means the day is nearly full; the door refuses it.
    return next((c for c in candidates if c not in taken), candidates[0])


def enter_order(channel: Channel, order: IncomingOrder, actor: Actor, region: str) -> Arrival:
    """Create one order typed in by hand (strict: refused with its problems when wrong).

    A blank order id gets a generated one; should another order take that id at the
    same moment, the order is entered again under a new one rather than reported as a
    duplicate of a stranger's order.
    """
    generated = not (order.external_id or "").strip()
    for _attempt in range(ATTEMPTS):
        if generated:
            order.external_id = generated_id(channel.id)
        [arrival] = create_orders(channel, [order], actor, source="manual", strict=True,
                                  region=region)
        if arrival.created or arrival.problems or not generated:
            return arrival
    return arrival
