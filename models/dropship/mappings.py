"""Supplier mappings: our SKU → theirs (with cost), a channel's rate name → their method."""

from sqlalchemy import select

from models.base import db
from models.catalog.products import Supplier, SupplierSku
from models.text import without_accents

from .tables import ShippingMapping


def fold(name: str) -> str:
    """A rate name as matched: case, accents and spacing ignored ("Livraison  Gratuite")."""
    bare = without_accents(name or "")
    return " ".join(bare.casefold().split())[:120]


def sku_map(supplier_ids, product_ids) -> dict[tuple[int, int], SupplierSku]:
    """(supplier, product) → its mapping, for these suppliers and products."""
    if not supplier_ids or not product_ids:
        return {}
    rows = db.session.execute(select(SupplierSku).where(
        SupplierSku.supplier_id.in_(set(supplier_ids)),
        SupplierSku.product_id.in_(set(product_ids)))).scalars()
    return {(m.supplier_id, m.product_id): m for m in rows}


def shipping_method(supplier: Supplier, rate_name: str,
                    mappings: dict[tuple[int, str], str] | None = None) -> str:
    """The supplier's method for the order's rate name: its mapping, else its default."""
    key = fold(rate_name)
    if key:
        if mappings is None:
            found = db.session.scalar(select(ShippingMapping.method).where(
                ShippingMapping.supplier_id == supplier.id, ShippingMapping.rate_key == key))
        else:
            found = mappings.get((supplier.id, key))
        if found:
            return found
    return supplier.default_shipping_method or ""


def shipping_mappings(supplier_ids) -> dict[tuple[int, str], str]:
    """(supplier, folded rate name) → method, for these suppliers."""
    rows = db.session.execute(select(ShippingMapping.supplier_id, ShippingMapping.rate_key,
                                     ShippingMapping.method)
                              .where(ShippingMapping.supplier_id.in_(set(supplier_ids))))
    return {(s, k): m for s, k, m in rows}
