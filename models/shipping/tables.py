"""Parcels, their timeline of carrier events, raw webhook deliveries, and carrier rules.

Carrier detail lives here, never on `orders`: only `orders.shipping_status` moves on
the order (through the one door), so a tracking update rewrites none of its indexes.
"""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Timestamps, db, utcnow
from models.catalog import Carrier
from models.small_tables import watch

# How a parcel's carrier was chosen (detection.py); an operator can override.
DETECTED_BY = ("order", "rule", "pattern", "channel", "operator")
# What happened to one carrier event on our side.
APPLIED, NO_CHANGE, STALE, REFUSED, UNMAPPED, IGNORED, UNKNOWN_PARCEL = (
    "applied", "no_change", "stale", "refused", "unmapped", "ignored", "unknown_parcel")
EVENT_SOURCES = ("api", "webhook", "manual", "scan")


class Parcel(Timestamps, db.Model):
    """What one carrier knows about one order's parcel: its tracking number and last news."""

    __tablename__ = "parcels"
    __table_args__ = (
        # Webhooks and scans find a parcel by its carrier's tracking number.
        Index("ix_parcels_tracking", "tracking_number"),
        # Tracking sync walks one carrier's unfinished parcels, least recently synced first.
        Index("ix_parcels_sync", "carrier_id", "final", "last_synced_at"),
        # One parcel of our own per order: registration is keyed on it, so a retried
        # job finds the row. Suppliers' parcels (dropship) are extra, one per supplier order.
        Index("uq_parcels_own_order", "order_id", unique=True,
              sqlite_where=text("supplier_order_id IS NULL"),
              postgresql_where=text("supplier_order_id IS NULL")),
        Index("ix_parcels_order", "order_id"),
        # The desk counts failing parcels on every poll; few fail, so the index stays tiny.
        Index("ix_parcels_failing", "order_id",
              sqlite_where=text("last_error IS NOT NULL"),
              postgresql_where=text("last_error IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    # Set for a parcel a dropship supplier sent: its tracking number came from them.
    supplier_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("supplier_orders.id"), unique=True)
    # Its carrier events move the order's shipping status: our own parcel, or the first
    # supplier parcel of an order with no lines from our stock. Others are followed and
    # shown beside their supplier order only.
    leads: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    label_url: Mapped[str | None] = mapped_column(String(500))
    # Sent with every registration attempt: the carrier answers a repeat with the
    # parcel it already made instead of making a second one.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    registered_at: Mapped[datetime | None]
    # When the carrier was told the parcel is packed (pickup request); until then a
    # Fulfilled scan can still be undone.
    handed_over_at: Mapped[datetime | None]
    # When the carrier confirmed cancelling it (the order was canceled before it left).
    carrier_canceled_at: Mapped[datetime | None]
    carrier_status: Mapped[str | None] = mapped_column(String(64))
    carrier_status_text: Mapped[str | None] = mapped_column(String(255))
    # The carrier time of the newest applied event: anything older arriving later is stale.
    last_event_at: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_error_at: Mapped[datetime | None]
    # No carrier can move it any more (returned, canceled, in return): sync skips it.
    final: Mapped[bool] = mapped_column(default=False)
    detected_by: Mapped[str] = mapped_column(String(16), default="order")
    detection_confidence: Mapped[int] = mapped_column(default=100)  # percent

    carrier: Mapped[Carrier | None] = relationship()


class ParcelEvent(db.Model):
    """One carrier scan (or operator move) on a parcel's timeline, applied or not and why."""

    __tablename__ = "parcel_events"
    __table_args__ = (
        # A redelivered webhook or a repeated sync row is the same event: stored once.
        UniqueConstraint("parcel_id", "dedupe_key"),
        Index("ix_parcel_events_parcel_time", "parcel_id", "occurred_at"),
        Index("ix_parcel_events_unmapped", "carrier_id", "outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"))
    carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(16))  # api, webhook, manual, scan
    raw_code: Mapped[str] = mapped_column(String(64), default="")
    raw_text: Mapped[str] = mapped_column(String(255), default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    maps_to: Mapped[str | None] = mapped_column(String(16))  # a shipping status, or None
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(255), default="")
    dedupe_key: Mapped[str] = mapped_column(String(128))


class CarrierWebhook(db.Model):
    """A webhook delivery as received (raw body), applied later by a job."""

    __tablename__ = "carrier_webhooks"
    __table_args__ = (
        # Carriers redeliver: the same delivery id is stored once and applied once.
        UniqueConstraint("carrier_id", "delivery_id"),
        Index("ix_carrier_webhooks_pending", "carrier_id", "processed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"))
    delivery_id: Mapped[str] = mapped_column(String(128))
    # The request's headers (lower-case names), which some carriers' parsers read.
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    result: Mapped[str] = mapped_column(String(255), default="")


class CarrierStatusMapping(db.Model):
    """A manager's rule: this carrier's raw status (code or text) means one of our statuses.

    `maps_to` is a shipping status value or "ignore"; a status with no row is unmapped:
    recorded on the timeline and listed for mapping, never guessed.
    """

    __tablename__ = "carrier_status_mappings"
    __table_args__ = (UniqueConstraint("carrier_id", "raw_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"))
    raw_status: Mapped[str] = mapped_column(String(64))
    maps_to: Mapped[str] = mapped_column(String(16))


class TrackingRule(db.Model):
    """A user's rule for telling the carrier from a tracking code (checked before patterns)."""

    __tablename__ = "tracking_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"))
    kind: Mapped[str] = mapped_column(String(8))  # prefix, suffix, regex
    pattern: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)  # lower first

    carrier: Mapped[Carrier] = relationship()


__all__ = [
    "APPLIED", "DETECTED_BY", "EVENT_SOURCES", "IGNORED", "NO_CHANGE", "REFUSED", "STALE",
    "UNKNOWN_PARCEL", "UNMAPPED", "CarrierStatusMapping", "CarrierWebhook", "Parcel",
    "ParcelEvent", "TrackingRule",
]


watch(Carrier, CarrierStatusMapping)  # webhook intake caches carriers' adapters
