"""The shipping desk's thresholds, stored in the settings table with safe defaults."""

from dataclasses import dataclass

from models.settings import StoredSettings


@dataclass(frozen=True)
class ShippingSettings(StoredSettings):
    """When the desk calls a parcel stuck."""

    PREFIX = "shipping."

    stuck_no_update_hours: int = 48
    stuck_no_tracking_days: int = 7
    stuck_in_return_days: int = 14
