"""Shared column helpers: UTC timestamps and the session-wide db handle."""

import sqlite3
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db


def utcnow() -> datetime:
    """Naive UTC now; every timestamp is stored as UTC without a zone."""
    return datetime.now(UTC).replace(tzinfo=None)


class Timestamps:
    """created_at / updated_at columns kept by the ORM."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets readers and a writer work at once; the busy timeout waits out locks."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's own lower() only folds ASCII; names here are French and Arabic too.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value):
    """Unicode-aware lower() for SQLite."""
    return value.lower() if isinstance(value, str) else value


__all__ = ["Timestamps", "db", "utcnow"]
