"""The migrations build exactly the schema the models describe, on this pass's database."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from extensions import db
from models.order import DATABASE_ONLY_INDEXES


def test_migrations_match_models(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_object": lambda o, name, type_, *_: not (
                type_ == "index" and name in DATABASE_ONLY_INDEXES),
        })
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("WAL is a SQLite setting")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
