"""Products, warehouses, stock levels and the stock-movement ledger; suppliers."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Timestamps, db, utcnow


class Warehouse(Timestamps, db.Model):
    """A place stock is kept and parcels leave from."""

    __tablename__ = "warehouses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(120), default="")
    active: Mapped[bool] = mapped_column(default=True)


class Supplier(Timestamps, db.Model):
    """A dropship supplier that ships some products on the shop's behalf."""

    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="sandbox")
    active: Mapped[bool] = mapped_column(default=True)
    base_url: Mapped[str | None] = mapped_column(String(255))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)


class Product(Timestamps, db.Model):
    """A sellable item, identified by SKU."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    price_cents: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class SupplierSku(db.Model):
    """Maps one of our products to a supplier's SKU (and cost) for dropship."""

    __tablename__ = "supplier_skus"
    __table_args__ = (UniqueConstraint("supplier_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    supplier_sku: Mapped[str] = mapped_column(String(64))
    cost_cents: Mapped[int] = mapped_column(default=0)
    shipping_method: Mapped[str | None] = mapped_column(String(64))

    supplier: Mapped[Supplier] = relationship()
    product: Mapped[Product] = relationship()


class StockLevel(db.Model):
    """On-hand quantity of a product in a warehouse; kept equal to its ledger sum."""

    __tablename__ = "stock_levels"
    __table_args__ = (UniqueConstraint("warehouse_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    on_hand: Mapped[int] = mapped_column(default=0)

    warehouse: Mapped[Warehouse] = relationship()
    product: Mapped[Product] = relationship()


class StockMovement(db.Model):
    """One signed change to a stock level, with its reason; the ledger is append-only."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        # An order line is reserved at most once and restocked at most once, so
        # a retried or duplicated job cannot move its stock a second time.
        UniqueConstraint("order_line_id", "reason"),
        CheckConstraint("quantity <> 0", name="nonzero"),
        Index("ix_stock_movements_wh_product", "warehouse_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]
    # receive, adjust, reserve (taken at confirmation), restock (back from a return)
    reason: Mapped[str] = mapped_column(String(16))
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    warehouse: Mapped[Warehouse] = relationship()
    product: Mapped[Product] = relationship()
