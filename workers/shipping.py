"""Shipping jobs: register parcels, hand packed ones over, follow tracking, apply webhooks.

Every job works on a batch (all due registrations, one carrier's parcels, one carrier's
pending webhooks), never one job per parcel. The database says what is due; a job
commits before it calls a carrier (no transaction is held open over the network) and
records each answer as it comes, so a job killed midway is simply run again.
"""

from datetime import timedelta

from flask import current_app
from rq import Retry
from sqlalchemy import select

from models.actor import Actor
from models.base import db, utcnow
from models.catalog import Carrier
from models.errors import Conflict
from models.orders.tables import Order
from models.shipping.events import apply_carrier_events
from models.shipping.operations import (
    NO_CARRIER_ERROR,
    clear_failure,
    open_parcel,
    orders_due_registration,
    record_failure,
    record_registration,
)
from models.shipping.tables import CarrierStatusMapping, CarrierWebhook, Parcel
from models.status import Shipping
from workers import clear_nudge, job, nudge
from workers.carriers import (
    CarrierConfig,
    CarrierError,
    NotSupported,
    ParcelRequest,
    adapter_for,
)

RETRY = Retry(max=4, interval=[10, 60, 300, 900])
# Parcels the carrier may still move; delivered ones are watched a while for returns.
TRACKED = (Shipping.FULFILLED, Shipping.SHIPPED, Shipping.PACKAGE_ISSUE, Shipping.DELIVERED)
DELIVERED_WATCH = timedelta(days=7)
SYNC_EVERY = timedelta(minutes=5)
MAX_PER_SYNC = 2000  # parcels one sync job asks about; the next run takes the rest
WEBHOOKS_PER_JOB = 1000


def carrier_config(carrier: Carrier) -> CarrierConfig:
    """A plain copy of a carrier's row and its status table, for an adapter."""
    mapping = dict(db.session.execute(
        select(CarrierStatusMapping.raw_status, CarrierStatusMapping.maps_to)
        .where(CarrierStatusMapping.carrier_id == carrier.id)).all())
    return CarrierConfig(
        id=carrier.id, code=carrier.code, name=carrier.name, kind=carrier.kind,
        base_url=carrier.base_url, api_key=carrier.api_key,
        webhook_secret=carrier.webhook_secret, settings=dict(carrier.settings or {}),
        status_map=mapping, timeout=current_app.config["HTTP_TIMEOUT"])


def webhook_url(carrier: Carrier) -> str:
    """Where this carrier sends its webhooks (shown to managers, given to the sandbox)."""
    return f"{current_app.config['PUBLIC_URL']}/api/v1/carriers/{carrier.code}/webhook"


def _request(order: Order, parcel: Parcel, carrier: Carrier) -> ParcelRequest:
    """The order as a carrier needs it."""
    return ParcelRequest(
        order_id=order.id, reference=order.reference, idempotency_key=parcel.idempotency_key,
        customer_name=order.customer_name, phone=order.phone, address=order.address,
        city=order.city, cod_amount_cents=order.cod_amount_cents, currency=order.currency,
        items=tuple((line.sku, line.name, line.quantity) for line in order.lines),
        tracking_number=parcel.tracking_number, callback_url=webhook_url(carrier))


# -- registration ------------------------------------------------------------------

def request_registration() -> bool:
    """Nudge the registration job (after a confirmation commits)."""
    return nudge(register_parcels, "register")


@job("carriers", timeout=600, retry=RETRY)
def register_parcels() -> dict[str, int]:
    """Register every confirmed carrier order's parcel the carrier has not confirmed yet.

    Each parcel's idempotency key is committed before the carrier is called, so a
    retried or duplicated job sends the same key and the carrier returns the same parcel.
    """
    clear_nudge("register")
    done = {"registered": 0, "failed": 0}
    transient = None
    for _carrier_id, order_id in orders_due_registration():
        try:
            ok = _register_one(order_id)
        except CarrierError as error:
            done["failed"] += 1
            transient = transient or (error if error.transient else None)
            continue
        done["registered"] += ok
    if transient is not None:
        raise transient  # RQ retries the batch with backoff; the errors are on the parcels
    return done


