"""`flask check`: stock against its ledger and counters against a recount, as one table."""

from dataclasses import dataclass

import click
from sqlalchemy import func, select

from extensions import db
from models.catalog.products import Product, Warehouse
from models.orders.counter_check import check_counters
from models.orders.counters import NONE
from models.stock.tables import StockLevel, StockMovement

from .counters import rebuild_differing

HEADER = ("check", "where", "expected", "stored")


@dataclass(frozen=True)
class StockDifference:
    """A stock level whose on-hand quantity is not the sum of its ledger movements."""

    sku: str
    warehouse: str
    ledger: int
    on_hand: int

    def row(self) -> tuple[str, str, str, str]:
        """The line this difference takes in the table."""
        return ("stock", f"{self.sku} in {self.warehouse}", f"{self.ledger} (ledger)",
                f"{self.on_hand} on hand")


def stock_differences() -> list[StockDifference]:
    """Every (warehouse, product) whose level and ledger sum disagree, a missing side being 0."""
    ledger = dict(((w, p), total) for w, p, total in db.session.execute(
        select(StockMovement.warehouse_id, StockMovement.product_id,
               func.sum(StockMovement.quantity))
        .group_by(StockMovement.warehouse_id, StockMovement.product_id)))
    levels = dict(((w, p), on_hand) for w, p, on_hand in db.session.execute(
        select(StockLevel.warehouse_id, StockLevel.product_id, StockLevel.on_hand)))
    keys = sorted(k for k in ledger.keys() | levels.keys()
                  if (ledger.get(k) or 0) != (levels.get(k) or 0))
    skus = _names(Product, Product.sku, {p for _, p in keys})
    warehouses = _names(Warehouse, Warehouse.name, {w for w, _ in keys})
    return [StockDifference(skus.get(p, f"product {p}"), warehouses.get(w, f"warehouse {w}"),
                            ledger.get((w, p)) or 0, levels.get((w, p)) or 0)
            for w, p in keys]


def _names(model, column, ids: set[int]) -> dict[int, str]:
    """{id: name} for these ids of a model."""
    if not ids:
        return {}
    return dict(db.session.execute(select(model.id, column).where(model.id.in_(ids))).all())


def _counter_row(difference) -> tuple[str, str, str, str]:
    """A counter difference as a table line."""
    key = ", ".join("—" if part == NONE else str(part) for part in difference.key)
    return (difference.table, key, f"{difference.counted} (recount)", str(difference.stored))


def table(rows: list[tuple[str, ...]]) -> str:
    """Rows under HEADER, columns padded to their widest cell."""
    widths = [max(len(cell) for cell in column) for column in zip(HEADER, *rows, strict=True)]
    lines = [HEADER, tuple("-" * w for w in widths), *rows]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
                     .rstrip() for line in lines)


@click.command("check")
@click.option("--fix", is_flag=True,
              help="Rebuild the counters that differ; stock differences are only reported.")
def check_command(fix: bool) -> None:
    """Compare stock with its ledger and counters with a recount; exit 1 when any differs."""
    stock, counters = stock_differences(), check_counters()
    if not stock and not counters:
        click.echo("all match: stock equals its ledger, counters equal a recount")
        return
    click.echo(table([d.row() for d in stock] + [_counter_row(d) for d in counters]))
    if fix and counters:
        rebuild_differing(counters)
        db.session.commit()
        left = check_counters()
        click.echo(f"counters: rebuilt {len(counters)} difference(s)"
                   + (f", {len(left)} still differ" if left else "; they match now"))
        counters = left
    if stock:
        # A level that disagrees with its ledger lost a write on one side, and only a person
        # can tell which (the shelf, the product's ledger); a stock adjustment moves both
        # sides alike, so there is no safe automatic fix and nothing here changes stock.
        click.echo(f"stock: {len(stock)} difference(s) left unchanged; compare the shelf "
                   "with the product's ledger under Stock to find the missing movement")
    if stock or counters:
        raise SystemExit(1)
