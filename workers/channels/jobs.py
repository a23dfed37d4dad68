"""Channel jobs: poll each channel on its interval, apply its webhooks, tell it what shipped.

One job per channel and batch (a page of orders, a channel's pending webhooks, a
channel's due news), never one per order. Each job commits before it calls the
channel and records each answer as it comes, so a job killed midway is simply run again.
"""

from datetime import datetime, timedelta

from flask import current_app
from rq import Retry
from sqlalchemy import select

from models.base import db, utcnow
from models.catalog.sales import Channel
from models.crypto import open_settings
from models.errors import Conflict
from models.intake.channel_orders import apply_channel_orders
from models.intake.news import channels_with_news, due_news, record_failed, record_sent
from models.intake.tables import ChannelWebhook
from workers import clear_nudge, job, nudge

from . import ADAPTERS, ChannelConfig, ChannelError, Fulfilment, adapter_for

RETRY = Retry(max=4, interval=[10, 60, 300, 900])
MAX_PAGES = 20  # pages one sync takes; the next run goes on from the stored cursor
WEBHOOKS_PER_JOB = 500
NEWS_PER_JOB = 500
CHECK_SLACK = timedelta(seconds=30)


def channel_config(channel: Channel) -> ChannelConfig:
    """A plain copy of a channel's row, for an adapter."""
    return ChannelConfig(
        id=channel.id, code=channel.code, name=channel.name, kind=channel.kind,
        base_url=channel.base_url, api_key=channel.api_key, api_secret=channel.api_secret,
        webhook_secret=channel.webhook_secret, settings=open_settings(channel.settings),
        timeout=current_app.config["HTTP_TIMEOUT"])


# -- polling --------------------------------------------------------------------------

def request_sync(channel_id: int) -> bool:
    """Sync one channel now (the Sync now button); False when the queue is unreachable."""
    return nudge(sync_channel, f"sync-channel:{channel_id}", channel_id)


@job("channels", timeout=120)
def sync_due_channels(now: datetime | None = None) -> int:
    """Every minute: enqueue a sync for each pollable channel whose interval has passed."""
    now = now or utcnow()
    due = 0
    for channel in db.session.execute(select(Channel).where(
            Channel.active.is_(True), Channel.kind.in_(tuple(ADAPTERS)))).scalars():
        interval = timedelta(minutes=max(1, channel.poll_interval_minutes))
        # The check runs once a minute: a sync that ended a few seconds past the minute
        # is due at the next check, not the one after.
        if channel.last_sync_at is None or channel.last_sync_at + interval - CHECK_SLACK <= now:
            due += request_sync(channel.id)
    return due


@job("channels", timeout=600)
def sync_channel(channel_id: int) -> str:
    """Fetch the channel's orders changed since its cursor, page by page, and apply them."""
    clear_nudge(f"sync-channel:{channel_id}")
    channel = db.session.get(Channel, channel_id)
    if channel is None or not channel.active or channel.kind not in ADAPTERS:
        return "nothing to poll"
    adapter = adapter_for(channel_config(channel))
    created = pages = 0
    cursor = channel.sync_cursor
    db.session.commit()  # no transaction is held open over the network
    while pages < MAX_PAGES:
        try:
            page = adapter.fetch_orders(cursor)
        except ChannelError as error:
            _record_failure(channel_id, error.message)
            return f"failed: {error.message}"
        channel = db.session.get(Channel, channel_id)
        try:
            applied = apply_channel_orders(channel, page.orders)
        except Conflict:
            db.session.rollback()
            raise  # an order moved underneath: the next run reads this page again
        channel.sync_cursor, cursor = page.cursor, page.cursor
        channel.orders_imported += applied.created
        db.session.commit()
        pages += 1
        created += applied.created
        if not page.more:
            break
    _record_success(channel_id)
    return f"{pages} page(s), {created} new order(s)"


def _record_failure(channel_id: int, message: str) -> None:
    """Show the failure on the channel until a sync succeeds."""
    db.session.rollback()
    channel = db.session.get(Channel, channel_id)
    now = utcnow()
    channel.last_sync_at, channel.last_error = now, message[:500]
    channel.failing_since = channel.failing_since or now
    db.session.commit()


