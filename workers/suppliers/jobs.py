"""Supplier jobs: submit what operators processed, ask about open orders, cancel.

One job per supplier takes every queued supplier order of that supplier in batches
(never one job per order). Each batch moves pending → submitted and commits before
the supplier is called, so a job that dies mid-call leaves rows that say so: they are
sent again with the same idempotency key, which the supplier answers with the order it
already has. The database says what is due; these jobs are nudges.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select

from models.base import db, utcnow
from models.catalog.products import Supplier
from models.dropship.operations import take_for_submission, unanswered
from models.dropship.replies import apply_reply, finish_cancel, open_orders, suppliers_to_ask
from models.dropship.tables import SupplierFile, SupplierOrder
from models.status import SupplierStatus
from workers import clear_nudge, job, nudge

from . import adapter_for
from .base import (
    CANCELED,
    FAILED,
    SHIPPED,
    CannotCancel,
    PurchaseLine,
    PurchaseOrder,
    StatusQuery,
    SupplierConfig,
    SupplierError,
    SupplierReply,
)

S = SupplierStatus
BATCH = 100  # supplier orders per submit call
RESEND_AFTER = timedelta(minutes=2)  # a submission that got no answer is sent again
CHECK_SLACK = timedelta(seconds=30)


def supplier_config(supplier: Supplier) -> SupplierConfig:
    """A plain copy of a supplier's row, for an adapter."""
    return SupplierConfig(
        id=supplier.id, name=supplier.name, kind=supplier.kind, base_url=supplier.base_url,
        api_key=supplier.api_key, settings=dict(supplier.settings or {}),
        timeout=current_app.config["HTTP_TIMEOUT"])


def _adapter(supplier: Supplier):
    """The adapter for this supplier's kind."""
    return adapter_for(supplier_config(supplier))


def purchase_order(so: SupplierOrder) -> PurchaseOrder:
    """A supplier order as the adapter sends it."""
    return PurchaseOrder(
        supplier_order_id=so.id, idempotency_key=so.idempotency_key, reference=so.reference,
        customer_name=so.customer_name, phone=so.phone, address=so.address, city=so.city,
        region=so.region, shipping_method=so.shipping_method, currency=so.order.currency,
        lines=tuple(PurchaseLine(line.supplier_sku, line.sku, line.name, line.quantity,
                                 line.unit_cost_cents) for line in so.lines))


def _query(so: SupplierOrder) -> StatusQuery:
    """A submitted supplier order as the adapter asks about it."""
    return StatusQuery(so.id, so.idempotency_key, so.supplier_ref, so.reference)


def request_processing(supplier_id: int) -> bool:
    """Submit this supplier's queued orders soon; False when the queue is unreachable."""
    return nudge(process_supplier, f"supplier-process:{supplier_id}", supplier_id)


def request_due_processing() -> bool:
    """Nudge the job of every supplier with queued orders (after auto-process); False when
    the queue is unreachable (reconcile sends them once it is back)."""
    ids = db.session.scalars(select(SupplierOrder.supplier_id).where(
        SupplierOrder.status == S.PENDING,
        SupplierOrder.process_requested_at.is_not(None)).distinct()).all()
    return all([request_processing(supplier_id) for supplier_id in ids])


@job("suppliers", timeout=1800)
def process_supplier(supplier_id: int) -> str:
    """Submit this supplier's queued orders, resend unanswered ones, carry out cancellations."""
    clear_nudge(f"supplier-process:{supplier_id}")
    supplier = db.session.get(Supplier, supplier_id)
    if supplier is None or not supplier.active:
        return "supplier gone or switched off"
    adapter = _adapter(supplier)
    counts = {"submitted": 0, "error": 0}
    while True:
        send, failed = take_for_submission(supplier_id, limit=BATCH)
        counts["error"] += failed
        db.session.commit()  # submitted before the supplier hears of it: see the module doc
        if not send:
            if failed:
                continue  # a batch that all failed its checks: the next one may not
            break
        _send(supplier, adapter, send, counts)
        counts["submitted"] += len(send)
    stale = unanswered(supplier_id, utcnow() - RESEND_AFTER, limit=BATCH)
    if stale:
        _send(supplier, adapter, stale, counts)
        counts["resent"] = len(stale)
    counts["canceled"] = _cancellations(supplier, adapter)
    return ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "nothing due"


def _send(supplier: Supplier, adapter, orders: list[SupplierOrder], counts: dict) -> None:
    """Call the supplier for these submitted orders and apply its replies."""
    try:
        submission = adapter.submit([purchase_order(so) for so in orders])
        replies = {r.supplier_order_id: r for r in submission.replies}
    except SupplierError as error:
        submission, replies = None, {}
        message = error.message
    else:
        message = "no answer for this order"
    # Read the orders again: an operator may have changed one (asked to cancel it) while
    # the supplier was answering, and a reply applied to the old copy would be refused.
    db.session.commit()
    if submission is not None and submission.file_body is not None:
        _store_file(supplier, orders, submission)
        db.session.commit()  # the file went out: kept whatever happens to the replies
    now = utcnow()
    for so in orders:
        reply = replies.get(so.id) or SupplierReply(so.id, FAILED, message)
        outcome = apply_reply(so, reply, now)
        counts[outcome] = counts.get(outcome, 0) + 1
        # One reply at a time: the door rolls back the transaction of a reply it refuses
        # for a conflict, which must not take the other orders' answers with it.
        db.session.commit()
    supplier.last_error = message if not replies else None
    db.session.commit()


