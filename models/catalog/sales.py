"""Sales channels that send orders, and carriers that deliver them."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Timestamps, db


class Channel(Timestamps, db.Model):
    """A shop or source orders come from, with its forwarding settings."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # manual, api, csv, shopify, woocommerce: decides which adapter polls/pushes.
    kind: Mapped[str] = mapped_column(String(32), default="manual")
    active: Mapped[bool] = mapped_column(default=True)
    # Forward confirmed orders: always / managed (only products we manage) / off.
    forwarding: Mapped[str] = mapped_column(String(16), default="always")
    # Forward when the order is paid, or as soon as it is committed (confirmed).
    forward_when: Mapped[str] = mapped_column(String(16), default="committed")
    auto_process_dropship: Mapped[bool] = mapped_column(default=False)
    poll_interval_minutes: Mapped[int] = mapped_column(default=5)
    base_url: Mapped[str | None] = mapped_column(String(255))
    webhook_secret: Mapped[str | None] = mapped_column(String(255))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    # Parcels of this channel's orders go here when nothing better is known.
    default_carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"))


class Carrier(Timestamps, db.Model):
    """A delivery company, or the shop's own local delivery (no API)."""

    __tablename__ = "carriers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # The slug in its webhook URL: /api/v1/carriers/<code>/webhook.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    # sandbox, aftership, http_json, local: which adapter in workers/carriers/ talks to it.
    kind: Mapped[str] = mapped_column(String(32), default="sandbox")
    local_delivery: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    base_url: Mapped[str | None] = mapped_column(String(255))
    # Adapter settings (URL templates, JSON paths, AfterShip slug); never secrets.
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    # Secrets: written by managers, never shown back in full.
    api_key: Mapped[str | None] = mapped_column(String(255))
    webhook_secret: Mapped[str | None] = mapped_column(String(255))
    last_sync_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
