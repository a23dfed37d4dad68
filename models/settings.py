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


class StoredSettings:
    """A frozen dataclass of settings stored as `<PREFIX><field>` rows over its defaults.

    Subclasses are frozen dataclasses that set PREFIX; values are typed by their field.
    """

    PREFIX = ""

    @classmethod
    def load(cls):
        """Stored values over the defaults (cached for a few seconds per process)."""
        return cached(f"settings:{cls.PREFIX}", cls._read)

    @classmethod
    def _read(cls):
        """Stored values over the defaults, from the database."""
        stored = dict(db.session.execute(
            select(Setting.key, Setting.value).where(Setting.key.like(f"{cls.PREFIX}%"))).all())
        values = {}
        for f in fields(cls):
            raw = stored.get(f"{cls.PREFIX}{f.name}")
            if raw is not None:
                values[f.name] = int(raw) if f.type in (int, "int") else raw
        return cls(**values)

    def save(self) -> None:
        """Store every value (the caller commits; the flush clears the cache)."""
        for f in fields(self):
            key = f"{self.PREFIX}{f.name}"
            row = db.session.get(Setting, key) or Setting(key=key)
            row.value = str(getattr(self, f.name))
            db.session.add(row)


@dataclass(frozen=True)
class CallSettings(StoredSettings):
    """How the call queue behaves."""

    PREFIX = "calls."

    retry_delay_minutes: int = 30
    max_attempts: int = 5
    claim_timeout_minutes: int = 10
    phone_region: str = "MA"


watch(Setting)
