"""The shipping desk's thresholds, stored in the settings table with safe defaults."""

from dataclasses import dataclass, fields

from sqlalchemy import select

from models.base import db
from models.settings import Setting
from models.small_tables import cached

PREFIX = "shipping."


@dataclass(frozen=True)
class ShippingSettings:
    """When the desk calls a parcel stuck."""

    stuck_no_update_hours: int = 48
    stuck_no_tracking_days: int = 7
    stuck_in_return_days: int = 14

    @classmethod
    def load(cls) -> "ShippingSettings":
        """Stored values over the defaults (cached for a few seconds per process)."""
        return cached("shipping_settings", cls._read)

    @classmethod
    def _read(cls) -> "ShippingSettings":
        """Stored values over the defaults, from the database."""
        stored = dict(db.session.execute(
            select(Setting.key, Setting.value).where(Setting.key.like(f"{PREFIX}%"))).all())
        values = {}
        for f in fields(cls):
            raw = stored.get(f"{PREFIX}{f.name}")
            if raw is not None:
                values[f.name] = int(raw)
        return cls(**values)

    def save(self) -> None:
        """Store every value (the caller commits; the flush clears the cache)."""
        for f in fields(self):
            key = f"{PREFIX}{f.name}"
            row = db.session.get(Setting, key) or Setting(key=key)
            row.value = str(getattr(self, f.name))
            db.session.add(row)
