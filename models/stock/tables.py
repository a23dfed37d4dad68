"""Stock levels per warehouse and product, and the append-only movement ledger."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import db, utcnow
from models.catalog.products import Product, Warehouse


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
