"""News back to the channel: a shipped order owes its channel its tracking code.

The shipping writer schedules one row per order when it ships; the push job
(workers/channels/jobs.py) reads what is due, calls the channel outside any
transaction, and records each answer here. A row without a tracking code waits
(up to IntakeSettings.news_wait_minutes) and is then reported shipped without one.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from models.actor import Actor
from models.audit import AuditEvent, audit_row
from models.base import db
from models.catalog.sales import Carrier, Channel
from models.orders.tables import Order
from models.shipping.tables import Parcel
from models.small_tables import cached
from models.status import News

from .settings import IntakeSettings
from .tables import ChannelNews

# Channel kinds that hear back (they have an adapter that takes fulfilments); kept equal
# to workers/channels' adapters by a test.
NEWS_KINDS = frozenset({"sandbox", "shopify", "woocommerce"})
NEWS = ChannelNews.__table__
OPEN = (News.WAITING, News.DUE, News.ERROR)


def _channel_kinds() -> dict[int, str]:
    """Channel id -> kind, cached briefly."""
    return cached("channel_kinds", lambda: dict(db.session.execute(
        select(Channel.id, Channel.kind)).all()))


def schedule_news(shipped: list[tuple[int, int]], now: datetime) -> None:
    """Owe each shipped (order_id, channel_id) its channel the news; once per order."""
    kinds = _channel_kinds()
    rows = [{"order_id": order_id, "channel_id": channel_id, "state": News.WAITING.value,
             "shipped_at": now, "next_attempt_at": now, "attempts": 0,
             "idempotency_key": f"codboard-ship-{order_id}"}
            for order_id, channel_id in shipped if kinds.get(channel_id) in NEWS_KINDS]
    if not rows:
        return
    connection = db.session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(dialect.insert(NEWS).on_conflict_do_nothing(
        index_elements=["order_id"]), rows)


@dataclass(frozen=True)
class DueNews:
    """One order's news, ready to send: with its tracking, or without after the wait."""

    order_id: int
    channel_id: int
    external_id: str
    idempotency_key: str
    tracking_number: str | None
    carrier_name: str | None


def due_news(now: datetime, *, channel_id: int | None = None, limit: int = 500) -> list[DueNews]:
    """News to send now: with a tracking code, or without one once the wait is over."""
    wait = timedelta(minutes=IntakeSettings.load().news_wait_minutes)
    query = (select(NEWS.c.order_id, NEWS.c.channel_id, NEWS.c.idempotency_key,
                    NEWS.c.shipped_at, Order.external_id, Parcel.tracking_number, Carrier.name)
             .join(Order, Order.id == NEWS.c.order_id)
             .outerjoin(Parcel, (Parcel.order_id == NEWS.c.order_id) & Parcel.leads.is_(True))
             .outerjoin(Carrier, Carrier.id == func.coalesce(Parcel.carrier_id, Order.carrier_id))
             # A waiting row is looked at on every run: it goes as soon as a tracking code
             # arrives, or when the wait ends.
             .where(or_(NEWS.c.state == News.WAITING,
                        NEWS.c.state.in_(OPEN) & (NEWS.c.next_attempt_at <= now)))
             .order_by(NEWS.c.next_attempt_at, NEWS.c.order_id).limit(limit))
    if channel_id is not None:
        query = query.where(NEWS.c.channel_id == channel_id)
    due = []
    for order_id, ch, key, shipped_at, external_id, tracking, carrier in db.session.execute(query):
        if tracking or shipped_at + wait <= now:
            due.append(DueNews(order_id, ch, external_id, key, tracking or None,
                               carrier if tracking else None))
    return due


def record_sent(order_id: int, tracking_number: str | None, carrier_name: str | None,
                now: datetime) -> None:
    """The channel took the news; the order's trail says so (the per-SKU trails show it)."""
    db.session.execute(update(NEWS).where(NEWS.c.order_id == order_id).values(
        state=News.SENT.value, sent_at=now, attempts=NEWS.c.attempts + 1, last_error=None,
        tracking_number=tracking_number, carrier_name=carrier_name))
    # shown translated: models/stored_text.py
    note = (f"tracking {tracking_number}" + (f" ({carrier_name})" if carrier_name else "")
            if tracking_number else "shipped without a tracking number")
    db.session.add(AuditEvent(**audit_row(order_id, Actor.system("channel-news"), "news",
                                          None, News.SENT.value, f"told the channel: {note}",
                                          now)))


def record_failed(order_id: int, message: str, now: datetime) -> None:
    """The channel refused or did not answer: shown on the order and retried later."""
    retry = timedelta(minutes=IntakeSettings.load().news_retry_minutes)
    db.session.execute(update(NEWS).where(NEWS.c.order_id == order_id).values(
        state=News.ERROR.value, attempts=NEWS.c.attempts + 1, last_error=message[:500],
        next_attempt_at=now + retry))


def channels_with_news(now: datetime) -> list[int]:
    """Channels with news that may be due (for reconcile and the periodic push)."""
    return list(db.session.execute(select(NEWS.c.channel_id).where(or_(
        NEWS.c.state == News.WAITING,
        NEWS.c.state.in_(OPEN) & (NEWS.c.next_attempt_at <= now))).distinct()).scalars())


def news_of(order_id: int) -> ChannelNews | None:
    """The channel side of one order (None: not shipped, or a channel that hears nothing)."""
    return db.session.get(ChannelNews, order_id)
