"""Storing a webhook delivery once, durably, before answering: shared by every sender."""

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from models.base import db

# Kept with a delivery for tracing; credentials a partner or proxy adds are never stored.
UNSTORED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def kept_headers(headers) -> dict[str, str]:
    """A delivery's headers, lower-cased, without credentials."""
    return {k.lower(): v for k, v in headers.items() if k.lower() not in UNSTORED_HEADERS}


def insert_once(table: Table, unique: tuple[str, ...]) -> dict:
    """Per dialect: INSERT … ON CONFLICT (unique) DO NOTHING RETURNING id."""
    return {name: dialect.insert(table).on_conflict_do_nothing(index_elements=list(unique))
            .returning(table.c.id) for name, dialect in (("postgresql", postgresql),
                                                          ("sqlite", sqlite))}


def store_delivery(statements: dict, row: dict, seen=None) -> int | None:
    """Insert the delivery in autocommit (durable before the answer, in one round trip
    instead of BEGIN, INSERT and COMMIT); None when it was stored before, or when the
    optional `seen` query (a SELECT EXISTS) says an equivalent one was."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if seen is not None and connection.execute(seen).scalar():
            return None
        return connection.execute(statements[connection.dialect.name], row).scalar()
