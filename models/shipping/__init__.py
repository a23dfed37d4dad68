"""Parcels and their carriers: registration, tracking events, webhooks, detection, the desk."""

from .tables import CarrierStatusMapping, CarrierWebhook, Parcel, ParcelEvent, TrackingRule

__all__ = ["CarrierStatusMapping", "CarrierWebhook", "Parcel", "ParcelEvent", "TrackingRule"]
