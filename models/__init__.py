"""SQLAlchemy models and the domain operations that guard them."""

from .actor import Actor
from .audit import AuditEvent
from .base import db, utcnow
from .catalog import Product, StockLevel, StockMovement, Supplier, SupplierSku, Warehouse
from .counters import OrderStatusCount
from .errors import Conflict, DomainError, InvalidInput, NotAllowed, OutOfStock, TransitionRefused
from .order import Order, OrderLine
from .sales import Carrier, Channel
from .settings import CallSettings, Setting
from .user import User

__all__ = [
    "Actor", "AuditEvent", "CallSettings", "Carrier", "Channel", "Conflict", "DomainError",
    "InvalidInput", "Setting",
    "NotAllowed", "Order", "OrderLine", "OrderStatusCount", "OutOfStock", "Product",
    "StockLevel", "StockMovement", "Supplier", "SupplierSku", "TransitionRefused", "User",
    "Warehouse", "db", "utcnow",
]
