"""An agent's call outcome in a handful of plain statements: the call screen's hot path.

The order and its lines are read as plain rows in one query; the corrections typed on
the phone go through the door's edit_order; the move is checked by the door's
plan_confirmation and written by its one writer, write_confirmation (the same code that
change_confirmation ends in), with the max-attempts cancel. An agent's action therefore
costs a few round trips, not an ORM flush.
"""

from dataclasses import dataclass, field

from flask_babel import gettext as _

from models.actor import Actor
from models.base import db
from models.errors import Missing
from models.orders.agent_days import AgentDay
from models.orders.operations import (
    Outcome,
    check_version,
    edit_order,
    plan_confirmation,
    write_confirmation,
)
from models.orders.tables import Order
from models.settings import CallSettings

from .card import order_with_lines


@dataclass(frozen=True)
class Corrections:
    """What the agent typed over the order's details before giving the outcome."""

    address: str | None = None
    city: str | None = None
    phone: str | None = None
    quantities: dict[int, int] = field(default_factory=dict)
    remove: frozenset[int] = frozenset()

    def change(self, order, lines) -> bool:
        """True when applying these would change the order or its lines."""
        typed = ((self.address, order.address), (self.city, order.city),
                 (self.phone, order.phone))
        if any(new is not None and new.strip() != old for new, old in typed):
            return True
        current = {line.id: line.quantity for line in lines}
        return bool(self.remove & current.keys()) or any(
            current.get(line_id, quantity) != quantity
            for line_id, quantity in self.quantities.items())


@dataclass
class Recorded:
    """What recording the outcome did, and the agent's day with this call counted."""

    outcome: Outcome
    day: AgentDay


def record_outcome(
    order_id: int, outcome: str, agent: Actor, settings: CallSettings, *, note: str = "",
    expected_version: int | None = None, callback_at=None,
    corrections: Corrections | None = None,
) -> Recorded:
    """An agent's call outcome; the attempt that reaches the limit cancels the order."""
    order, lines = order_with_lines(order_id)
    if order is None:
        raise Missing(_("There is no order #%(id)s.", id=order_id))
    check_version(order, expected_version)
    if corrections is not None and corrections.change(order, lines):
        order, lines = _correct(order, agent, settings, corrections)
    move = plan_confirmation(order, outcome, agent, note=note, callback_at=callback_at)
    result, day = write_confirmation(order, lines, move, agent, callback_at=callback_at,
                                     max_attempts=settings.max_attempts)
    return Recorded(result, day)


def _correct(order, agent: Actor, settings: CallSettings, corrections: Corrections):
    """Apply the agent's corrections through the one door's edit, then read the order again."""
    loaded = db.session.get(Order, order.id)
    edit_order(loaded, agent, expected_version=order.version, region=settings.phone_region,
               address=corrections.address, city=corrections.city, phone=corrections.phone,
               quantities=corrections.quantities, remove=corrections.remove)
    return order_with_lines(order.id)

