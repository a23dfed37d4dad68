"""The one door: every confirmation and shipping change goes through these operations.

Each operation checks the transition table and the actor, applies the change,
writes the audit event, runs the stock effects in the same transaction and
returns the effects that workers still have to carry out. Operations flush;
the caller (a view or a job) commits.
"""

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm.util import identity_key

from models.actor import Actor
from models.audit import AuditEvent, audit_row
from models.base import db, utcnow
from models.boards.rollups import apply as roll
from models.boards.rollups import call_seconds, changed, count_call_time, facts_for
from models.bulk import insert_rows, update_rows
from models.dropship.operations import cancel_for_order, split_order
from models.errors import Conflict, InvalidInput, NotAllowed, TransitionRefused
from models.intake.news import schedule_news
from models.intake.routing import reroute_order
from models.phones import latin_digits, normalize_phone
from models.status import (
    CONFIRMATION_EFFECTS,
    CONFIRMATION_INFO,
    LOCKED_CONFIRMATIONS,
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
from models.stock.ledger import restock_lines, take_stock

from .agent_days import count_call
from .counters import count_move, count_moves
from .tables import Order

NEEDS_REASON = frozenset({Confirmation.CANCELED, Confirmation.FAKE})
PARTY_NAMES = {
    Party.AGENT: _l("an agent holding the order"),
    Party.OPERATOR: _l("an operator"),
    Party.MANAGER: _l("a manager"),
    Party.CARRIER: _l("the carrier's tracking"),
    Party.CHANNEL: _l("the sales channel"),
    Party.SUPPLIER: _l("the supplier"),
    Party.SYSTEM: _l("the system"),
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
    event = AuditEvent(**audit_row(order.id, actor, kind, src, dst, note))
    db.session.add(event)
    return event


def check_version(order, expected_version: int | None) -> None:
    """Refuse to act on an order someone changed since the actor loaded it."""
    if expected_version is not None and int(expected_version) != order.version:
        raise Conflict(_(
            "Order #%(id)s was changed by someone else since you opened it "
            "(reload to see what changed); nothing was saved.", id=order.id))


def _who(parties: frozenset[Party]) -> str:
    """Human list of the parties allowed to make a move ("an operator or a manager")."""
    names = sorted(str(PARTY_NAMES[p]) for p in parties)
    who = names[-1]
    for name in reversed(names[:-1]):
        who = _("%(one)s or %(other)s", one=name, other=who)
    return who


# Who may not do what: whole sentences, so each language orders its own words.
REFUSALS = {
    "mark": _l("Only %(who)s can mark order #%(id)s %(status)s."),
    "set": _l("Only %(who)s can set order #%(id)s %(status)s."),
    "reopen": _l("Only %(who)s can reopen order #%(id)s."),
    "edit": _l("Only %(who)s can edit order #%(id)s."),
}


def _check_actor(order, actor: Actor, allowed: frozenset[Party], action: str,
                 status: str = "") -> None:
    """Refuse when the actor's parties are not among the allowed ones, or lack the hold."""
    mine = allowed & actor.parties
    if not mine:
        raise NotAllowed(str(REFUSALS[action]) % {"who": _who(allowed), "id": order.id,
                                                  "status": status})
    if mine == {Party.AGENT} and order.claimed_by_id != actor.user_id:
        raise NotAllowed(_(
            "Order #%(id)s is not in your hands; take it from the call queue first.",
            id=order.id))


NOT_A_STATUS = {
    "confirmation": _l("“%(value)s” is not a confirmation status."),
    "shipping": _l("“%(value)s” is not a shipping status."),
}


def _parse(enum, value: str, what: str):
    """Turn a submitted status into the enum, or explain the bad value."""
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput(str(NOT_A_STATUS[what]) % {"value": value}) from None


@dataclass(frozen=True)
class Move:
    """A confirmation change the table and the actor allow, with its cleaned note."""

    src: Confirmation
    dst: Confirmation
    note: str


def plan_confirmation(order, to: str, actor: Actor, *, note: str = "",
                      callback_at: datetime | None = None) -> Move:
    """Check a confirmation change against the table, the actor and the inputs.

    `order` is anything with id, confirmation_status and claimed_by_id: the ORM
    object here, a plain row on the call screen's path (models/calls/outcome.py).
    """
    dst = _parse(Confirmation, to, "confirmation")
    src = Confirmation(order.confirmation_status)
    allowed = confirmation_parties(src, dst)
    src_label, dst_label = CONFIRMATION_INFO[src].label, CONFIRMATION_INFO[dst].label
    if not allowed:
        raise TransitionRefused(_("Order #%(id)s is %(src)s; it cannot become %(dst)s.",
                                  id=order.id, src=src_label, dst=dst_label))
    _check_actor(order, actor, allowed, "mark", dst_label)
    note = (note or "").strip()
    if dst in NEEDS_REASON and not note:
        raise InvalidInput(_("Say why the order is canceled.") if dst == Confirmation.CANCELED
                           else _("Say why the order is fake."))
    if dst == Confirmation.CALL_LATER and (callback_at is None or callback_at <= utcnow()):
        raise InvalidInput(_("Call later needs a time in the future."))
    return Move(src, dst, note)


def confirmation_values(order, lines, move: Move, actor: Actor,
                        callback_at: datetime | None, now: datetime) -> dict:
    """The columns a confirmation move writes, for the ORM path and the call screen's alike.

    An agent's outcome counts an attempt, makes the order theirs and ends their hold;
    Confirmed opens the shipping side.
    """
    values = {"confirmation_status": move.dst.value,
              "callback_at": callback_at if move.dst == Confirmation.CALL_LATER else None}
    if actor.acts_as(Party.AGENT):
        values.update(agent_id=actor.user_id, attempts=order.attempts + 1,
                      last_attempt_at=now, claimed_by_id=None, claimed_at=None)
    elif move.dst in LOCKED_CONFIRMATIONS:
        # The channel or the system closed it: whoever holds it on the call screen lets go.
        values.update(claimed_by_id=None, claimed_at=None)
    if move.dst == Confirmation.CONFIRMED:
        if not lines:
            raise InvalidInput(_("Order #%(id)s has no lines to confirm.", id=order.id))
        values.update(confirmed_at=now, shipping_status=Shipping.CREATED.value,
                      shipping_changed_at=now)
    return values


def parcel_effects(delivery_mode: str) -> list[Effect]:
    """What a confirmation leaves due for workers: registering a carrier's parcel."""
    return [e for e in CONFIRMATION_EFFECTS[Confirmation.CONFIRMED]
            if e == Effect.REGISTER_PARCEL and delivery_mode == DeliveryMode.CARRIER]


def change_confirmation(
    order: Order, to: str, actor: Actor, *, note: str = "",
    expected_version: int | None = None, callback_at: datetime | None = None,
) -> Outcome:
    """Record a call outcome (or a system cancel) on an ORM order, through the one writer."""
    check_version(order, expected_version)
    move = plan_confirmation(order, to, actor, note=note, callback_at=callback_at)
    db.session.flush()  # pending edits first: the write checks the version they leave
    outcome, _day = write_confirmation(order, order.lines, move, actor, callback_at=callback_at)
    outcome.order = order
    return outcome


_WRITE_ORDER = (
    update(Order.__table__)
    .where(Order.__table__.c.id == bindparam("order_id"),
           Order.__table__.c.version == bindparam("seen"))
    .values(version=Order.__table__.c.version + 1)
)


def write_confirmation(order, lines, move: Move, actor: Actor, *,
                       callback_at: datetime | None = None, max_attempts: int | None = None):
    """The one writer of confirmation columns: the ORM door and the call screen both end here.

    `order` is the row the move was planned on (ORM object or plain row: id, version,
    channel_id, statuses, attempts, delivery_mode) and `lines` its lines. One UPDATE guarded
    by the version read, the audit events in one INSERT, the counters, the agent's day and,
    for Confirmed, the stock, in the caller's transaction. With `max_attempts`, the No answer
    that reaches it cancels the order as the system (checked against the table too).
    Returns (Outcome, the agent's day or None).
    """
    now = utcnow()
    events = [audit_row(order.id, actor, "confirmation", move.src.value, move.dst.value,
                        move.note, now)]
    seconds = call_seconds(order.claimed_at, now) if actor.acts_as(Party.AGENT) else None
    events[0]["call_seconds"] = seconds
    values = confirmation_values(order, lines, move, actor, callback_at, now)
    values["updated_at"] = now
    result = Outcome(order, "confirmation", move.src.value, move.dst.value)
    if (max_attempts and move.dst == Confirmation.NO_ANSWER
            and order.attempts + 1 >= max_attempts):
        reached = SimpleNamespace(id=order.id, confirmation_status=move.dst.value,
                                  claimed_by_id=None)
        # shown translated: models/stored_text.py
        cancel = plan_confirmation(reached, Confirmation.CANCELED, Actor.system(),
                                   note=f"unreachable after {order.attempts + 1} attempts")
        values["confirmation_status"] = cancel.dst.value
        events.append(audit_row(order.id, Actor.system(), "confirmation", cancel.src.value,
                                cancel.dst.value, cancel.note, now))
    elif move.dst == Confirmation.CONFIRMED:
        events.append(audit_row(order.id, actor, "shipping", None, Shipping.CREATED.value,
                                "", now))
    if move.dst == Confirmation.CONFIRMED:
        # The stock rows go in after the order's UPDATE (write_order), in the same
        # transaction: a shortage refuses the whole move.
        result.due += parcel_effects(order.delivery_mode)
    write_order(order, values, events,
                stock=(lines, actor) if move.dst == Confirmation.CONFIRMED else None)
    if move.dst == Confirmation.CONFIRMED and split_order(order.id, lines, actor, now):
        # The channel auto-processes dropship orders: its supplier's job submits them.
        result.due.append(Effect.SUBMIT_TO_SUPPLIER)
    day = count_call(actor.user_id, move.dst, now) if actor.acts_as(Party.AGENT) else None
    if seconds is not None:
        count_call_time(actor.user_id, seconds, now)
    return result, day


def write_order(order, values: dict, events: list[dict], *, stock=None) -> None:
    """The one writer of an order's confirmation columns (outcomes, system cancels, reopen).

    One UPDATE guarded by the version the move was planned on (Conflict, nothing written,
    when it changed), then the stock taken for a confirmation (`stock` = (lines, actor)),
    the audit events in one INSERT and the status counters.
    """
    before = facts_for([order.id]).get(order.id)
    if "agent_id" in values and before is not None and before.first_call_at is None:
        values = {**values, "first_call_at": values["last_attempt_at"]}  # speed to lead
    if db.session.execute(_WRITE_ORDER.values(**values),
                          {"order_id": order.id, "seen": order.version}).rowcount != 1:
        raise Conflict(_("Order #%(id)s was changed by someone else meanwhile; "
                         "nothing was saved.", id=order.id))
    if stock is not None:
        lines, actor = stock
        events = events + take_stock(order.id, lines, actor)
    db.session.execute(insert(AuditEvent.__table__), events)
    count_move(order.channel_id, (order.confirmation_status, order.shipping_status),
               (values["confirmation_status"], values.get("shipping_status",
                                                         order.shipping_status)))
    if before is not None:
        roll([(before, changed(before, **values))])
    expire_order(order.id)


def expire_order(order_id: int) -> None:
    """An ORM copy of the order loaded earlier in this session is stale after a plain UPDATE."""
    loaded = db.session.identity_map.get(identity_key(Order, order_id))
    if loaded is not None:
        db.session.expire(loaded)


def plan_shipping(order, to: str, actor: Actor) -> Shipping | None:
    """Check a shipping move against the table and the actor; None when there is nothing
    to do (a carrier or the system reporting the status the order already has).

    `order` is anything with id, shipping_status and delivery_mode: the ORM object here,
    a plain row on the carriers' bulk path (models/shipping/events.py).
    """
    dst = _parse(Shipping, to, "shipping")
    if order.shipping_status is None:
        raise TransitionRefused(_(
            "Order #%(id)s is not confirmed; its shipping status is locked until then.",
            id=order.id))
    src = Shipping(order.shipping_status)
    if src == dst and actor.parties & {Party.CARRIER, Party.SYSTEM}:
        return None
    allowed = shipping_parties(src, dst, order.delivery_mode)
    src_label, dst_label = SHIPPING_INFO[src].label, SHIPPING_INFO[dst].label
    if not allowed:
        raise TransitionRefused(_("Order #%(id)s is %(src)s; it cannot move to %(dst)s.",
                                  id=order.id, src=src_label, dst=dst_label))
    _check_actor(order, actor, allowed, "set", dst_label)
    return dst


def change_shipping(
    order: Order, to: str, actor: Actor, *, note: str = "",
    expected_version: int | None = None, tracking_number: str | None = None,
) -> Outcome:
    """Move a parcel through the shipping table; a repeated carrier scan changes nothing."""
    check_version(order, expected_version)
    dst = plan_shipping(order, to, actor)
    if dst is None:
        return Outcome(order, "shipping", order.shipping_status, order.shipping_status)
    src = order.shipping_status
    if tracking_number:
        order.tracking_number = tracking_number.strip()
    db.session.flush()  # pending edits first: the write checks the version they leave
    now = utcnow()
    write_shipping([ShippingWrite(
        order.id, order.channel_id, order.confirmation_status, order.version, src, dst.value,
        [audit_row(order.id, actor, "shipping", src, dst.value, (note or "").strip(), now)],
    )], now)
    outcome = Outcome(order, "shipping", src, dst.value)
    # shown translated: models/stored_text.py
    if (dst == Shipping.CANCELED and actor.parties & {Party.OPERATOR, Party.SYSTEM}
            and cancel_for_order(order.id, actor, note or f"order {order.reference} canceled")):
        outcome.due.append(Effect.SUBMIT_TO_SUPPLIER)  # the supplier is told by its job
    for effect in SHIPPING_EFFECTS.get(dst, ()):
        if effect == Effect.RESTOCK:
            restock_order(order, actor)
        else:
            outcome.due.append(effect)
    db.session.flush()
    return outcome


@dataclass(frozen=True)
class ShippingWrite:
    """One order's shipping move(s) as planned: the version read, where it ends, its audits."""

    order_id: int
    channel_id: int
    confirmation_status: str
    version: int
    src: str | None
    dst: str
    audits: list


def write_shipping(moves: list[ShippingWrite], now: datetime) -> None:
    """The one writer of shipping_status: an operator's move and a carrier's batch end here.

    Set-based for any number of orders (one UPDATE … FROM a temporary table on PostgreSQL
    for big batches), each row guarded by the version it was planned on; then the audit
    events and the counters. Raises Conflict, writing nothing, when any order changed
    underneath. Stock effects are the caller's (change_shipping restocks on Returned).
    """
    if not moves:
        return
    before = facts_for(m.order_id for m in moves)
    written = update_rows(
        Order.__table__,
        [{"id": m.order_id, "version": m.version, "shipping_status": m.dst, "updated_at": now,
          "shipping_changed_at": now} for m in moves],
        match=("id", "version"), extra_set="version = orders.version + 1")
    if written != len(moves):
        raise Conflict(_("The order was changed by someone else meanwhile; nothing was saved.")
                       if len(moves) == 1 else
                       _("Some orders changed while these moves were written; "
                         "nothing was saved."))
    insert_rows(AuditEvent.__table__, [row for m in moves for row in m.audits])
    # The channel hears that the order shipped (its tracking code goes with the news).
    schedule_news([(m.order_id, m.channel_id) for m in moves if m.dst == Shipping.SHIPPED], now)
    count_moves((m.channel_id, (m.confirmation_status, m.src), (m.confirmation_status, m.dst))
                for m in moves)
    roll((before[m.order_id], changed(before[m.order_id], shipping_status=m.dst,
                                      shipping_changed_at=now)) for m in moves)
    for m in moves:
        expire_order(m.order_id)


def reopen_order(
    order: Order, actor: Actor, *, reason: str, expected_version: int | None = None
) -> Outcome:
    """Put a canceled or fake order back in the queue as New, with a written reason."""
    check_version(order, expected_version)
    src = Confirmation(order.confirmation_status)
    allowed = confirmation_parties(src, Confirmation.NEW)
    if not allowed:
        raise TransitionRefused(_(
            "Order %(ref)s is %(status)s; only canceled or fake orders can be reopened.",
            ref=order.reference, status=CONFIRMATION_INFO[src].label))
    _check_actor(order, actor, allowed, "reopen")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Write why the order is being reopened."))
    db.session.flush()  # pending edits first: the write checks the version they leave
    now = utcnow()
    write_order(order, {"confirmation_status": Confirmation.NEW.value, "attempts": 0,
                        "callback_at": None, "claimed_by_id": None, "claimed_at": None,
                        "updated_at": now},
                [audit_row(order.id, actor, "reopen", src.value, Confirmation.NEW.value,
                           reason, now)])
    return Outcome(order, "reopen", src.value, Confirmation.NEW.value)


EDITABLE = frozenset({Confirmation.NEW, Confirmation.NO_ANSWER, Confirmation.CALL_LATER})


def edit_order(
    order: Order, actor: Actor, *, expected_version: int | None = None, region: str = "MA",
    address: str | None = None, city: str | None = None, phone: str | None = None,
    quantities: dict[int, int] | None = None, remove: frozenset[int] = frozenset(),
) -> list[AuditEvent]:
    """Correct an open order while on the phone; each change is an audit event."""
    check_version(order, expected_version)
    status = Confirmation(order.confirmation_status)
    if status not in EDITABLE:
        raise TransitionRefused(_("Order %(ref)s is %(status)s; its details are locked.",
                                  ref=order.reference, status=CONFIRMATION_INFO[status].label))
    _check_actor(order, actor, frozenset({Party.AGENT, Party.MANAGER}), "edit")
    events = []
    # shown translated: models/stored_text.py
    for name, value in (("address", address), ("city", city)):
        if value is not None and value.strip() != getattr(order, name):
            events.append(audit(order, actor, "edit", getattr(order, name)[:64], value.strip()[:64],
                                f"{name} corrected"))
            setattr(order, name, value.strip())
    # Kept as typed but in Latin digits: the courier and the carrier's label dial it.
    phone = latin_digits(phone).strip() if phone is not None else None
    if phone is not None and phone != order.phone:
        normalized = normalize_phone(phone, region)
        if not normalized:
            raise InvalidInput(_("“%(phone)s” is not a phone number.", phone=phone))
        # shown translated: models/stored_text.py
        events.append(audit(order, actor, "edit", order.phone, phone, "phone corrected"))
        order.phone, order.phone_normalized = phone, normalized
    events += _edit_lines(order, actor, quantities or {}, remove)
    if events:
        # A new quantity or city may change which warehouse serves each line.
        for row in reroute_order(order, actor):
            events.append(AuditEvent(**row))
            db.session.add(events[-1])
    db.session.flush()
    return events


def _edit_lines(order: Order, actor: Actor, quantities: dict[int, int],
                remove: frozenset[int]) -> list[AuditEvent]:
    """Change quantities and drop lines, keeping the cash to collect in step."""
    before = order.total_cents
    events = []
    for line in list(order.lines):
        if line.id in remove:
            # shown translated: models/stored_text.py
            events.append(audit(order, actor, "edit", str(line.quantity), "0",
                                f"line {line.sku} removed"))
            events[-1].sku = line.sku
            order.lines.remove(line)
            continue
        quantity = quantities.get(line.id, line.quantity)
        if not 1 <= quantity <= 999:
            raise InvalidInput(_("Quantity of %(sku)s must be between 1 and 999.",
                                 sku=line.sku))
        if quantity != line.quantity:
            # shown translated: models/stored_text.py
            event = audit(order, actor, "edit", str(line.quantity), str(quantity),
                          f"quantity of {line.sku}")
            event.sku, event.order_line_id = line.sku, line.id
            events.append(event)
            line.quantity = quantity
    if not order.lines:
        raise InvalidInput(_("An order needs at least one line; cancel it instead."))
    order.cod_amount_cents += order.total_cents - before
    return events


def restock_order(order: Order, actor: Actor) -> list:
    """Put a returned order's goods back where they came from; lines done before are skipped."""
    if order.shipping_status != Shipping.RETURNED:
        return []  # only a return brings goods back; a canceled order never touches stock
    return restock_lines(order.id, order.lines, actor, f"return of {order.reference}")
