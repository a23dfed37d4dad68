"""Settings managers change at run time, stored in the database with safe defaults."""

from dataclasses import dataclass, fields

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import db
from .small_tables import cached, watch


class Setting(db.Model):
    """One named setting; values are stored as text and typed by CallSettings."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


@dataclass(frozen=True)
class CallSettings:
    """How the call queue behaves."""

    retry_delay_minutes: int = 30
    max_attempts: int = 5
    claim_timeout_minutes: int = 10
    phone_region: str = "MA"

    @classmethod
    def load(cls) -> "CallSettings":
        """Stored values over the defaults (cached for a few seconds per process)."""
        return cached("call_settings", cls._read)

    @classmethod
    def _read(cls) -> "CallSettings":
        """Stored values over the defaults, from the database."""
        stored = dict(db.session.execute(
            select(Setting.key, Setting.value).where(Setting.key.like("calls.%"))).all())
        values = {}
        for f in fields(cls):
            raw = stored.get(f"calls.{f.name}")
            if raw is not None:
                values[f.name] = int(raw) if f.type in (int, "int") else raw
        return cls(**values)

    def save(self) -> None:
        """Store every value (the caller commits)."""
        for f in fields(self):
            key = f"calls.{f.name}"
            row = db.session.get(Setting, key) or Setting(key=key)
            row.value = str(getattr(self, f.name))
            db.session.add(row)


watch(Setting)
