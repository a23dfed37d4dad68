"""The one door: every confirmation and shipping change goes through these operations.

Each operation checks the transition table and the actor, applies the change,
writes the audit event, runs the stock effects in the same transaction and
returns the effects that workers still have to carry out. Operations flush;
the caller (a view or a job) commits.
"""

from dataclasses import dataclass, field
from datetime import datetime

from .actor import Actor
from .audit import AuditEvent
from .base import db, utcnow
from .errors import Conflict, InvalidInput, NotAllowed, TransitionRefused
from .order import Order
from .status import (
    CONFIRMATION_EFFECTS,
    CONFIRMATION_INFO,
    SHIPPING_EFFECTS,
    SHIPPING_INFO,
    Confirmation,
    DeliveryMode,
    Effect,
    Party,
    Shipping,
    confirmation_parties,
    shipping_parties,
)
from .stock import reserve_order_stock, restock_order

NEEDS_REASON = frozenset({Confirmation.CANCELED, Confirmation.FAKE})
PARTY_NAMES = {
    Party.AGENT: "an agent holding the order",
    Party.OPERATOR: "an operator",
    Party.MANAGER: "a manager",
    Party.CARRIER: "the carrier's tracking",
    Party.SYSTEM: "the system",
}


@dataclass
class Outcome:
    """What a transition did and which worker effects it made due."""

    order: Order
    kind: str
    from_value: str | None
    to_value: str | None
    due: list[Effect] = field(default_factory=list)


def audit(order: Order, actor: Actor, kind: str, src: str | None, dst: str | None,
          note: str = "") -> AuditEvent:
    """Record one user-visible change to an order."""
    event = AuditEvent(
        order_id=order.id, actor_user_id=actor.user_id, actor_name=actor.name, kind=kind,
        from_value=src, to_value=dst, note=note,
    )
    db.session.add(event)
    return event


def check_version(order: Order, expected_version: int | None) -> None:
    """Refuse to act on an order someone changed since the actor loaded it."""
    if expected_version is not None and int(expected_version) != order.version:
        raise Conflict(
            f"Order {order.reference} was changed by someone else since you opened it "
            "(reload to see what changed); nothing was saved."
        )


def _who(parties: frozenset[Party]) -> str:
    """Human list of the parties allowed to make a move."""
    return " or ".join(sorted(PARTY_NAMES[p] for p in parties))


def _check_actor(order: Order, actor: Actor, allowed: frozenset[Party], what: str) -> None:
    """Refuse when the actor's parties are not among the allowed ones, or lack the hold."""
    mine = allowed & actor.parties
    if not mine:
        raise NotAllowed(f"Only {_who(allowed)} can {what} on order {order.reference}.")
    if mine == {Party.AGENT} and order.claimed_by_id != actor.user_id:
        raise NotAllowed(
            f"Order {order.reference} is not in your hands; take it from the call queue first."
        )


def _parse(enum, value: str, what: str):
    """Turn a submitted status into the enum, or explain the bad value."""
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput(f"“{value}” is not a {what} status.") from None


def change_confirmation(
    order: Order, to: str, actor: Actor, *, note: str = "",
    expected_version: int | None = None, callback_at: datetime | None = None,
) -> Outcome:
    """Record a call outcome (or a system cancel) through the confirmation table."""
    check_version(order, expected_version)
    dst = _parse(Confirmation, to, "confirmation")
    src = Confirmation(order.confirmation_status)
    allowed = confirmation_parties(src, dst)
    src_label, dst_label = CONFIRMATION_INFO[src].label, CONFIRMATION_INFO[dst].label
    if not allowed:
        raise TransitionRefused(
            f"Order {order.reference} is {src_label}; it cannot become {dst_label}."
        )
    _check_actor(order, actor, allowed, f"mark it {dst_label}")
    note = (note or "").strip()
    if dst in NEEDS_REASON and not note:
        raise InvalidInput(f"Say why the order is {dst_label.lower()}.")
    if dst == Confirmation.CALL_LATER:
        if callback_at is None or callback_at <= utcnow():
            raise InvalidInput("Call later needs a time in the future.")
        order.callback_at = callback_at
    else:
        order.callback_at = None
    if actor.acts_as(Party.AGENT):
        order.agent_id = actor.user_id
        order.attempts += 1
        order.claimed_by_id = None
        order.claimed_at = None
    order.confirmation_status = dst.value
    audit(order, actor, "confirmation", src.value, dst.value, note)
    outcome = Outcome(order, "confirmation", src.value, dst.value)
    if dst == Confirmation.CONFIRMED:
        _confirm(order, actor, outcome)
    db.session.flush()
    return outcome


