"""Shipping views."""

from models.orders.queries import awaiting_fulfilment, shipping_counts
from models.status import Role

from ..web import render, role_required
from . import bp


@bp.get("/")
@role_required(Role.OPERATOR, Role.MANAGER)
def index():
    """The operator's home: parcels by status and the oldest ones to fulfil."""
    return render(
        "shipping/index.html", counts=shipping_counts(), waiting=awaiting_fulfilment(limit=20)
    )
