"""The stock ledger: levels per warehouse and product, every change a movement row."""

from .tables import StockLevel, StockMovement

__all__ = ["StockLevel", "StockMovement"]
