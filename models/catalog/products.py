"""Products, warehouses and dropship suppliers with their SKU mappings."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Timestamps, db
from models.crypto import EncryptedText


class Warehouse(Timestamps, db.Model):
    """A place stock is kept and parcels leave from."""

    __tablename__ = "warehouses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(120), default="")
    active: Mapped[bool] = mapped_column(default=True)
    # Routing tries warehouses by priority (lowest first) after the specific rules;
    # the catch-all takes what no warehouse with stock could.
    priority: Mapped[int] = mapped_column(default=100, server_default="100")
    catch_all: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class Supplier(Timestamps, db.Model):
    """A dropship supplier that ships some products on the shop's behalf."""

    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # sandbox, http_json, csv: which adapter in workers/suppliers/ talks to it.
    kind: Mapped[str] = mapped_column(String(32), default="sandbox")
    active: Mapped[bool] = mapped_column(default=True)
    base_url: Mapped[str | None] = mapped_column(String(255))
    # Adapter settings (endpoint paths, field and status mappings); never secrets.
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    # The bearer token its API wants: written by managers, never shown back in full,
    # stored encrypted (models/crypto.py).
    api_key: Mapped[str | None] = mapped_column(EncryptedText)
    # The method used when no shipping mapping matches the order's rate name.
    default_shipping_method: Mapped[str] = mapped_column(String(120), default="",
                                                         server_default="")
    # Operators may change quantities, address and method before submission.
    edit_before_submit: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    # Orders it accepted are asked about this often (shipped? tracking?).
    poll_interval_minutes: Mapped[int] = mapped_column(default=5, server_default="5")
    last_sync_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


class Product(Timestamps, db.Model):
    """A sellable item, identified by SKU."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    price_cents: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # Set for a dropship product: its lines go to this supplier, never to our stock.
    dropship_supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))


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
