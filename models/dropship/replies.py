"""What suppliers answer, applied through the door: accepted, refused, shipped, canceled.

A shipped supplier order's tracking number becomes a parcel (carrier detected as for our
own parcels) that the tracking sync follows. When the order has no lines from our stock,
its first supplier parcel leads: the order itself moves to Shipped and follows it.
"""

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import exists, func, select

from models.actor import Actor
from models.base import db, utcnow
from models.catalog.sales import Carrier, Channel
from models.errors import Conflict, DomainError, InvalidInput, NotAllowed, TransitionRefused
from models.orders.operations import change_shipping
from models.orders.tables import Order, OrderLine
from models.shipping.detection import load_and_detect
from models.shipping.operations import carried_by
from models.shipping.tables import Parcel
from models.status import SUPPLIER_INFO, Party, Shipping, SupplierStatus

from .operations import move, trail
from .tables import SupplierOrder

S = SupplierStatus
# Reply outcomes (workers/suppliers/base.py speaks the same words).
ACCEPTED, REJECTED, SUBMITTED, SHIPPED, CANCELED, FAILED = (
    "accepted", "rejected", "submitted", "shipped", "canceled", "failed")
OPEN = (S.SUBMITTED.value, S.ACCEPTED.value)
# A supplier that said shipped before the carrier's number existed is asked this long.
TRACKING_WAIT = timedelta(days=7)


def apply_reply(so: SupplierOrder, reply, now: datetime | None = None) -> str:
    """Apply one supplier reply to its supplier order; what happened, in a word.

    A reply that repeats what is known changes nothing (suppliers and jobs repeat);
    a reply the table refuses (an answer about a canceled order) is recorded in the trail.
    """
    now = now or utcnow()
    actor = Actor.supplier(so.supplier.name)
    message = (reply.message or "").strip()[:500]
    if reply.supplier_ref and reply.supplier_ref != so.supplier_ref:
        so.supplier_ref = reply.supplier_ref[:64]
    if reply.outcome == FAILED:
        so.last_error = message or "no answer"
        trail(so, actor, f"no answer from {so.supplier.name}: {so.last_error}", now)
        db.session.flush()
        return "failed"
    so.last_error = ""
    if so.answered_at is None:
        so.answered_at = now
    try:
        return _apply(so, reply, actor, message, now)
    except DomainError as refused:
        trail(so, actor, f"answer not applied: {reply.outcome} ({refused.message})", now)
        db.session.flush()
        return "refused"


def _apply(so: SupplierOrder, reply, actor: Actor, message: str, now: datetime) -> str:
    """The move a reply asks for, when it is one."""
    status = S(so.status)
    if reply.outcome == SUBMITTED:
        if status == S.SUBMITTED:
            db.session.flush()
            return "received"
        return "no_change"
    if reply.outcome == ACCEPTED:
        if status == S.ACCEPTED:
            db.session.flush()
            return "no_change"
        # shown translated: models/stored_text.py
        move(so, S.ACCEPTED, actor, note=f"accepted by {so.supplier.name}"
             + (f" as {so.supplier_ref}" if so.supplier_ref else ""), now=now)
        return "accepted"
    if reply.outcome == REJECTED:
        if status == S.ERROR and so.error == (message or so.error):
            return "no_change"
        # shown translated: models/stored_text.py
        move(so, S.ERROR, actor, note=message or "refused", now=now,
             error=message or f"{so.supplier.name} refused the order without a reason.",
             error_source="supplier")
        return "rejected"
    if reply.outcome == SHIPPED:
        if status == S.SHIPPED:
            # The tracking number they did not have when they said shipped comes later (a
            # sync, a status file); another number for an order that has one is not taken.
            if so.tracking_number or not add_tracking(so, reply.tracking_number,
                                                      reply.carrier, actor, now):
                return "no_change"
            return "shipped"
        ship(so, reply.tracking_number, reply.carrier, actor, now)
        return "shipped"
    if reply.outcome == CANCELED:
        if status == S.CANCELED:
            return "no_change"
        # shown translated: models/stored_text.py
        move(so, S.CANCELED, actor, note=message or f"canceled by {so.supplier.name}", now=now,
             cancel_requested_at=None)
        return "canceled"
    raise ValueError(f"unknown reply outcome {reply.outcome!r}")


