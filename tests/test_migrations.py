"""The migrations build exactly the schema the models describe, on this pass's database."""

from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from extensions import db
from models import utcnow
from models.orders.agent_days import agent_day, day_start, local_day
from models.orders.tables import DATABASE_ONLY_INDEXES

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


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


def test_agent_day_counts_are_filled_from_the_audit_trail(tmp_path):
    """Upgrading to 0004 keeps today's strip right: figures rebuilt from today's events."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
                      "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0003_call_queue")
        now = utcnow()
        today = local_day(now)
        noon = day_start(today) + timedelta(hours=12)  # clear of midnight, whenever this runs
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (id, username, name, password_hash, role, active,"
                " session_version, created_at, updated_at)"
                " VALUES (7, 'amina', '', 'x', 'agent', 1, 1, :now, :now)"), {"now": now})
            for minutes, outcome in enumerate(["no_answer", "confirmed", "confirmed"]):
                conn.execute(text(
                    "INSERT INTO audit_events (actor_user_id, actor_name, kind, to_value,"
                    " note, created_at) VALUES (7, 'amina', 'confirmation', :outcome, '', :at)"),
                    {"outcome": outcome, "at": noon + timedelta(minutes=minutes)})
        upgrade(directory=MIGRATIONS)
        day = agent_day(7, today)
        db.engine.dispose()
    assert (day.calls, day.confirmed, day.streak) == (3, 2, 2)


def test_board_columns_and_rollups_are_filled_from_history(app, make_order, make_user,
                                                           make_carrier):
    """Upgrading to 0009 dates first calls and shipping changes from the audit trail, takes
    the carrier from the leading parcel, and folds the rollups the door would have kept."""
    from flask_migrate import downgrade

    from models import Actor, Order, Parcel
    from models.boards.check import counted_rollups, stored_rollups
    from models.orders.operations import change_confirmation, change_shipping

    agent, carrier = make_user("agent"), make_carrier()
    order = make_order(carrier_id=None, claimed_by_id=agent.id, claimed_at=utcnow())
    change_confirmation(order, "confirmed", Actor.of(agent))
    db.session.add(Parcel(order_id=order.id, carrier_id=carrier.id, tracking_number="MIG1",
                          idempotency_key="mig-1"))
    order.carrier_id = carrier.id
    change_shipping(order, "fulfilled", Actor.of(make_user("operator")))
    change_shipping(order, "shipped", Actor.carrier("test"))
    db.session.commit()
    kept = db.session.execute(text(
        "SELECT carrier_id, first_call_at, shipping_changed_at FROM orders")).one()
    door = stored_rollups()
    order_id = order.id
    db.session.remove()
    downgrade(directory=MIGRATIONS, revision="0008_money")
    upgrade(directory=MIGRATIONS)
    filled = db.session.execute(text(
        "SELECT carrier_id, first_call_at, shipping_changed_at FROM orders")).one()
    assert filled == kept
    assert stored_rollups() == counted_rollups() == door
    assert db.session.get(Order, order_id).shipping_status == "shipped"
