"""Parcel operations: open one per confirmed order, record what the carrier said, and the
operator's moves by hand or by scan. Status changes still go through the one door."""

import uuid
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from models.actor import Actor
from models.audit import AuditEvent, audit_row
from models.base import begin_outer_transaction, db, utcnow
from models.catalog import Carrier, Channel
from models.errors import DomainError, InvalidInput, Missing, TransitionRefused
from models.orders.operations import Outcome, change_shipping
from models.orders.tables import Order, OrderLine
from models.status import Confirmation, DeliveryMode, Shipping

from .detection import load_and_detect
from .events import FINAL_FOR_CARRIER
from .tables import APPLIED, Parcel, ParcelEvent

RETRY_FAILED_AFTER = timedelta(minutes=1)
# A parcel's error is stored once, in English, by a job that has no reader; the ones the
# jobs write word for word are shown in the reader's language (carriers' own words stay).
NO_CARRIER_ERROR = "No carrier for this order: choose one on the order page."
STORED_ERRORS = {
    NO_CARRIER_ERROR: _l("No carrier for this order: choose one on the order page."),
}


def shown_error(stored: str | None) -> str:
    """A parcel's stored error as the reader sees it: translated when it is one of ours."""
    return str(STORED_ERRORS.get(stored or "", stored or ""))
# Statuses in which a carrier order still needs its parcel registered.
AWAITING_REGISTRATION = (Shipping.CREATED.value, Shipping.FULFILLED.value)


def parcel_of(order_id: int) -> Parcel | None:
    """The order's own parcel (not a dropship supplier's), if one was opened."""
    return db.session.execute(select(Parcel).filter_by(
        order_id=order_id, supplier_order_id=None)).scalar_one_or_none()


def carried_by(order: Order, carrier_id: int | None) -> None:
    """The order's carrier follows its leading parcel's: the orders list, the boards and
    the money figures all count an order under the carrier that holds its cash."""
    if carrier_id is not None and order.carrier_id != carrier_id:
        order.carrier_id = carrier_id


def open_parcel(order: Order) -> Parcel:
    """The order's parcel, opened with its carrier and an idempotency key if it has none.

    The carrier is the order's, else its channel's default. The key is stored before
    the carrier is ever called, so every retry sends the same one.
    """
    parcel = parcel_of(order.id)
    if parcel is not None:
        return parcel
    carrier_id, detected_by = order.carrier_id, "order"
    if carrier_id is None:
        carrier_id = db.session.scalar(
            select(Channel.default_carrier_id).where(Channel.id == order.channel_id))
        detected_by = "channel"
    parcel = Parcel(order_id=order.id, carrier_id=carrier_id, detected_by=detected_by,
                    detection_confidence=100 if detected_by == "order" else 30,
                    idempotency_key=f"cb-{uuid.uuid4().hex}")
    db.session.add(parcel)
    carried_by(order, carrier_id)
    db.session.flush()
    return parcel


def orders_due_registration(limit: int = 200) -> list[tuple[int | None, int]]:
    """(carrier id, order id) of confirmed carrier orders whose parcel is not registered.

    A parcel whose last attempt failed waits RETRY_FAILED_AFTER before it is tried
    again (by the job's own retry or reconcile); the carrier's answer is on the parcel
    meanwhile.
    """
    registered = exists().where(Parcel.order_id == Order.id, Parcel.leads.is_(True),
                                Parcel.registered_at.is_not(None))
    failed = exists().where(Parcel.order_id == Order.id, Parcel.supplier_order_id.is_(None),
                            Parcel.last_error_at > utcnow() - RETRY_FAILED_AFTER)
    # An order whose every line a supplier ships has no parcel of ours to register.
    own_lines = exists().where(OrderLine.order_id == Order.id, OrderLine.supplier_id.is_(None))
    rows = db.session.execute(
        select(Order.carrier_id, Order.id)
        .where(Order.confirmation_status == Confirmation.CONFIRMED,
               Order.delivery_mode == DeliveryMode.CARRIER,
               Order.shipping_status.in_(AWAITING_REGISTRATION), own_lines, ~registered,
               ~failed)
        .order_by(Order.id).limit(limit)
    ).all()
    return [(carrier_id, order_id) for carrier_id, order_id in rows]


