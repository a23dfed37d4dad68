"""An agent's call outcome in a handful of plain statements: the call screen's hot path.

It makes the same checks as the one door's change_confirmation (plan_confirmation:
transition table, actor, hold, inputs; check_version) and writes the same columns
(confirmation_values) and audit rows (audit_row), then writes the order with
one UPDATE guarded by the version it read, the audit events in one INSERT, the
counters, the agent's day and, for Confirmed, the stock, all in the caller's
transaction. An agent's action therefore costs a few round trips, not an ORM flush.
"""

from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm.util import identity_key

from models.actor import Actor
from models.audit import AuditEvent, audit_row
from models.base import db, utcnow
from models.errors import Conflict, Missing
from models.orders.agent_days import AgentDay, count_call
from models.orders.counters import count_move
from models.orders.operations import (
    Outcome,
    check_version,
    confirmation_values,
    edit_order,
    parcel_effects,
    plan_confirmation,
)
from models.orders.tables import Order
from models.settings import CallSettings
from models.status import Confirmation, Shipping
from models.stock.ledger import take_stock

from .card import ORDERS, order_with_lines

_WRITE = (
    update(ORDERS)
    .where(ORDERS.c.id == bindparam("order_id"), ORDERS.c.version == bindparam("seen"))
    .values(version=ORDERS.c.version + 1)
)


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
        raise Missing(f"There is no order #{order_id}.")
    check_version(order, expected_version)
    if corrections is not None and corrections.change(order, lines):
        order, lines = _correct(order, agent, settings, corrections)
    move = plan_confirmation(order, outcome, agent, note=note, callback_at=callback_at)
    now = utcnow()
    events = [audit_row(order_id, agent, "confirmation", move.src.value, move.dst.value,
                        move.note, now)]
    values = confirmation_values(order, lines, move, agent, callback_at, now)
    values["updated_at"] = now
    result = Outcome(order, "confirmation", move.src.value, move.dst.value)
    if move.dst == Confirmation.NO_ANSWER and order.attempts + 1 >= settings.max_attempts:
        # The system's own move, checked against the table like any other.
        cancel = plan_confirmation(order._replace(confirmation_status=move.dst),
                                   Confirmation.CANCELED, Actor.system(),
                                   note=f"unreachable after {order.attempts + 1} attempts")
        values["confirmation_status"] = cancel.dst.value
        events.append(audit_row(order_id, Actor.system(), "confirmation", cancel.src.value,
                                cancel.dst.value, cancel.note, now))
    elif move.dst == Confirmation.CONFIRMED:
        events.append(audit_row(order_id, agent, "shipping", None, Shipping.CREATED.value,
                                "", now))
    if db.session.execute(_WRITE.values(**values),
                          {"order_id": order_id, "seen": order.version}).rowcount != 1:
        raise Conflict(f"Order #{order_id} was changed by someone else meanwhile; "
                       "nothing was saved.")
    if move.dst == Confirmation.CONFIRMED:
        events += take_stock(order_id, lines, agent)
        result.due += parcel_effects(order.delivery_mode)
    db.session.execute(insert(AuditEvent.__table__), events)
    count_move(order.channel_id, (order.confirmation_status, order.shipping_status),
               (values["confirmation_status"], values.get("shipping_status")))
    day = count_call(agent.user_id, move.dst, now)
    _expire(order_id)
    return Recorded(result, day)


def _correct(order, agent: Actor, settings: CallSettings, corrections: Corrections):
    """Apply the agent's corrections through the one door's edit, then read the order again."""
    loaded = db.session.get(Order, order.id)
    edit_order(loaded, agent, expected_version=order.version, region=settings.phone_region,
               address=corrections.address, city=corrections.city, phone=corrections.phone,
               quantities=corrections.quantities, remove=corrections.remove)
    return order_with_lines(order.id)


def _expire(order_id: int) -> None:
    """An ORM copy of the order loaded earlier in this session is stale now."""
    loaded = db.session.identity_map.get(identity_key(Order, order_id))
    if loaded is not None:
        db.session.expire(loaded)
