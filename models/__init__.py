"""SQLAlchemy models and the domain operations that guard them."""

from .actor import Actor
from .audit import AuditEvent
from .base import db, utcnow
from .boards import rollups as _rollups  # noqa: F401  (its flush listeners)
from .boards.tables import AgentCallCount, CodCount, LeadSpeedCount, OrderDayCount
from .catalog import Carrier, Channel, Product, Supplier, SupplierSku, Warehouse
from .dropship.tables import ShippingMapping, SupplierFile, SupplierOrder, SupplierOrderLine
from .errors import Conflict, DomainError, InvalidInput, NotAllowed, OutOfStock, TransitionRefused
from .intake.tables import ApiKey, ChannelNews, ChannelWebhook, CsvImport, RoutingRule
from .money import RemittanceLine, RemittanceMapping, RemittanceStatement
from .orders import Order, OrderLine
from .orders.agent_days import AgentDayCount
from .orders.counters import OrderStatusCount
from .sandbox import SandboxParcel, SandboxShopOrder, SandboxSupplierOrder
from .settings import CallSettings, Setting
from .shipping.tables import (
    CarrierStatusMapping,
    CarrierWebhook,
    Parcel,
    ParcelEvent,
    TrackingRule,
)
from .stock import StockLevel, StockMovement
from .user import User

__all__ = [
    "Actor", "AgentCallCount", "AgentDayCount", "CodCount", "LeadSpeedCount",
    "OrderDayCount", "ApiKey", "ChannelNews", "ChannelWebhook", "CsvImport",
    "RoutingRule", "AuditEvent", "CallSettings", "Carrier", "CarrierStatusMapping",
    "CarrierWebhook", "Channel", "Conflict", "DomainError", "InvalidInput", "NotAllowed",
    "Order", "OrderLine", "OrderStatusCount", "OutOfStock", "Parcel", "ParcelEvent", "Product",
    "RemittanceLine", "RemittanceMapping", "RemittanceStatement",
    "SandboxParcel", "SandboxShopOrder", "SandboxSupplierOrder", "Setting", "StockLevel",
    "StockMovement", "Supplier",
    "SupplierSku", "ShippingMapping", "SupplierFile", "SupplierOrder", "SupplierOrderLine",
    "TrackingRule", "TransitionRefused", "User", "Warehouse", "db", "utcnow",
]