def record_registration(parcel: Parcel, tracking_number: str, label_url: str | None,
                        actor: Actor) -> None:
    """Store what the carrier gave back for a registered parcel, with an audit event."""
    if parcel.registered_at is not None and parcel.tracking_number == tracking_number:
        return  # a retried job got the same answer
    before = parcel.tracking_number
    parcel.tracking_number = tracking_number
    parcel.label_url = label_url or parcel.label_url
    parcel.registered_at = utcnow()
    parcel.last_error = parcel.last_error_at = None
    db.session.add(AuditEvent(**audit_row(parcel.order_id, actor, "parcel", before,
                                          tracking_number, "registered with the carrier")))
    db.session.flush()


def record_failure(parcel_ids: list[int], message: str, now: datetime | None = None) -> None:
    """Show a carrier's error on these parcels (desk, order page) until a call succeeds."""
    if not parcel_ids:
        return
    now = now or utcnow()
    db.session.execute(
        Parcel.__table__.update().where(Parcel.id.in_(parcel_ids))
        .values(last_error=message[:500], last_error_at=now))


def clear_failure(parcel_ids: list[int]) -> None:
    """A call for these parcels went through: their error is history."""
    if parcel_ids:
        db.session.execute(
            Parcel.__table__.update()
            .where(Parcel.id.in_(parcel_ids), Parcel.last_error.is_not(None))
            .values(last_error=None, last_error_at=None))


def move_by_hand(order: Order, to: str, actor: Actor, *, source: str = "manual",
                 note: str = "", expected_version: int | None = None) -> Outcome:
    """An operator's shipping move (desk, scan, order page), on the parcel's timeline too."""
    outcome = change_shipping(order, to, actor, note=note, expected_version=expected_version)
    parcel = parcel_of(order.id)
    if parcel is not None and outcome.from_value != outcome.to_value:
        now = utcnow()
        # shown translated: models/stored_text.py (raw_text is the note, reason "by …")
        db.session.add(ParcelEvent(
            parcel_id=parcel.id, carrier_id=parcel.carrier_id, occurred_at=now,
            received_at=now, source=source, raw_code="", raw_text=note[:255],
            location=actor.name[:120], maps_to=outcome.to_value, outcome=APPLIED,
            reason=f"by {actor.name}", dedupe_key=f"{source}:{uuid.uuid4().hex}"))
        parcel.final = Shipping(outcome.to_value) in FINAL_FOR_CARRIER
        db.session.flush()
    return outcome


def undo_packing(order: Order, actor: Actor, *, source: str = "scan") -> Outcome:
    """Take back a Fulfilled scan while the carrier has not been asked to collect it."""
    parcel = parcel_of(order.id)
    if parcel is not None and parcel.handed_over_at is not None:
        raise TransitionRefused(_(
            "Order %(ref)s was already handed to the carrier; it cannot be unpacked.",
            ref=order.reference))
    # shown translated: models/stored_text.py
    return move_by_hand(order, Shipping.CREATED.value, actor, source=source,
                        note="packing scan undone")


def set_tracking(order: Order, tracking_number: str, carrier_id: int | None, actor: Actor,
                 *, method: str = "operator", confidence: int = 100) -> Parcel:
    """An operator enters (or corrects) a parcel's tracking number and carrier."""
    tracking_number = (tracking_number or "").strip().upper().replace(" ", "")
    if not 4 <= len(tracking_number) <= 64:
        raise InvalidInput(_("A tracking number has 4 to 64 characters."))
    if carrier_id is not None and db.session.get(Carrier, carrier_id) is None:
        raise Missing(_("That carrier does not exist."))
    parcel = open_parcel(order)
    before = parcel.tracking_number
    if before != tracking_number or parcel.carrier_id != carrier_id:
        parcel.registered_at = None  # the registration job tells the carrier (or accepts it)
    parcel.tracking_number = tracking_number
    parcel.carrier_id = carrier_id
    if parcel.leads:
        carried_by(order, carrier_id)
    parcel.detected_by, parcel.detection_confidence = method, confidence
    parcel.last_error = parcel.last_error_at = None
    db.session.add(AuditEvent(**audit_row(order.id, actor, "parcel", before, tracking_number,
                                          f"tracking number set ({method})")))
    db.session.flush()
    return parcel