def _register_one(order_id: int) -> int:
    """Open (if needed) and register one order's parcel; 1 when registered now."""
    order = db.session.get(Order, order_id)
    parcel = open_parcel(order)
    carrier = db.session.get(Carrier, parcel.carrier_id) if parcel.carrier_id else None
    if carrier is None:
        record_failure([parcel.id], NO_CARRIER_ERROR)
        db.session.commit()
        return 0
    adapter = adapter_for(carrier_config(carrier))
    if parcel.tracking_number and not adapter.registers_known_numbers:
        # An operator typed the number the carrier gave: the parcel exists there already.
        record_registration(parcel, parcel.tracking_number, None, Actor.carrier(carrier.code))
        db.session.commit()
        return 1
    request = _request(order, parcel, carrier)
    parcel_id = parcel.id
    db.session.commit()  # the key is stored before the carrier hears of it
    try:
        registration = adapter.register(request)
    except CarrierError as error:
        record_failure([parcel_id], f"{carrier.name}: {error.message}")
        db.session.commit()
        raise
    parcel = db.session.get(Parcel, parcel_id)
    record_registration(parcel, registration.tracking_number, registration.label_url,
                        Actor.carrier(carrier.code))
    db.session.commit()
    return 1


# -- tracking -----------------------------------------------------------------------

@job("carriers", timeout=120)
def sync_all_carriers() -> int:
    """Every five minutes: one sync job per carrier with an API (deduplicated by id)."""
    carriers = db.session.execute(
        select(Carrier.id).where(Carrier.active.is_(True), Carrier.kind != "local")
    ).scalars().all()
    for carrier_id in carriers:
        sync_carrier.enqueue(carrier_id, job_id=f"sync-carrier-{carrier_id}")
    return len(carriers)


def _due_for_sync(carrier_id: int, now, parcel_ids: list[int] | None):
    """Parcels of this carrier to ask about: unfinished, least recently synced first."""
    query = (
        select(Parcel.id, Parcel.tracking_number).join(Order, Order.id == Parcel.order_id)
        .where(Parcel.carrier_id == carrier_id, Parcel.tracking_number.is_not(None))
    )
    if parcel_ids is not None:
        return db.session.execute(query.where(Parcel.id.in_(parcel_ids))).all()
    return db.session.execute(
        query.where(Parcel.final.is_(False),
                    # A supplier's parcel beside the order's own is followed on its own terms.
                    Parcel.leads.is_(False)
                    | (Order.shipping_status.in_(TRACKED)
                       & ((Order.shipping_status != Shipping.DELIVERED)
                          | (Parcel.last_event_at >= now - DELIVERED_WATCH))),
                    (Parcel.last_synced_at.is_(None))
                    | (Parcel.last_synced_at < now - SYNC_EVERY / 2))
        .order_by(Parcel.last_synced_at.is_not(None), Parcel.last_synced_at, Parcel.id)
        .limit(MAX_PER_SYNC)
    ).all()


@job("carriers", timeout=900, retry=RETRY)
def sync_carrier(carrier_id: int, parcel_ids: list[int] | None = None) -> str:
    """Hand over packed parcels, then ask the carrier about its unfinished ones in batches.

    `parcel_ids` ("Sync now" on the desk) asks about those whatever their last sync.
    """
    carrier = db.session.get(Carrier, carrier_id)
    if carrier is None or not carrier.active:
        return "carrier gone or inactive"
    config = carrier_config(carrier)
    adapter = adapter_for(config)
    _cancel_at_carrier(carrier, adapter)
    _hand_over(carrier, adapter)
    now = utcnow()
    due = _due_for_sync(carrier_id, now, parcel_ids)
    applied = 0
    for start in range(0, len(due), adapter.batch_size):
        batch = due[start:start + adapter.batch_size]
        ids = [pid for pid, _tn in batch]
        db.session.commit()  # nothing held open while the carrier answers
        try:
            events = adapter.track([tn for _pid, tn in batch])
        except NotSupported as error:
            return error.message
        except CarrierError as error:
            _sync_failed(carrier_id, ids, f"{config.name}: {error.message}")
            if error.transient:
                raise
            return error.message
        result = apply_carrier_events(carrier_id, config.code, events, source="api",
                                      map_status=adapter.map_status, now=utcnow())
        db.session.execute(Parcel.__table__.update().where(Parcel.id.in_(ids))
                           .values(last_synced_at=utcnow()))
        clear_failure(ids)
        db.session.execute(Carrier.__table__.update().where(Carrier.id == carrier_id)
                           .values(last_sync_at=utcnow(), last_error=None))
        db.session.commit()
        applied += result.counts.get("applied", 0)
    return f"{len(due)} parcels asked, {applied} moves applied"


