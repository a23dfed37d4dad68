"""Reference data: products, warehouses, suppliers, sales channels and carriers."""

from .products import Product, Supplier, SupplierSku, Warehouse
from .sales import Carrier, Channel

__all__ = ["Carrier", "Channel", "Product", "Supplier", "SupplierSku", "Warehouse"]
