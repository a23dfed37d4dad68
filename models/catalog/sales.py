"""Sales channels that send orders, and carriers that deliver them."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Timestamps, db
from models.crypto import EncryptedText


class Channel(Timestamps, db.Model):
    """A shop or source orders come from, with its forwarding settings."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # The slug in its webhook URL: /api/v1/channels/<code>/webhook.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    # manual, api, csv, sandbox, shopify, woocommerce: which adapter polls and pushes.
    kind: Mapped[str] = mapped_column(String(32), default="manual")
    active: Mapped[bool] = mapped_column(default=True)
    # Send arriving orders on: always / managed (only when every product is in the
    # catalogue) / off (an operator sends them by hand).
    forwarding: Mapped[str] = mapped_column(String(16), default="always")
    # Send when the channel says the order is paid, or as soon as it is committed to buy.
    forward_when: Mapped[str] = mapped_column(String(16), default="committed")
    # agent: sent orders go to the call queue (COD); system: prepaid orders are
    # confirmed by the system and skip the call.
    confirm_by: Mapped[str] = mapped_column(String(16), default="agent",
                                            server_default="agent")
    # Dropship orders: off (an operator presses Process), managed (submitted when every
    # line is mapped and valid), always (submitted; what fails lands in error).
    dropship_process: Mapped[str] = mapped_column(String(16), default="off",
                                                  server_default="off")
    poll_interval_minutes: Mapped[int] = mapped_column(default=5)
    base_url: Mapped[str | None] = mapped_column(String(255))
    # Adapter settings (API version, shop domain); never secrets.
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    # Secrets: written by managers, never shown back in full, stored encrypted
    # (models/crypto.py). api_secret is the second half of a key pair (WooCommerce's
    # consumer secret).
    api_key: Mapped[str | None] = mapped_column(EncryptedText)
    api_secret: Mapped[str | None] = mapped_column(EncryptedText)
    webhook_secret: Mapped[str | None] = mapped_column(EncryptedText)
    # Parcels of this channel's orders go here when nothing better is known.
    default_carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"))
    # Polling: where the last page ended, and the channel's health.
    # Text: a platform's page token (Shopify's page_info) has no documented length.
    sync_cursor: Mapped[str | None] = mapped_column(Text)
    last_sync_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    # Orders its polling and webhooks brought in (people-fed paths are counted by their
    # own screens: CSV uploads, the API's answers).
    orders_imported: Mapped[int] = mapped_column(default=0, server_default="0")


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
    api_key: Mapped[str | None] = mapped_column(EncryptedText)
    webhook_secret: Mapped[str | None] = mapped_column(EncryptedText)
    last_sync_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