def _sync_failed(carrier_id: int, parcel_ids: list[int], message: str) -> None:
    """Show the carrier's error on its parcels and on the carrier until a call succeeds."""
    db.session.rollback()
    record_failure(parcel_ids, message)
    db.session.execute(Carrier.__table__.update().where(Carrier.id == carrier_id)
                       .values(last_error=message[:500]))
    db.session.commit()


def _hand_over(carrier: Carrier, adapter) -> None:
    """Tell the carrier which registered parcels are packed (Fulfilled) and ready."""
    rows = _registered(carrier.id, Shipping.FULFILLED, Parcel.handed_over_at.is_(None))
    if not rows:
        return
    db.session.commit()
    try:
        adapter.hand_over([tn for _pid, tn in rows])
    except CarrierError as error:
        _sync_failed(carrier.id, [pid for pid, _tn in rows], f"{carrier.name}: {error.message}")
        if error.transient:
            raise
        return
    db.session.execute(Parcel.__table__.update()
                       .where(Parcel.id.in_([pid for pid, _tn in rows]))
                       .values(handed_over_at=utcnow()))
    db.session.commit()


def _registered(carrier_id: int, status: Shipping, *conditions) -> list:
    """(parcel id, tracking number) of this carrier's registered parcels in a status."""
    return db.session.execute(
        select(Parcel.id, Parcel.tracking_number).join(Order, Order.id == Parcel.order_id)
        .where(Parcel.carrier_id == carrier_id, Parcel.tracking_number.is_not(None),
               Parcel.supplier_order_id.is_(None), Order.shipping_status == status,
               *conditions)
        .limit(MAX_PER_SYNC)).all()


def _cancel_at_carrier(carrier: Carrier, adapter) -> None:
    """Cancel at the carrier the registered parcels of orders canceled before they left."""
    rows = _registered(carrier.id, Shipping.CANCELED, Parcel.carrier_canceled_at.is_(None))
    for parcel_id, tracking_number in rows:
        db.session.commit()
        try:
            adapter.cancel(tracking_number)
        except NotSupported:
            pass  # nothing to tell this carrier; the parcel is marked done below
        except CarrierError as error:
            _sync_failed(carrier.id, [parcel_id], f"{carrier.name}: cancel: {error.message}")
            if error.transient:
                raise
            continue
        db.session.execute(Parcel.__table__.update().where(Parcel.id == parcel_id)
                           .values(carrier_canceled_at=utcnow(), final=True))
        db.session.commit()


# -- webhooks -----------------------------------------------------------------------

def request_webhook_apply(carrier_id: int) -> bool:
    """Nudge the apply job for this carrier's stored webhooks."""
    return nudge(apply_webhooks, f"webhooks:{carrier_id}", carrier_id)


@job("carriers", timeout=600, retry=RETRY)
def apply_webhooks(carrier_id: int) -> str:
    """Apply this carrier's stored webhook deliveries, oldest first, as one batch."""
    clear_nudge(f"webhooks:{carrier_id}")
    carrier = db.session.get(Carrier, carrier_id)
    if carrier is None:
        return "carrier gone"
    config = carrier_config(carrier)
    adapter = adapter_for(config)
    pending = db.session.execute(
        select(CarrierWebhook).where(CarrierWebhook.carrier_id == carrier_id,
                                     CarrierWebhook.processed_at.is_(None))
        .order_by(CarrierWebhook.id).limit(WEBHOOKS_PER_JOB)).scalars().all()
    if not pending:
        return "nothing pending"
    events = []
    for hook in pending:
        try:
            events.extend(adapter.parse_webhook(hook.headers, hook.body.encode()).events)
            hook.result = "applied"
        except CarrierError as error:
            hook.result = f"malformed: {error.message}"[:255]
        hook.processed_at = utcnow()
    try:
        result = apply_carrier_events(carrier_id, config.code, events, source="webhook",
                                      map_status=adapter.map_status)
    except Conflict:
        db.session.rollback()
        raise  # an order moved underneath: RQ retries the whole batch
    summary = result.summary()
    for hook in pending:
        if hook.result == "applied":
            hook.result = summary[:255]
    db.session.commit()
    if len(pending) == WEBHOOKS_PER_JOB:
        request_webhook_apply(carrier_id)
    return f"{len(pending)} deliveries: {summary}"