def ship(so: SupplierOrder, tracking_number: str | None, carrier_name: str | None,
         actor: Actor, now: datetime | None = None) -> Parcel | None:
    """Mark a supplier order shipped; its tracking number becomes a followed parcel."""
    now = now or utcnow()
    tracking = _tracking(tracking_number)
    # shown translated: models/stored_text.py
    move(so, S.SHIPPED, actor, now=now,
         note=f"shipped by {so.supplier.name}" + (f", tracking {tracking}" if tracking else ""),
         tracking_number=tracking, carrier_name=(carrier_name or "").strip()[:120] or None,
         shipped_at=now, cancel_requested_at=None)
    if tracking is None:
        return None
    return _follow(so, tracking, carrier_name, actor, now)


def add_tracking(so: SupplierOrder, tracking_number: str | None, carrier_name: str | None,
                 actor: Actor, now: datetime | None = None) -> Parcel | None:
    """The tracking number of a supplier order that shipped without one; None when none."""
    tracking = _tracking(tracking_number)
    if tracking is None or so.tracking_number:
        return None
    so.tracking_number = tracking
    so.carrier_name = (carrier_name or "").strip()[:120] or None
    db.session.flush()
    return _follow(so, tracking, carrier_name, actor, now or utcnow())


def record_tracking(so: SupplierOrder, tracking_number: str, carrier_name: str | None,
                    actor: Actor, *, expected_version: int | None = None) -> Parcel | None:
    """An operator records what the supplier said outside its API (an e-mail, a call).

    A submitted or accepted order becomes shipped with that number; a shipped one without
    a number gets it. The move is the supplier's, recorded in the operator's name.
    """
    if not actor.acts_as(Party.OPERATOR):
        raise NotAllowed(_("Only an operator can record a supplier's tracking number."))
    if expected_version is not None and int(expected_version) != so.version:
        raise Conflict(_("Supplier order %(reference)s was changed by someone else since "
                         "you opened it (reload to see what changed); nothing was saved.",
                         reference=so.reference))
    tracking = _tracking(tracking_number)
    if tracking is None or len(tracking) < 4:
        raise InvalidInput(_("A tracking number has 4 to 64 characters."))
    told = Actor(name=f"{actor.name} for {so.supplier.name}"[:64],
                 parties=frozenset({Party.SUPPLIER}), user_id=actor.user_id)
    if so.status in OPEN:
        return ship(so, tracking, carrier_name, told)
    if so.status == S.SHIPPED and not so.tracking_number:
        return add_tracking(so, tracking, carrier_name, told)
    status = SUPPLIER_INFO[so.status].label.lower()
    if so.tracking_number:
        raise TransitionRefused(_("Supplier order %(reference)s is %(status)s with tracking "
                                  "%(tracking)s; there is no tracking number to record.",
                                  reference=so.reference, status=status,
                                  tracking=so.tracking_number))
    raise TransitionRefused(_("Supplier order %(reference)s is %(status)s; there is no "
                              "tracking number to record.", reference=so.reference,
                              status=status))


def _tracking(tracking_number: str | None) -> str | None:
    """A tracking number as stored: upper case, no spaces (None when empty)."""
    return (tracking_number or "").strip().upper().replace(" ", "")[:64] or None


def _follow(so: SupplierOrder, tracking: str, carrier_name: str | None, actor: Actor,
            now: datetime) -> Parcel:
    """The shipped supplier order's parcel; when it leads, the order moves to Shipped."""
    parcel = _parcel(so, tracking, carrier_name, now)
    # shown translated: models/stored_text.py
    trail(so, actor, f"tracking added: {tracking}"
          + (f" ({parcel.carrier.name})" if parcel.carrier else " (carrier not recognised)"), now)
    if parcel.leads:
        order = db.session.get(Order, so.order_id)
        carried_by(order, parcel.carrier_id)
        if order.shipping_status == Shipping.CREATED:
            # shown translated: models/stored_text.py
            change_shipping(order, Shipping.SHIPPED, actor, tracking_number=tracking,
                            note=f"shipped by {so.supplier.name}")
    return parcel


