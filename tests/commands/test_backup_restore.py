"""README "Backup and restore": its commands, run as written, bring back the same orders."""

import os
import shutil
import subprocess

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.engine import make_url

from extensions import db
from models import Order
from models.shipping.tables import Carrier
from models.stock.tables import StockMovement

# The README's commands, word for word but for the backup file's name ($1).
SQLITE_BACKUP = """sqlite3 "$DB" ".backup '$1'" """
SQLITE_RESTORE = """sqlite3 "$DB" ".restore '$1'" """
PG_BACKUP = """pg_dump -Fc -f "$1" "${DATABASE_URL/+psycopg/}" """
PG_RESTORE = """pg_restore --clean --if-exists --no-owner -d "${DATABASE_URL/+psycopg/}" "$1" """


def _commands(url: str) -> tuple[str, str, dict[str, str]]:
    """The backup and restore commands for this database, with the environment they read."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        tool, backup, restore, env = "sqlite3", SQLITE_BACKUP, SQLITE_RESTORE, {
            "DB": parsed.database}
    else:
        tool, backup, restore, env = "pg_dump", PG_BACKUP, PG_RESTORE, {"DATABASE_URL": url}
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (apt-get install "
                    f"{'sqlite3' if tool == 'sqlite3' else 'postgresql-client'})")
    return backup, restore, env


def _run(script: str, env: dict[str, str], path) -> None:
    """Run one documented command in bash, the backup file as $1."""
    result = subprocess.run(["bash", "-c", script, "run", str(path)],
                            env={**os.environ, **env}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


def _orders() -> list[tuple]:
    """Every order with what a person would check: number, customer, phone, total, lines."""
    db.session.expire_all()
    return [(o.id, o.customer_name, o.phone, o.total_cents, o.confirmation_status,
             sorted((line.sku, line.quantity) for line in o.lines))
            for o in db.session.scalars(select(Order).order_by(Order.id))]


def test_backup_then_restore_brings_back_the_same_orders(app, runner, make_order, tmp_path):
    backup, restore, env = _commands(app.config["SQLALCHEMY_DATABASE_URI"])
    for n in range(3):
        make_order(quantity=n + 1, customer_name=f"Customer {n}")
    carrier = Carrier(name="Courier", code="courier", kind="sandbox", api_key="key-123")
    db.session.add(carrier)
    db.session.commit()
    before = _orders()
    dump = tmp_path / "codboard.backup"

    _run(backup, env, dump)  # while the app's connections stay open, as in production
    db.session.execute(update(Order).values(customer_name="changed"))
    db.session.execute(delete(StockMovement))
    make_order(customer_name="After the backup")
    db.session.commit()
    assert _orders() != before

    db.session.remove()
    db.engine.dispose()  # as stopping the web and workers would
    _run(restore, env, dump)

    assert _orders() == before
    assert db.session.scalar(select(Carrier.api_key).filter_by(code="courier")) == "key-123"
    check = runner.invoke(args=["check"])
    assert (check.exit_code, check.output.split(":")[0]) == (0, "all match"), check.output
