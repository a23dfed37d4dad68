"""Sending held orders on by hand: the operator's answer to a Not sent or Error push status.

An order its channel's forwarding settings held back waits outside the call queue
(push status not_sent or error). Sending it re-checks what can be checked here (every
line is a catalogue product), marks it sent and, for a channel whose orders are confirmed
by the system (prepaid), confirms it through the door. Each order is handled on its own:
one refused or changed underneath is reported and the others still go.
"""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import joinedload, selectinload

from models.actor import Actor
from models.audit import AuditEvent, audit_row
from models.base import db, utcnow
from models.errors import Conflict, DomainError, NotAllowed
from models.orders.operations import change_confirmation, expire_order
from models.orders.tables import Order
from models.status import CONFIRMATION_INFO, Confirmation, Party, PushStatus

from .incoming import Catalogue
from .routing import reroute_order

ORDERS = Order.__table__
HELD = frozenset({PushStatus.NOT_SENT, PushStatus.ERROR})
SENDERS = frozenset({Party.OPERATOR, Party.MANAGER})
DETAIL_LIMIT = 255

# The push columns, written only when the order still has the version they were decided on.
_WRITE_PUSH = (
    update(ORDERS)
    .where(ORDERS.c.id == bindparam("order_id"), ORDERS.c.version == bindparam("seen"))
    .values(version=ORDERS.c.version + 1)
)


class Result:
    """What became of one order, as the report names it."""

    SENT = "sent"  # in the call queue now
    CONFIRMED = "confirmed"  # sent and confirmed by the system (prepaid channel)
    HELD = "held"  # still not sent, with the reason
    ALREADY_SENT = "already_sent"
    REFUSED = "refused"  # not an order that can be sent (no longer New)
    CONFLICT = "conflict"
    MISSING = "missing"


@dataclass(frozen=True)
class SendResult:
    """One order's outcome: what happened, a sentence for people, and its push status now."""

    order_id: int
    result: str
    message: str
    push_status: str | None = None
    push_detail: str = ""


def send_orders(order_ids: list[int], actor: Actor) -> list[SendResult]:
    """Send held orders on to confirmation, one by one; the caller commits.

    Results come in the order given (each id once).
    """
    if not actor.parties & SENDERS:
        raise NotAllowed(_("Only an operator or a manager can send orders on."))
    wanted = list(dict.fromkeys(order_ids))
    orders = _load(wanted)
    results = []
    for order_id in wanted:
        order = orders.get(order_id)
        if order is None:
            results.append(SendResult(order_id, Result.MISSING,
                                      _("#%(id)s does not exist.", id=order_id)))
            continue
        try:
            results.append(_send(order, actor))
        except Conflict:
            results.append(SendResult(
                order_id, Result.CONFLICT,
                _("#%(id)s was changed by someone else meanwhile; nothing was done to it. "
                  "Reload the list and try again.", id=order_id)))
    return results


def send_paid(order: Order, actor: Actor) -> SendResult:
    """The channel says an order held for payment is paid: it goes on as an operator's
    Send would take it (the caller checked it was held for that reason)."""
    if not actor.acts_as(Party.CHANNEL):
        raise NotAllowed(_("Only the channel says an order is paid."))
    return _send(order, actor)


def _load(order_ids: list[int]) -> dict[int, Order]:
    """The orders with their lines and channel, by id."""
    if not order_ids:
        return {}
    rows = db.session.execute(
        select(Order).where(Order.id.in_(order_ids))
        .options(selectinload(Order.lines), joinedload(Order.channel))
    ).unique().scalars()
    return {order.id: order for order in rows}