def _record_success(channel_id: int) -> None:
    """A sync went through: the channel is healthy again."""
    channel = db.session.get(Channel, channel_id)
    now = utcnow()
    channel.last_sync_at = channel.last_success_at = now
    channel.last_error, channel.failing_since = None, None
    db.session.commit()


# -- webhooks -------------------------------------------------------------------------

def request_webhook_apply(channel_id: int) -> bool:
    """Nudge the apply job for this channel's stored webhooks."""
    return nudge(apply_channel_webhooks, f"channel-webhooks:{channel_id}", channel_id)


@job("channels", timeout=600, retry=RETRY)
def apply_channel_webhooks(channel_id: int) -> str:
    """Apply this channel's stored webhook deliveries, oldest first, as one batch."""
    clear_nudge(f"channel-webhooks:{channel_id}")
    channel = db.session.get(Channel, channel_id)
    if channel is None or channel.kind not in ADAPTERS:
        return "nothing to apply"
    adapter = adapter_for(channel_config(channel))
    pending = db.session.execute(
        select(ChannelWebhook).where(ChannelWebhook.channel_id == channel_id,
                                     ChannelWebhook.processed_at.is_(None))
        .order_by(ChannelWebhook.id).limit(WEBHOOKS_PER_JOB)).scalars().all()
    if not pending:
        return "nothing pending"
    orders = []
    for hook in pending:
        try:
            orders.extend(adapter.parse_webhook(hook.headers, hook.body.encode()).orders)
            hook.result = "applied"
        except ChannelError as error:
            hook.result = f"unreadable: {error.message}"[:255]
        hook.processed_at = utcnow()
    try:
        applied = apply_channel_orders(channel, orders)
    except Conflict:
        db.session.rollback()
        raise  # an order moved underneath: RQ retries the whole batch
    summary = (f"{applied.created} new, {applied.canceled} canceled, "
               f"{applied.flagged} flagged, {applied.sent} sent on")
    for hook in pending:
        if hook.result == "applied":
            hook.result = summary
    channel.orders_imported += applied.created
    db.session.commit()
    if len(pending) == WEBHOOKS_PER_JOB:
        request_webhook_apply(channel_id)
    return f"{len(pending)} deliveries: {summary}"


# -- news back ------------------------------------------------------------------------

def request_news(channel_id: int) -> bool:
    """Nudge the push job of one channel."""
    return nudge(push_news, f"news:{channel_id}", channel_id)


@job("channels", timeout=120)
def push_all_news(now: datetime | None = None) -> int:
    """Every few minutes: a push job for each channel with news due (retries included)."""
    channels = channels_with_news(now or utcnow())
    for channel_id in channels:
        request_news(channel_id)
    return len(channels)


@job("channels", timeout=600)
def push_news(channel_id: int, now: datetime | None = None) -> str:
    """Tell one channel which of its orders shipped, with tracking when known.

    Each order's news carries its own idempotency key, so a push retried after a
    timeout never makes a second fulfilment; failures stay due and are retried.
    """
    clear_nudge(f"news:{channel_id}")
    now = now or utcnow()
    channel = db.session.get(Channel, channel_id)
    if channel is None or channel.kind not in ADAPTERS:
        return "nobody to tell"
    adapter = adapter_for(channel_config(channel))
    due = due_news(now, channel_id=channel_id, limit=NEWS_PER_JOB)
    db.session.commit()  # no transaction is held open over the network
    sent = failed = 0
    for news in due:
        try:
            adapter.push_fulfilment(Fulfilment(
                external_id=news.external_id, idempotency_key=news.idempotency_key,
                tracking_number=news.tracking_number, carrier_name=news.carrier_name))
        except ChannelError as error:
            record_failed(news.order_id, f"{channel.name}: {error.message}", now)
            failed += 1
        else:
            record_sent(news.order_id, news.tracking_number, news.carrier_name, now)
            sent += 1
        db.session.commit()
    return f"{sent} sent, {failed} failed"