def find_for_scan(code: str) -> Order | None:
    """The order a scanned code names: an order number (#123 or 123) or a tracking number."""
    code = (code or "").strip()
    digits = code.lstrip("#")
    if digits.isdigit() and len(digits) < 12:
        order = db.session.get(Order, int(digits))
        if order is not None:
            return order
    order_id = db.session.scalar(
        select(Parcel.order_id).where(or_(Parcel.tracking_number == code.upper(),
                                          Parcel.tracking_number == code)).limit(1))
    return db.session.get(Order, order_id) if order_id else None


def move_many(order_ids: list[int], to: str, actor: Actor,
              note: str = "") -> list[tuple[int, bool, str]]:
    """Move each order by hand in its own savepoint: a refusal stops only that order.

    Returns (order id, moved, the door's reason when refused) per order, in the order
    given; the caller commits once.
    """
    orders = {o.id: o for o in db.session.execute(
        select(Order).where(Order.id.in_(order_ids)).options(selectinload(Order.lines))
    ).scalars()}
    begin_outer_transaction()
    results = []
    for order_id in order_ids:
        order = orders.get(order_id)
        if order is None:
            results.append((order_id, False, _("There is no such order.")))
            continue
        try:
            with db.session.begin_nested():
                move_by_hand(order, to, actor, note=note)
        except DomainError as refused:
            results.append((order_id, False, refused.message))
        except (StaleDataError, IntegrityError):
            results.append((order_id, False, _("Someone else changed it at the same moment; "
                                               "nothing was saved. Try again.")))
        else:
            results.append((order_id, True, ""))
    return results


# What a scan at the packing table means for a parcel in each status; any other status
# is asked to become Fulfilled, and the door's refusal names the status it is in.
SCAN_MOVES = {Shipping.CREATED.value: Shipping.FULFILLED.value,
              Shipping.IN_RETURN.value: Shipping.RETURNED.value}
SCANNED_BEFORE = {
    Shipping.FULFILLED.value: _l("Already packed: %(ref)s was scanned before; nothing changed."),
    Shipping.RETURNED.value: _l("Already returned: %(ref)s is back in stock; nothing changed."),
}


def scan_move(order: Order, code: str, actor: Actor) -> str:
    """Apply a packing-table scan to its order; the status reached. Refusals raise."""
    if order.shipping_status in SCANNED_BEFORE:
        raise TransitionRefused(str(SCANNED_BEFORE[order.shipping_status])
                                % {"ref": order.reference})
    to = SCAN_MOVES.get(order.shipping_status, Shipping.FULFILLED.value)
    # shown translated: models/stored_text.py
    move_by_hand(order, to, actor, source="scan", note=f"scanned {code}"[:255])
    return to


def enter_tracking(order: Order, tracking_number: str, carrier_id: int | None,
                   actor: Actor) -> str | None:
    """An operator types a parcel's number; with no carrier picked, it is detected.

    Returns what was detected, for the operator to check; InvalidInput when nothing could
    be told from the number.
    """
    if carrier_id is not None:
        set_tracking(order, tracking_number, carrier_id, actor)
        return None
    channel_carrier = db.session.scalar(
        select(Channel.default_carrier_id).where(Channel.id == order.channel_id))
    found = load_and_detect(tracking_number, order_carrier_id=order.carrier_id,
                            channel_carrier_id=channel_carrier)
    if found.carrier_id is None:
        raise InvalidInput(_("Could not tell the carrier: %(why)s. Pick it in the list.",
                             why=found.note))
    set_tracking(order, tracking_number, found.carrier_id, actor, method=found.method,
                 confidence=found.confidence)
    name = db.session.get(Carrier, found.carrier_id).name
    return _("Detected %(carrier)s (%(confidence)s%% sure): %(why)s.", carrier=name,
             confidence=found.confidence, why=found.note)
