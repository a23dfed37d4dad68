"""Orders and their lines: the aggregate every status change goes through."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Timestamps, db
from models.catalog.products import Product, Supplier, Warehouse
from models.catalog.sales import Carrier, Channel
from models.status import CONFIRMATION_INFO, SHIPPING_INFO, Confirmation, DeliveryMode
from models.user import User

# Indexes the models cannot express portably; migrations create them on PostgreSQL
# (a trigram index for substring search on customer names).
DATABASE_ONLY_INDEXES = frozenset({"ix_orders_customer_name_trgm"})


class Order(Timestamps, db.Model):
    """A customer's COD order, from arrival to delivery or return."""

    __tablename__ = "orders"
    __table_args__ = (
        # Every import path (poll, webhook, API, CSV) is idempotent on this pair.
        UniqueConstraint("channel_id", "external_id"),
        # The list sorts newest first on (created_at, id) and pages by keyset; each
        # filter has an index that yields its rows already in that order.
        Index("ix_orders_created", "created_at", "id"),
        # The shipping desk pages confirmed orders oldest confirmation first, usually
        # one shipping status at a time.
        Index("ix_orders_confirmed", "confirmed_at", "id"),
        Index("ix_orders_shipping_confirmed", "shipping_status", "confirmed_at", "id"),
        Index("ix_orders_confirmation_created", "confirmation_status", "created_at", "id"),
        Index("ix_orders_shipping_created", "shipping_status", "created_at", "id"),
        Index("ix_orders_channel_created", "channel_id", "created_at", "id"),
        Index("ix_orders_carrier_created", "carrier_id", "created_at", "id"),
        Index("ix_orders_city_created", "city", "created_at", "id"),
        Index("ix_orders_agent_created", "agent_id", "created_at", "id"),
        Index("ix_orders_phone_normalized", "phone_normalized"),
        Index("ix_orders_external_id", "external_id"),
        # "Not sent" orders, for the operator who sends them by hand.
        Index("ix_orders_push_created", "push_status", "created_at", "id"),
        # The API's "changed since" pages are per channel, keyed on (updated_at, id).
        Index("ix_orders_channel_updated", "channel_id", "updated_at", "id"),
        # The call queue's buckets: due callbacks, and retries by fewest attempts.
        Index("ix_orders_callbacks", "confirmation_status", "callback_at", "id"),
        Index("ix_orders_retries", "confirmation_status", "attempts", "last_attempt_at", "id"),
        # An agent holds at most one order: a second concurrent claim fails here.
        Index("uq_orders_one_claim_per_agent", "claimed_by_id", unique=True,
              sqlite_where=text("claimed_by_id IS NOT NULL"),
              postgresql_where=text("claimed_by_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    customer_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(64))
    phone_normalized: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    region: Mapped[str] = mapped_column(String(120), default="")
    cod_amount_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="MAD")
    confirmation_status: Mapped[str] = mapped_column(String(16), default=Confirmation.NEW.value)
    shipping_status: Mapped[str | None] = mapped_column(String(16))
    delivery_mode: Mapped[str] = mapped_column(String(16), default=DeliveryMode.CARRIER.value)
    carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    callback_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The last agent who recorded a call outcome: "whose order" in lists and boards.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(String(1000), default="")
    # The channel's shipping rate name ("Free Shipping"), for suppliers' method mappings.
    shipping_method: Mapped[str] = mapped_column(String(120), default="", server_default="")
    # Whether the order went on to confirmation: sent / not_sent / error (models/status.py),
    # and why not.
    push_status: Mapped[str] = mapped_column(String(16), default="sent", server_default="sent")
    push_detail: Mapped[str] = mapped_column(String(255), default="", server_default="")
    paid: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # The channel canceled the order after it was confirmed: an operator decides.
    channel_canceled_at: Mapped[datetime | None]
    # What the boards measure (models/boards/rollups.py): when an agent first recorded
    # an outcome (speed to lead), when the shipping status last changed (overdue payouts),
    # and what the carrier's remittance statement said of its cash.
    first_call_at: Mapped[datetime | None]
    shipping_changed_at: Mapped[datetime | None]
    remittance: Mapped[str] = mapped_column(String(16), default="", server_default="")
    remitted_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    remittance_fees_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    # Optimistic lock: every UPDATE checks and bumps it, so concurrent edits
    # fail loudly instead of overwriting each other.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    channel: Mapped[Channel] = relationship()
    carrier: Mapped[Carrier | None] = relationship()
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    agent: Mapped[User | None] = relationship(foreign_keys=[agent_id])
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )

    @property
    def reference(self) -> str:
        """The order number people quote on the phone."""
        return f"#{self.id}"

    @property
    def confirmation_info(self):
        """Label and colour of the confirmation status."""
        return CONFIRMATION_INFO[self.confirmation_status]

    @property
    def shipping_info(self):
        """Label and colour of the shipping status, or None before confirmation."""
        return SHIPPING_INFO.get(self.shipping_status) if self.shipping_status else None

    @property
    def total_cents(self) -> int:
        """Sum of the lines (the COD amount may add shipping)."""
        return sum(line.quantity * line.unit_price_cents for line in self.lines)


class OrderLine(db.Model):
    """One product on an order, served from a warehouse or a dropship supplier."""

    __tablename__ = "order_lines"
    # The orders list filtered by supplier finds an order's dropship lines by supplier.
    __table_args__ = (Index("ix_order_lines_supplier", "supplier_id", "order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    unit_price_cents: Mapped[int] = mapped_column(default=0)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    # Which routing rule chose the warehouse or supplier ("geography: Casablanca").
    routed_by: Mapped[str] = mapped_column(String(120), default="", server_default="")

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product | None] = relationship()
    warehouse: Mapped[Warehouse | None] = relationship()
    supplier: Mapped[Supplier | None] = relationship()

    @property
    def is_dropship(self) -> bool:
        """A supplier ships this line; it never touches our stock."""
        return self.supplier_id is not None