def _store_file(supplier: Supplier, orders: list[SupplierOrder], submission) -> None:
    """Keep a file supplier's purchase order for download, linked to its orders."""
    file = SupplierFile(supplier_id=supplier.id, name=submission.file_name or "purchase-order.csv",
                        body=submission.file_body, rows=len(orders),
                        delivered_at=utcnow() if submission.delivered else None,
                        delivery_error=(submission.delivery_error or "")[:500])
    db.session.add(file)
    db.session.flush()
    for so in orders:
        so.file_id = file.id


def _cancellations(supplier: Supplier, adapter) -> int:
    """Tell the supplier about the cancellations operators asked for."""
    done = 0
    for so in db.session.scalars(select(SupplierOrder).where(
            SupplierOrder.supplier_id == supplier.id,
            SupplierOrder.cancel_requested_at.is_not(None),
            SupplierOrder.status.in_((S.SUBMITTED.value, S.ACCEPTED.value)))).all():
        try:
            reply = adapter.cancel(_query(so))
        except CannotCancel as error:
            finish_cancel(so, told=False, message=error.message)
        except SupplierError as error:
            if error.transient:
                so.last_error = error.message[:500]
                db.session.commit()
                continue
            finish_cancel(so, told=False, message=error.message)
        else:
            if reply.outcome == FAILED:
                so.last_error = (reply.message or "no answer")[:500]
                db.session.commit()
                continue
            if reply.outcome == SHIPPED:
                apply_reply(so, reply)  # too late: it left; the trail says so
            elif reply.outcome == CANCELED:
                finish_cancel(so, told=True)
            else:
                # Their answer shows the order still going ahead (or refused): only a
                # person can make sure it is stopped.
                said = f": {reply.message}" if reply.message else ""
                finish_cancel(so, told=False, message=f"{supplier.name} answered the "
                              f"cancellation with “{reply.outcome}”{said}.")
        db.session.commit()
        done += 1
    return done


def request_sync(supplier_id: int) -> bool:
    """Ask this supplier about its open orders soon."""
    return nudge(sync_supplier, f"supplier-sync:{supplier_id}", supplier_id)


@job("suppliers", timeout=900)
def sync_supplier(supplier_id: int, now: datetime | None = None) -> str:
    """Ask the supplier about its submitted and accepted orders; apply what changed."""
    clear_nudge(f"supplier-sync:{supplier_id}")
    supplier = db.session.get(Supplier, supplier_id)
    if supplier is None or not supplier.active:
        return "supplier gone or switched off"
    now = now or utcnow()
    interval = timedelta(minutes=max(1, supplier.poll_interval_minutes))
    orders = open_orders(supplier_id, now - interval + CHECK_SLACK)
    supplier.last_sync_at = now
    if not orders:
        db.session.commit()
        return "nothing open"
    adapter = _adapter(supplier)
    try:
        replies = adapter.fetch_status([_query(so) for so in orders])
    except SupplierError as error:
        supplier.last_error = error.message[:500]
        db.session.commit()
        return f"failed: {error.message}"
    db.session.commit()  # read the orders again: operators may have changed some meanwhile
    by_id = {so.id: so for so in orders}
    counts: dict[str, int] = {}
    for reply in replies:
        so = by_id.get(reply.supplier_order_id)
        if so is None:
            continue
        if reply.outcome == FAILED:
            # The supplier's answer about this order could not be read: shown on its row.
            so.last_error = (reply.message or "no answer")[:500]
            continue
        outcome = apply_reply(so, reply, now)
        counts[outcome] = counts.get(outcome, 0) + 1
    for so in orders:
        so.last_synced_at = now
    supplier.last_error = None
    db.session.commit()
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no news"


@job("suppliers", timeout=120)
def sync_due_suppliers(now: datetime | None = None) -> int:
    """Every minute: nudge each supplier with work due (queued, unanswered, cancels, polls)."""
    now = now or utcnow()
    nudged = 0
    busy = set(suppliers_with_work(now))
    # A supplier with nothing to ask about is not polled: no job, no call.
    polled = set(suppliers_to_ask(now))
    for supplier in db.session.scalars(select(Supplier).where(Supplier.active.is_(True))):
        if supplier.id in busy:
            nudged += request_processing(supplier.id)
        interval = timedelta(minutes=max(1, supplier.poll_interval_minutes))
        if supplier.id in polled and (
                supplier.last_sync_at is None
                or supplier.last_sync_at + interval - CHECK_SLACK <= now):
            nudged += request_sync(supplier.id)
    return nudged


def suppliers_with_work(now: datetime) -> list[int]:
    """Switched-on suppliers whose process job the database says has something to do."""
    due = or_(
        (SupplierOrder.status == S.PENDING) & SupplierOrder.process_requested_at.is_not(None),
        (SupplierOrder.status == S.SUBMITTED) & SupplierOrder.answered_at.is_(None)
        & (SupplierOrder.submitted_at <= now - RESEND_AFTER),
        SupplierOrder.status.in_((S.SUBMITTED.value, S.ACCEPTED.value))
        & SupplierOrder.cancel_requested_at.is_not(None))
    # A switched-off supplier's job would do nothing: reconcile must not nudge it each minute.
    return list(db.session.scalars(
        select(SupplierOrder.supplier_id).join(Supplier, Supplier.id == SupplierOrder.supplier_id)
        .where(Supplier.active.is_(True), due).distinct()))
