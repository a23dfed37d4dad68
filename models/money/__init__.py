"""Money: what carriers collected on delivery and paid out, matched to our parcels."""

from .tables import RemittanceLine, RemittanceMapping, RemittanceStatement

__all__ = ["RemittanceLine", "RemittanceMapping", "RemittanceStatement"]
