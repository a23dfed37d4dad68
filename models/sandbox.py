"""The sandbox carrier's own records: the other side of the wire, not codboard's data.

The `sandbox` blueprint plays a carrier over real HTTP for the demo and the tests;
it keeps what a carrier would keep in its own table, which codboard's code never reads.
"""

from datetime import datetime

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db, utcnow


class SandboxParcel(db.Model):
    """A parcel as the sandbox carrier knows it, with the journey it will follow."""

    __tablename__ = "sandbox_parcels"

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_number: Mapped[str] = mapped_column(String(64), unique=True)
    # The shipper's idempotency key: a repeated registration returns this parcel.
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    api_key: Mapped[str] = mapped_column(String(255))
    reference: Mapped[str] = mapped_column(String(64), default="")
    # delivered, failed_then_delivered, refused_return: picked from the seed.
    journey: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    picked_up_at: Mapped[datetime | None]
    canceled_at: Mapped[datetime | None]
    callback_url: Mapped[str | None] = mapped_column(String(500))
    # How many journey events were already pushed to callback_url.
    pushed: Mapped[int] = mapped_column(default=0)


class SandboxShopOrder(db.Model):
    """An order as the sandbox marketplace knows it, in the marketplace's own shape."""

    __tablename__ = "sandbox_shop_orders"
    __table_args__ = (Index("ix_sandbox_shop_orders_changed", "updated_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    api_key: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # open, canceled, fulfilled
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the shop was told when it shipped, and the key that made it once.
    fulfilment: Mapped[dict | None] = mapped_column(JSON)
    fulfilment_key: Mapped[str | None] = mapped_column(String(128))


class SandboxSupplierOrder(db.Model):
    """An order as the sandbox dropship supplier knows it: accepted or refused, then shipped."""

    __tablename__ = "sandbox_supplier_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The supplier's own order number, given back to the shop.
    number: Mapped[str] = mapped_column(String(32), unique=True)
    # The shop's idempotency key: a repeated submission returns this order.
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    api_key: Mapped[str] = mapped_column(String(255))
    reference: Mapped[str] = mapped_column(String(64), default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # accepted, rejected, shipped, canceled
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When it leaves the supplier's warehouse (then it has a tracking number).
    ships_at: Mapped[datetime | None]
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    carrier: Mapped[str | None] = mapped_column(String(64))
    canceled_at: Mapped[datetime | None]
