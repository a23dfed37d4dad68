"""Channel webhooks: verify on the raw body, store once per delivery, answer fast.

Nothing is applied here: a job (workers/channels/jobs.py) applies stored deliveries in
batches, so a platform's retry storm costs one INSERT each and a redelivery changes
nothing. Shopify marks redeliveries by X-Shopify-Webhook-Id and one merchant action's
deliveries by X-Shopify-Event-Id: a repeat of either is a duplicate.
"""

from flask import current_app, jsonify, request
from sqlalchemy import exists, select

from models.base import db, utcnow
from models.catalog.sales import Channel
from models.intake.tables import ChannelWebhook
from models.small_tables import cached
from workers.channels import ChannelError, adapter_for
from workers.channels.jobs import channel_config, request_webhook_apply

from . import bp
from .deliveries import insert_once, kept_headers, store_delivery

MAX_BODY = 2_000_000  # bytes; one order with its lines, never more
HOOKS = ChannelWebhook.__table__
_INSERT = insert_once(HOOKS, ("channel_id", "delivery_id"))


def _adapter(code: str):
    """The adapter of the active channel with this code (cached briefly per process)."""
    def load():
        channel = db.session.execute(
            select(Channel).where(Channel.code == code, Channel.active.is_(True))
        ).scalar_one_or_none()
        return adapter_for(channel_config(channel)) if channel is not None else None

    return cached(f"channel_webhook:{code}", load)


def _error(message: str, status: int):
    return jsonify(error=message, fields=[]), status


@bp.post("/channels/<code>/webhook")
def channel_webhook(code: str):
    """Take one channel webhook delivery: 401 unless signed, stored once, applied by a job."""
    if (request.content_length or 0) > MAX_BODY:
        return _error("The body is too large.", 413)
    adapter = _adapter(code)
    if adapter is None:
        return _error(f"No active channel with webhooks has the code “{code}”.", 404)
    body = request.get_data(cache=False)
    if not adapter.verify_webhook(request.headers, body):
        return _error("Missing or invalid signature.", 401)
    try:
        delivery = adapter.parse_webhook(request.headers, body)
        text = body.decode("utf-8")
    except ChannelError as error:
        return _error(f"Unreadable webhook: {error.message}", 400)
    except UnicodeDecodeError:
        return _error("The body is not UTF-8.", 400)
    channel_id = adapter.config.id
    event_id = (delivery.event_id or "")[:128] or None
    seen = None if event_id is None else select(exists().where(
        HOOKS.c.channel_id == channel_id, HOOKS.c.event_id == event_id))
    stored = store_delivery(_INSERT, {
        "channel_id": channel_id, "delivery_id": delivery.delivery_id[:128],
        "event_id": event_id, "topic": delivery.topic[:64],
        "headers": kept_headers(request.headers), "body": text,
        "received_at": utcnow(), "result": ""}, seen=seen)
    if stored is None:
        return jsonify(status="duplicate", delivery_id=delivery.delivery_id), 200
    if not request_webhook_apply(channel_id):
        current_app.logger.warning("channel webhook %s stored; Redis down, reconcile applies it",
                                   delivery.delivery_id)
    return jsonify(status="accepted", delivery_id=delivery.delivery_id), 202