def _confirm(order: Order, actor: Actor, outcome: Outcome) -> None:
    """Open the shipping side: Created, stock taken, parcel registration due."""
    if not order.lines:
        raise InvalidInput(f"Order {order.reference} has no lines to confirm.")
    order.confirmed_at = utcnow()
    order.shipping_status = Shipping.CREATED.value
    audit(order, actor, "shipping", None, Shipping.CREATED.value)
    db.session.flush()
    for effect in CONFIRMATION_EFFECTS[Confirmation.CONFIRMED]:
        if effect == Effect.TAKE_STOCK:
            reserve_order_stock(order, actor)
        elif effect == Effect.REGISTER_PARCEL and order.delivery_mode == DeliveryMode.CARRIER:
            outcome.due.append(effect)


def change_shipping(
    order: Order, to: str, actor: Actor, *, note: str = "",
    expected_version: int | None = None, tracking_number: str | None = None,
) -> Outcome:
    """Move a parcel through the shipping table; a repeated carrier scan changes nothing."""
    check_version(order, expected_version)
    dst = _parse(Shipping, to, "shipping")
    if order.shipping_status is None:
        raise TransitionRefused(
            f"Order {order.reference} is not confirmed; its shipping status is locked until then."
        )
    src = Shipping(order.shipping_status)
    if src == dst and not actor.parties & {Party.AGENT, Party.OPERATOR, Party.MANAGER}:
        return Outcome(order, "shipping", src.value, dst.value)
    allowed = shipping_parties(src, dst, order.delivery_mode)
    src_label, dst_label = SHIPPING_INFO[src].label, SHIPPING_INFO[dst].label
    if not allowed:
        raise TransitionRefused(
            f"Order {order.reference} is {src_label}; it cannot move to {dst_label}."
        )
    _check_actor(order, actor, allowed, f"set it {dst_label}")
    if tracking_number:
        order.tracking_number = tracking_number.strip()
    order.shipping_status = dst.value
    audit(order, actor, "shipping", src.value, dst.value, (note or "").strip())
    db.session.flush()
    outcome = Outcome(order, "shipping", src.value, dst.value)
    for effect in SHIPPING_EFFECTS.get(dst, ()):
        if effect == Effect.RESTOCK:
            restock_order(order, actor)
        else:
            outcome.due.append(effect)
    db.session.flush()
    return outcome


def reopen_order(
    order: Order, actor: Actor, *, reason: str, expected_version: int | None = None
) -> Outcome:
    """Put a canceled or fake order back in the queue as New, with a written reason."""
    check_version(order, expected_version)
    src = Confirmation(order.confirmation_status)
    allowed = confirmation_parties(src, Confirmation.NEW)
    if not allowed:
        raise TransitionRefused(
            f"Order {order.reference} is {CONFIRMATION_INFO[src].label}; "
            "only canceled or fake orders can be reopened."
        )
    _check_actor(order, actor, allowed, "reopen it")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Write why the order is being reopened.")
    order.confirmation_status = Confirmation.NEW.value
    order.attempts = 0
    order.callback_at = None
    order.claimed_by_id = None
    order.claimed_at = None
    audit(order, actor, "reopen", src.value, Confirmation.NEW.value, reason)
    db.session.flush()
    return Outcome(order, "reopen", src.value, Confirmation.NEW.value)
