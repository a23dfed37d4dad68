"""Carrier webhooks: verify on the raw body, store once per delivery id, answer fast.

Nothing is applied here: the stored delivery is applied by a job (workers/shipping.py),
so a carrier's retry storm costs one INSERT each, and a redelivery changes nothing.
"""

from flask import current_app, jsonify, request
from sqlalchemy import select

from models.base import db, utcnow
from models.catalog import Carrier
from models.shipping.tables import CarrierWebhook
from models.small_tables import cached
from workers.carriers import CarrierError, adapter_for
from workers.shipping import carrier_config, request_webhook_apply

from . import bp
from .deliveries import insert_once, kept_headers, store_delivery

MAX_BODY = 1_000_000  # bytes; carriers send one tracking's news, never megabytes
_INSERT = insert_once(CarrierWebhook.__table__, ("carrier_id", "delivery_id"))


def _adapter(code: str):
    """The adapter of the active carrier with this code (cached briefly per process)."""
    def load():
        carrier = db.session.execute(
            select(Carrier).where(Carrier.code == code, Carrier.active.is_(True))
        ).scalar_one_or_none()
        return adapter_for(carrier_config(carrier)) if carrier is not None else None

    return cached(f"carrier_webhook:{code}", load)


def _error(message: str, status: int):
    return jsonify(error=message), status


@bp.post("/carriers/<code>/webhook")
def carrier_webhook(code: str):
    """Take one carrier webhook delivery: 401 unless signed, stored once, applied by a job."""
    if (request.content_length or 0) > MAX_BODY:
        return _error("The body is too large.", 413)
    adapter = _adapter(code)
    if adapter is None:
        return _error(f"No active carrier has the code “{code}”.", 404)
    body = request.get_data(cache=False)
    if not adapter.verify_webhook(request.headers, body):
        return _error("Missing or invalid signature.", 401)
    try:
        delivery = adapter.parse_webhook(request.headers, body)
    except CarrierError as error:
        return _error(f"Unreadable webhook: {error.message}", 400)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _error("The body is not UTF-8.", 400)
    stored = store_delivery(_INSERT, {
        "carrier_id": adapter.config.id, "delivery_id": delivery.delivery_id[:128],
        "headers": kept_headers(request.headers), "body": text,
        "received_at": utcnow(), "result": ""})
    if stored is None:
        return jsonify(status="duplicate", delivery_id=delivery.delivery_id), 200
    if not request_webhook_apply(adapter.config.id):
        current_app.logger.warning("webhook %s stored; Redis down, reconcile will apply it",
                                   delivery.delivery_id)
    return jsonify(status="accepted", delivery_id=delivery.delivery_id), 202