def _send(order: Order, actor: Actor) -> SendResult:
    """Send one order on, or say why it stays where it is."""
    ref = order.reference
    if order.push_status not in HELD:
        return _result(order, Result.ALREADY_SENT, _("%(ref)s was already sent.", ref=ref))
    if order.confirmation_status != Confirmation.NEW:
        label = CONFIRMATION_INFO[order.confirmation_status].label
        return _result(order, Result.REFUSED,
                       _("%(ref)s is %(status)s: only new orders are sent on.", ref=ref,
                         status=label))
    _adopt_products(order, actor)
    unknown = [line.sku for line in order.lines if line.product_id is None]
    if unknown or not order.lines:
        return hold_order(order, actor, _not_in_catalogue(unknown))
    order_id, channel = order.id, order.channel
    _write_push(order_id, order.version, PushStatus.SENT, "", order.push_status, actor)
    if channel.confirm_by != "system":
        return SendResult(order_id, Result.SENT, _("%(ref)s sent to the call queue.", ref=ref),
                          PushStatus.SENT)
    try:
        # Only the confirmation is taken back when the stock cannot serve it.
        with db.session.begin_nested():
            # shown translated: models/stored_text.py
            change_confirmation(order, Confirmation.CONFIRMED,
                                Actor.system(f"channel:{channel.code}"),
                                note="prepaid: confirmed without a call")
    except DomainError as refused:
        expire_order(order_id)  # the savepoint's rollback left the loaded copy behind
        return hold_order(order, actor, refused.message)
    return SendResult(order_id, Result.CONFIRMED,
                      _("%(ref)s confirmed by the system.", ref=ref),
                      PushStatus.SENT)


def _adopt_products(order: Order, actor: Actor) -> None:
    """Lines whose SKU was added to the catalogue since the order arrived take that
    product, and the order is routed again (each moved line is an audit event)."""
    missing = [line for line in order.lines if line.product_id is None]
    if not missing:
        return
    catalogue = Catalogue.load(line.sku for line in missing)
    adopted = False
    for line in missing:
        item = catalogue.items.get(line.sku)
        if item is not None:
            line.product_id, adopted = item.product_id, True
    if adopted:
        for row in reroute_order(order, actor):
            db.session.add(AuditEvent(**row))
        db.session.flush()


def _not_in_catalogue(skus: list[str]) -> str:
    """Why lines without a product keep an order back."""
    if not skus:
        return "The order has no lines."
    if len(skus) == 1:
        return f"SKU {skus[0]} is not in the catalogue."
    return f"SKUs {', '.join(skus)} are not in the catalogue."


def hold_order(order: Order, actor: Actor, detail: str) -> SendResult:
    """Keep the order back as Error with this reason (written only when that changes it)."""
    detail = _clip(detail)
    if order.push_status != PushStatus.ERROR or order.push_detail != detail:
        _write_push(order.id, order.version, PushStatus.ERROR, detail, order.push_status,
                    actor)
    message = _("%(ref)s still not sent: %(detail)s", ref=order.reference, detail=detail)
    return SendResult(order.id, Result.HELD, message, PushStatus.ERROR, detail)


def _write_push(order_id: int, seen: int, to: str, detail: str, src: str,
                actor: Actor) -> None:
    """One version-guarded UPDATE of the push columns and its audit event; Conflict if the
    order changed since it was read."""
    now = utcnow()
    changed = db.session.execute(
        _WRITE_PUSH.values(push_status=str(to), push_detail=detail, updated_at=now),
        {"order_id": order_id, "seen": seen}).rowcount
    if changed != 1:
        raise Conflict(f"Order #{order_id} was changed by someone else meanwhile.")
    db.session.execute(insert(AuditEvent.__table__),
                       [audit_row(order_id, actor, "push", str(src), str(to), detail, now)])
    expire_order(order_id)


def _result(order: Order, result: str, message: str) -> SendResult:
    """A result for an order left as it was read."""
    return SendResult(order.id, result, message, order.push_status, order.push_detail)


def _clip(text: str) -> str:
    """Shorten a reason to fit its column."""
    return text if len(text) <= DETAIL_LIMIT else text[:DETAIL_LIMIT - 1] + "…"

