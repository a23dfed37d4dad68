"""Intake's tables: API keys, channel webhooks, CSV imports, routing rules and the news
each shipped order owes its channel."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import db, utcnow
from models.catalog.products import Product, Warehouse
from models.catalog.sales import Channel


class ApiKey(db.Model):
    """A channel's bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    # The first characters, shown in lists so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    channel: Mapped[Channel] = relationship()


class ChannelWebhook(db.Model):
    """One channel webhook delivery, stored as received and applied later by a job."""

    __tablename__ = "channel_webhooks"
    __table_args__ = (
        UniqueConstraint("channel_id", "delivery_id"),
        Index("ix_channel_webhooks_unapplied", "channel_id", "processed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    delivery_id: Mapped[str] = mapped_column(String(128))
    # Shopify's X-Shopify-Event-Id: every delivery of one merchant action shares it.
    event_id: Mapped[str | None] = mapped_column(String(128), index=True)
    topic: Mapped[str] = mapped_column(String(64), default="")
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    result: Mapped[str] = mapped_column(String(255), default="")


class ChannelNews(db.Model):
    """What a shipped order still owes its channel: tracking (or "shipped" without it).

    One row per order, made by the shipping writer when the order ships; the push job
    sends it with the row's idempotency key and retries until the channel takes it.
    """

    __tablename__ = "channel_news"
    __table_args__ = (Index("ix_channel_news_due", "state", "next_attempt_at"),)

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    # waiting (no tracking yet), due, sent, error (retried until it succeeds)
    state: Mapped[str] = mapped_column(String(16), default="due")
    shipped_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    carrier_name: Mapped[str | None] = mapped_column(String(120))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


class CsvImport(db.Model):
    """One uploaded CSV file: stored, checked by a job, then imported by a job."""

    __tablename__ = "csv_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # checking, checked, importing, imported, failed
    state: Mapped[str] = mapped_column(String(16), default="checking")
    encoding: Mapped[str | None] = mapped_column(String(32))
    delimiter: Mapped[str | None] = mapped_column(String(1))
    total_rows: Mapped[int] = mapped_column(default=0)
    done_rows: Mapped[int] = mapped_column(default=0)
    valid_orders: Mapped[int] = mapped_column(default=0)
    rejected_rows: Mapped[int] = mapped_column(default=0)
    created_orders: Mapped[int] = mapped_column(default=0)
    existing_orders: Mapped[int] = mapped_column(default=0)
    # The first rows as checked (for the preview) and the rejected rows (for the report).
    preview: Mapped[list] = mapped_column(JSON, default=list)
    rejects: Mapped[list] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    channel: Mapped[Channel] = relationship()


class RoutingRule(db.Model):
    """One warehouse routing rule; kinds are tried in a fixed order (models/intake/routing.py).

    channel: orders of channel_id go to warehouse_id; product: product_id is pinned to
    warehouse_id; exclude: warehouse_id never serves product_id (or any product, when
    empty) for channel_id (or any channel); geo: orders to `place` (a city or region,
    compared without case or accents) go to warehouse_id.
    """

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    place: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    warehouse: Mapped[Warehouse] = relationship()
    channel: Mapped[Channel | None] = relationship()
    product: Mapped[Product | None] = relationship()
