"""SQLAlchemy models and the domain operations that guard them."""

from .actor import Actor
from .audit import AuditEvent
from .base import db, utcnow
from .catalog import Carrier, Channel, Product, Supplier, SupplierSku, Warehouse
from .errors import Conflict, DomainError, InvalidInput, NotAllowed, OutOfStock, TransitionRefused
from .orders import Order, OrderLine
from .orders.agent_days import AgentDayCount
from .orders.counters import OrderStatusCount
from .settings import CallSettings, Setting
from .stock import StockLevel, StockMovement
from .user import User

__all__ = [
    "Actor", "AgentDayCount", "AuditEvent", "CallSettings", "Carrier", "Channel", "Conflict",
    "DomainError", "InvalidInput", "NotAllowed", "Order", "OrderLine", "OrderStatusCount",
    "OutOfStock", "Product", "Setting", "StockLevel", "StockMovement", "Supplier",
    "SupplierSku", "TransitionRefused", "User", "Warehouse", "db", "utcnow",
]