def _parcel(so: SupplierOrder, tracking: str, carrier_name: str | None, now: datetime) -> Parcel:
    """The supplier order's parcel, made once with the carrier its number points to."""
    parcel = db.session.scalar(select(Parcel).where(Parcel.supplier_order_id == so.id))
    if parcel is not None:
        return parcel
    carrier_id, method, confidence = _carrier(so, tracking, carrier_name)
    own_lines = exists().where(OrderLine.order_id == so.order_id, OrderLine.supplier_id.is_(None))
    leading = exists().where(Parcel.order_id == so.order_id, Parcel.leads.is_(True))
    leads = not db.session.scalar(select(own_lines | leading))
    parcel = Parcel(order_id=so.order_id, supplier_order_id=so.id, carrier_id=carrier_id,
                    tracking_number=tracking, registered_at=now, leads=leads,
                    idempotency_key=f"cbs-parcel-{so.idempotency_key}"[:64],
                    detected_by=method, detection_confidence=confidence)
    db.session.add(parcel)
    db.session.flush()
    return parcel


def _carrier(so: SupplierOrder, tracking: str, carrier_name: str | None):
    """(carrier id, how, confidence): the carrier the supplier named, else detection."""
    if carrier_name:
        named = db.session.scalar(select(Carrier.id).where(
            func.lower(Carrier.name) == carrier_name.strip().lower(), Carrier.active.is_(True)))
        if named is not None:
            return named, "order", 100
    channel_carrier = db.session.scalar(select(Channel.default_carrier_id)
                                        .where(Channel.id == so.channel_id))
    found = load_and_detect(tracking, channel_carrier_id=channel_carrier)
    if found.carrier_id is None:
        return None, "pattern", 0
    return found.carrier_id, found.method, found.confidence


def finish_cancel(so: SupplierOrder, *, told: bool, message: str = "",
                  now: datetime | None = None) -> None:
    """After asking the supplier to cancel: canceled, or canceled for manual follow-up."""
    now = now or utcnow()
    if told:
        # shown translated: models/stored_text.py
        move(so, S.CANCELED, Actor.supplier(so.supplier.name), now=now,
             note=f"canceled with {so.supplier.name}: {so.cancel_reason}",
             cancel_requested_at=None)
    else:
        # shown translated: models/stored_text.py
        move(so, S.CANCELED, Actor.system("cancel"), now=now,
             note=f"{message} Cancel it with {so.supplier.name} by hand: {so.cancel_reason}",
             cancel_requested_at=None, manual_follow_up=True)


def _asked_about(shipped_since: datetime):
    """Orders the supplier has news of to give: answered and open, or shipped lately
    without a tracking number."""
    return SupplierOrder.answered_at.is_not(None) & (
        SupplierOrder.status.in_(OPEN)
        | ((SupplierOrder.status == S.SHIPPED) & SupplierOrder.tracking_number.is_(None)
           & (SupplierOrder.shipped_at >= shipped_since)))


def open_orders(supplier_id: int, older_than: datetime, limit: int = 500) -> list[SupplierOrder]:
    """Orders to ask the supplier about (submitted, accepted, shipped awaiting a tracking
    number), least recently asked first."""
    return list(db.session.scalars(
        select(SupplierOrder).where(
            SupplierOrder.supplier_id == supplier_id, _asked_about(older_than - TRACKING_WAIT),
            (SupplierOrder.last_synced_at.is_(None))
            | (SupplierOrder.last_synced_at <= older_than))
        .order_by(SupplierOrder.last_synced_at.is_not(None), SupplierOrder.last_synced_at,
                  SupplierOrder.id).limit(limit)))


def suppliers_to_ask(now: datetime) -> list[int]:
    """Suppliers with orders to ask about: the only ones the sync has a reason to call."""
    return list(db.session.scalars(select(SupplierOrder.supplier_id).where(
        _asked_about(now - TRACKING_WAIT)).distinct()))
