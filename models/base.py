"""Shared column helpers, the session-wide db handle and how a request ends its transaction."""

import sqlite3
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
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


@event.listens_for(Engine, "begin")
def _transaction_begins(connection) -> None:
    connection.info["wrote"] = False


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(connection, _cursor, statement, _parameters, _context, _executemany) -> None:
    # Anything but a plain SELECT counts as a write (conservatively: a WITH, a PRAGMA).
    if not statement.lstrip()[:6].upper() == "SELECT":
        connection.info["wrote"] = True


def end_read_only_transactions(app) -> None:
    """End a request's transaction with COMMIT when it only read.

    Flask-SQLAlchemy's teardown rolls back whatever is open. For a transaction that
    wrote nothing the two are the same, but a ROLLBACK also makes psycopg drop every
    prepared statement of the connection, so read-only pages would plan their queries
    afresh on every request. Anything that wrote, or ended in an exception, still rolls
    back. Register after db.init_app: teardowns run in reverse order.
    """

    @app.teardown_appcontext
    def _commit_reads(exc) -> None:
        if exc is not None or not db.session.registry.has():
            return
        session = db.session()
        if not session.in_transaction():
            return
        if session.new or session.dirty or session.deleted:
            return
        if not session.connection().info.get("wrote", True):
            try:
                session.commit()
            except SQLAlchemyError:
                pass  # nothing was written; the rollback that follows cleans up


def _lower(value):
    """Unicode-aware lower() for SQLite."""
    return value.lower() if isinstance(value, str) else value


__all__ = ["Timestamps", "db", "end_read_only_transactions", "utcnow"]


def begin_outer_transaction() -> None:
    """Open the transaction before the first savepoint, so the caller commits once.

    pysqlite begins a transaction only at the first write: a SAVEPOINT issued before any
    write would be the outermost transaction itself, and its RELEASE would commit each
    order on its own.
    """
    connection = db.session.connection()
    if (connection.dialect.name == "sqlite"
            and not connection.connection.dbapi_connection.in_transaction):
        connection.exec_driver_sql("BEGIN")
