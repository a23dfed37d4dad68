"""Read-only stock queries: products with what is on hand, and one product's ledger."""

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select

from models.base import db
from models.catalog import Product, Warehouse

from .ledger import REASON_LABELS, REASON_TEXTS
from .tables import StockLevel, StockMovement

LEDGER_ROWS = 200


def products_on_hand(search: str = "", limit: int = 200) -> list:
    """(id, sku, name, on hand in all warehouses) by SKU, optionally searched."""
    query = (
        select(Product.id, Product.sku, Product.name,
               func.coalesce(func.sum(StockLevel.on_hand), 0).label("on_hand"))
        .outerjoin(StockLevel, StockLevel.product_id == Product.id)
        .group_by(Product.id, Product.sku, Product.name).order_by(Product.sku).limit(limit)
    )
    if search.strip():
        like = f"%{search.strip().lower()}%"
        query = query.where(or_(func.lower(Product.sku).like(like),
                                func.lower(Product.name).like(like)))
    return db.session.execute(query).all()


@dataclass(frozen=True)
class LevelRow:
    """One warehouse's stock of a product, and whether its ledger adds up to it."""

    warehouse: str
    on_hand: int
    ledger: int

    @property
    def matches(self) -> bool:
        """The level equals the sum of its movements."""
        return self.on_hand == self.ledger


def product_levels(product_id: int) -> list[LevelRow]:
    """Each warehouse's on-hand figure for a product beside its ledger's sum."""
    sums = (select(StockMovement.warehouse_id, func.sum(StockMovement.quantity).label("total"))
            .where(StockMovement.product_id == product_id)
            .group_by(StockMovement.warehouse_id).subquery())
    rows = db.session.execute(
        select(Warehouse.name, StockLevel.on_hand, func.coalesce(sums.c.total, 0))
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .outerjoin(sums, and_(sums.c.warehouse_id == StockLevel.warehouse_id))
        .where(StockLevel.product_id == product_id).order_by(Warehouse.name)).all()
    return [LevelRow(name, on_hand, total) for name, on_hand, total in rows]


def product_ledger(product_id: int, limit: int = LEDGER_ROWS) -> list[dict]:
    """The product's newest movements: time, reason, quantity, warehouse, order, actor, note.

    Order lines are joined by table, not by model, so stock still imports nothing of orders.
    """
    lines = db.metadata.tables["order_lines"]
    return [
        {**row._mapping, "reason": REASON_LABELS.get(row.reason, row.reason),
         "label": REASON_TEXTS.get(row.reason, row.reason)}
        for row in db.session.execute(
            select(StockMovement.created_at, StockMovement.reason, StockMovement.quantity,
                   Warehouse.name.label("warehouse"), lines.c.order_id,
                   StockMovement.actor_name, StockMovement.note)
            .join(Warehouse, Warehouse.id == StockMovement.warehouse_id)
            .outerjoin(lines, lines.c.id == StockMovement.order_line_id)
            .where(StockMovement.product_id == product_id)
            .order_by(StockMovement.created_at.desc(), StockMovement.id.desc()).limit(limit))
    ]
