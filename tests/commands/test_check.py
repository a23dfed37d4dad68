"""`flask check`: stock against its ledger, counters against a recount, and what --fix does."""

from sqlalchemy import func, select, update

from extensions import db
from models.orders.counters import OrderStatusCount
from models.stock.tables import StockLevel


def _corrupt_stock(product, by: int = -3) -> None:
    """Move a level without a ledger row, as a lost ledger write would leave it."""
    db.session.execute(update(StockLevel).where(StockLevel.product_id == product.id)
                       .values(on_hand=StockLevel.on_hand + by))
    db.session.commit()


def _drift_counter(order) -> None:
    """Add 2 to one shard of the order's status counter, as a lost update would."""
    shard = db.session.scalars(select(OrderStatusCount)
                               .where(OrderStatusCount.channel_id == order.channel_id)).first()
    shard.n += 2
    db.session.commit()


def _on_hand(product) -> int:
    """The product's stored on-hand quantity, read afresh."""
    db.session.expire_all()
    return db.session.scalar(select(func.sum(StockLevel.on_hand))
                             .where(StockLevel.product_id == product.id))


def test_check_clean_database_says_all_match(runner, make_order):
    make_order(quantity=2)
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("all match")


def test_check_corrupted_stock_names_the_sku_and_exits_1(runner, make_product, make_warehouse):
    warehouse = make_warehouse(name="Casablanca hub")
    product = make_product(stock=20, warehouse=warehouse, sku="TEA-GREEN-1KG")
    make_product(stock=5, warehouse=warehouse)  # untouched, so not listed
    _corrupt_stock(product)
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    rows = [line.split() for line in result.output.splitlines() if line.startswith("stock ")]
    assert rows == [["stock", "TEA-GREEN-1KG", "in", "Casablanca", "hub", "20", "(ledger)",
                     "17", "on", "hand"]]
    assert "all match" not in result.output


def test_check_fix_leaves_stock_unchanged(runner, make_product):
    product = make_product(stock=20)
    _corrupt_stock(product, by=4)
    result = runner.invoke(args=["check", "--fix"])
    assert result.exit_code == 1
    assert "left unchanged" in result.output
    assert _on_hand(product) == 24


def test_check_reports_a_drifted_counter(runner, make_order):
    order = make_order()
    _drift_counter(order)
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines()
                if line.startswith("order_status_counts"))
    assert line.split() == ["order_status_counts", f"{order.channel_id},", "new,", "—",
                            "1", "(recount)", "3"]


def test_check_fix_rebuilds_counters_and_then_matches(runner, make_order):
    order = make_order()
    _drift_counter(order)
    result = runner.invoke(args=["check", "--fix"])
    assert result.exit_code == 0, result.output
    assert "they match now" in result.output
    again = runner.invoke(args=["check"])
    assert again.exit_code == 0
    assert again.output.startswith("all match")


def test_check_fix_with_both_fixes_counters_and_still_exits_1_for_stock(
        runner, make_order, make_product):
    order = make_order()
    product = make_product(stock=10)
    _drift_counter(order)
    _corrupt_stock(product)
    result = runner.invoke(args=["check", "--fix"])
    assert result.exit_code == 1
    again = runner.invoke(args=["check"])
    assert "order_status_counts" not in again.output
    assert product.sku in again.output
