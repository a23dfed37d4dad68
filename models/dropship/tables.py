"""Supplier orders: a confirmed order's dropship lines, one order per supplier.

A supplier order keeps its own copy of where the goods go (name, phone, address), so
a Resolve can correct what a supplier refused without touching the customer's order,
and its own lines with the supplier's SKU and cost as they were sent.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Timestamps, db, utcnow
from models.catalog.products import Supplier
from models.orders.tables import Order, OrderLine
from models.status import SUPPLIER_INFO, SupplierStatus


class SupplierOrder(Timestamps, db.Model):
    """One supplier's share of a confirmed order, from pending to shipped."""

    __tablename__ = "supplier_orders"
    __table_args__ = (
        # The split is keyed on it: a repeated confirmation finds the rows it made.
        UniqueConstraint("order_id", "supplier_id"),
        # Order History and the Orders screen sort newest first on (created_at, id) and
        # page by keyset; each filter has an index yielding rows in that order.
        Index("ix_supplier_orders_created", "created_at", "id"),
        Index("ix_supplier_orders_status_created", "status", "created_at", "id"),
        Index("ix_supplier_orders_supplier_created", "supplier_id", "created_at", "id"),
        Index("ix_supplier_orders_channel_created", "channel_id", "created_at", "id"),
        # The process job takes one supplier's requested rows.
        Index("ix_supplier_orders_due", "supplier_id", "status", "process_requested_at"),
        Index("ix_supplier_orders_batch", "batch"),
        Index("ix_supplier_orders_tracking", "tracking_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    # The order's channel, copied so History filters by channel on one index.
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    status: Mapped[str] = mapped_column(String(16), default=SupplierStatus.PENDING.value)
    # Sent with every submission: a supplier that sees it again answers with the order
    # it already made instead of making a second one.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    # Where the goods go, as sent (copied from the order at the split; a Resolve edits it).
    customer_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(500), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    region: Mapped[str] = mapped_column(String(120), default="")
    # The supplier's shipping method ("UPS Ground"), from the shipping mappings.
    shipping_method: Mapped[str] = mapped_column(String(120), default="")
    cost_cents: Mapped[int] = mapped_column(default=0)
    # Why it is in error: the supplier's message or the local check that failed.
    error: Mapped[str] = mapped_column(String(500), default="")
    # check (ours, before sending), supplier (their refusal), or "" (no error).
    error_source: Mapped[str] = mapped_column(String(16), default="")
    # The last failed attempt to reach the supplier (retried with the same key).
    last_error: Mapped[str] = mapped_column(String(500), default="")
    supplier_ref: Mapped[str | None] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    carrier_name: Mapped[str | None] = mapped_column(String(120))
    # Process pressed (or auto-process): the supplier's job submits it.
    process_requested_at: Mapped[datetime | None]
    process_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A bulk Process's rows share a batch id: its progress counts them.
    batch: Mapped[str | None] = mapped_column(String(32))
    # Cancel asked of a submitted order: the job tells the supplier.
    cancel_requested_at: Mapped[datetime | None]
    cancel_reason: Mapped[str] = mapped_column(String(255), default="")
    # The supplier could not be told by its API: someone must cancel it with them.
    manual_follow_up: Mapped[bool] = mapped_column(default=False)
    submitted_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    # The purchase-order file it went out in (file suppliers).
    file_id: Mapped[int | None] = mapped_column(ForeignKey("supplier_files.id"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    order: Mapped[Order] = relationship()
    supplier: Mapped[Supplier] = relationship()
    lines: Mapped[list["SupplierOrderLine"]] = relationship(
        back_populates="supplier_order", cascade="all, delete-orphan",
        order_by="SupplierOrderLine.id")

    @property
    def info(self):
        """Label and colour of the status."""
        return SUPPLIER_INFO[self.status]

    @property
    def reference(self) -> str:
        """What the supplier sees as our order number: the order and the supplier order."""
        return f"#{self.order_id}-{self.id}"


class SupplierOrderLine(db.Model):
    """One order line as the supplier gets it: their SKU, the quantity and our cost."""

    __tablename__ = "supplier_order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_order_id: Mapped[int] = mapped_column(ForeignKey("supplier_orders.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), unique=True)
    sku: Mapped[str] = mapped_column(String(64))  # ours
    # The supplier's SKU; empty while the product has no mapping (a local check fails).
    supplier_sku: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    quantity: Mapped[int]
    unit_cost_cents: Mapped[int] = mapped_column(default=0)

    supplier_order: Mapped[SupplierOrder] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship()


class ShippingMapping(db.Model):
    """A channel's shipping rate name ("Livraison gratuite") → the supplier's method."""

    __tablename__ = "supplier_shipping_mappings"
    __table_args__ = (UniqueConstraint("supplier_id", "rate_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    rate_name: Mapped[str] = mapped_column(String(120))
    # rate_name folded (case, accents, spaces), which is what is matched.
    rate_key: Mapped[str] = mapped_column(String(120))
    method: Mapped[str] = mapped_column(String(120))


class SupplierFile(db.Model):
    """A purchase-order CSV made for a file supplier: one per batch, downloadable."""

    __tablename__ = "supplier_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Posted to the supplier's drop URL, when it has one.
    delivered_at: Mapped[datetime | None]
    delivery_error: Mapped[str] = mapped_column(String(500), default="")
    downloaded_at: Mapped[datetime | None]


__all__ = ["ShippingMapping", "SupplierFile", "SupplierOrder", "SupplierOrderLine"]
