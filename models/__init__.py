"""SQLAlchemy models and the domain operations that guard them."""

from .actor import Actor
from .agent_days import AgentDayCount
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
    "Actor", "AgentDayCount", "AuditEvent", "CallSettings", "Carrier", "Channel", "Conflict",
    "DomainError", "InvalidInput", "NotAllowed", "Order", "OrderLine", "OrderStatusCount",
    "OutOfStock", "Product", "Setting", "StockLevel", "StockMovement", "Supplier",
    "SupplierSku", "TransitionRefused", "User", "Warehouse", "db", "utcnow",
]
