"""Orders and their lines, the one door for their statuses, counters and list queries."""

from .tables import Order, OrderLine

__all__ = ["Order", "OrderLine"]
