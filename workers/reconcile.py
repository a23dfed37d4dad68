"""The reconcile job: the database says what is due, this re-enqueues it."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import Actor, Order, db, utcnow
from models.intake.news import channels_with_news
from models.intake.tables import ChannelWebhook, CsvImport
from models.orders.operations import restock_order
from models.orders.queries import returned_orders_due_restock
from models.shipping.operations import orders_due_registration
from models.shipping.tables import CarrierWebhook
from workers import job
from workers.channels.jobs import request_news
from workers.channels.jobs import request_webhook_apply as request_channel_webhooks
from workers.imports import check_csv, check_job_id, import_csv, import_job_id
from workers.shipping import apply_webhooks, register_parcels
from workers.suppliers.jobs import request_processing as request_supplier_processing
from workers.suppliers.jobs import suppliers_with_work

# A webhook stored this long ago and still not applied lost its job (Redis restarted).
WEBHOOK_GRACE = timedelta(minutes=1)


@job("default")
def restock_returned_order(order_id: int) -> int:
    """Put a returned order's goods back in stock if that has not happened yet."""
    order = db.session.get(Order, order_id)
    if order is None:
        return 0
    try:
        moved = restock_order(order, Actor.system("reconcile"))
        db.session.commit()
    except IntegrityError:
        # A concurrent copy of this job (or the operator's own move) restocked these
        # lines first: the ledger's unique (line, reason) refused the second restock.
        db.session.rollback()
        return 0
    return len(moved)


@job("default", timeout=120)
def reconcile() -> dict[str, int]:
    """Find work the database says is due and enqueue it (each enqueue is deduplicated)."""
    due = {"restock": 0, "register": 0, "webhooks": 0, "channel_webhooks": 0, "news": 0,
           "csv": 0, "suppliers": 0}
    for order_id in returned_orders_due_restock():
        restock_returned_order.enqueue(order_id, job_id=f"restock-{order_id}")
        due["restock"] += 1
    if orders_due_registration(limit=1):
        register_parcels.enqueue(job_id="register-parcels")
        due["register"] = 1
    stale = utcnow() - WEBHOOK_GRACE
    carriers = db.session.execute(
        select(CarrierWebhook.carrier_id).where(CarrierWebhook.processed_at.is_(None),
                                                CarrierWebhook.received_at < stale)
        .distinct()).scalars().all()
    for carrier_id in carriers:
        apply_webhooks.enqueue(carrier_id, job_id=f"apply-webhooks-{carrier_id}")
        due["webhooks"] += 1
    channels = db.session.execute(
        select(ChannelWebhook.channel_id).where(ChannelWebhook.processed_at.is_(None),
                                                ChannelWebhook.received_at < stale)
        .distinct()).scalars().all()
    for channel_id in channels:
        due["channel_webhooks"] += request_channel_webhooks(channel_id)
    for channel_id in channels_with_news(utcnow()):
        due["news"] += request_news(channel_id)
    # An upload whose job Redis lost would wait for ever; its job id makes this a no-op
    # while the job is still queued or running.
    for import_id, state, user_id in db.session.execute(
            select(CsvImport.id, CsvImport.state, CsvImport.created_by_id)
            .where(CsvImport.state.in_(("checking", "importing")),
                   CsvImport.created_at < stale)):
        if state == "checking":
            check_csv.enqueue(import_id, job_id=check_job_id(import_id))
        else:
            import_csv.enqueue(import_id, user_id, job_id=import_job_id(import_id))
        due["csv"] += 1
    # Supplier orders queued for Process (or cancel) whose job Redis lost.
    for supplier_id in suppliers_with_work(utcnow()):
        due["suppliers"] += request_supplier_processing(supplier_id)
    return due
