"""Stock operations: every change is a ledger row plus the matching level update."""

from sqlalchemy import and_, exists, select, true, update
from sqlalchemy.orm import aliased

from .actor import Actor
from .audit import AuditEvent
from .base import db
from .catalog import StockLevel, StockMovement, Warehouse
from .errors import InvalidInput, OutOfStock
from .order import Order, OrderLine

RECEIVE, ADJUST, RESERVE, RESTOCK = "receive", "adjust", "reserve", "restock"
REASON_LABELS = {
    RECEIVE: "Received",
    ADJUST: "Adjusted",
    RESERVE: "Reserved",
    RESTOCK: "Restocked",
}


def _level(warehouse_id: int, product_id: int) -> StockLevel:
    """The stock level row for a warehouse and product, created at zero if missing."""
    level = db.session.execute(
        select(StockLevel).filter_by(warehouse_id=warehouse_id, product_id=product_id)
    ).scalar_one_or_none()
    if level is None:
        level = StockLevel(warehouse_id=warehouse_id, product_id=product_id, on_hand=0)
        db.session.add(level)
        db.session.flush()
    return level


def _record(
    warehouse_id: int, product_id: int, quantity: int, reason: str, actor: Actor,
    *, line: OrderLine | None = None, note: str = "",
) -> StockMovement:
    """Append a movement and apply it to the level in one flush.

    The ledger row is inserted first: if the (line, reason) pair already exists
    the unique constraint aborts the transaction before any level changes.
    """
    movement = StockMovement(
        warehouse_id=warehouse_id, product_id=product_id, quantity=quantity, reason=reason,
        order_line_id=line.id if line else None, actor_user_id=actor.user_id,
        actor_name=actor.name, note=note,
    )
    db.session.add(movement)
    _level(warehouse_id, product_id)
    db.session.flush()
    guard = StockLevel.on_hand >= -quantity if quantity < 0 else true()
    result = db.session.execute(
        update(StockLevel)
        .where(StockLevel.warehouse_id == warehouse_id, StockLevel.product_id == product_id)
        .where(guard)
        .values(on_hand=StockLevel.on_hand + quantity)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        on_hand = _level(warehouse_id, product_id).on_hand
        sku = line.sku if line else str(product_id)
        warehouse = db.session.get(Warehouse, warehouse_id)
        raise OutOfStock(
            f"Not enough {sku} in {warehouse.name if warehouse else 'the warehouse'}: "
            f"{on_hand} on hand, {-quantity} needed."
        )
    return movement


def _audit_line(line: OrderLine, actor: Actor, reason: str, quantity: int, note: str) -> None:
    """Write the per-SKU audit event for a stock movement of an order line."""
    db.session.add(AuditEvent(
        order_id=line.order_id, order_line_id=line.id, sku=line.sku,
        actor_user_id=actor.user_id, actor_name=actor.name, kind="stock",
        from_value=None, to_value=f"{quantity:+d}", note=note or REASON_LABELS[reason],
    ))


def reserve_order_stock(order: Order, actor: Actor) -> list[StockMovement]:
    """Take every warehouse line of a confirmed order out of stock."""
    movements = []
    for line in order.lines:
        if line.is_dropship:
            continue
        if line.warehouse_id is None or line.product_id is None:
            raise InvalidInput(f"Line {line.sku} has no warehouse or product to take stock from.")
        movements.append(_record(
            line.warehouse_id, line.product_id, -line.quantity, RESERVE, actor, line=line,
            note=f"order {order.reference}",
        ))
        _audit_line(line, actor, RESERVE, -line.quantity, "")
    return movements


def _unrestocked(order_id: int | None = None):
    """Reserve movements of returned orders that have no restock movement yet."""
    restocked = aliased(StockMovement)
    query = (
        select(StockMovement, OrderLine)
        .join(OrderLine, OrderLine.id == StockMovement.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(StockMovement.reason == RESERVE, Order.shipping_status == "returned")
        .where(~exists().where(and_(
            restocked.order_line_id == StockMovement.order_line_id,
            restocked.reason == RESTOCK,
        )))
        .order_by(StockMovement.id)
    )
    if order_id is not None:
        query = query.where(Order.id == order_id)
    return db.session.execute(query).all()


def restock_order(order: Order, actor: Actor) -> list[StockMovement]:
    """Put back exactly what was reserved for a returned order's lines; safe to repeat."""
    movements = []
    for reserved, line in _unrestocked(order.id):
        movements.append(_record(
            reserved.warehouse_id, reserved.product_id, -reserved.quantity, RESTOCK, actor,
            line=line, note=f"return of {order.reference}",
        ))
        _audit_line(line, actor, RESTOCK, -reserved.quantity, "")
    return movements


def returned_orders_due_restock(limit: int = 500) -> list[int]:
    """Ids of returned orders whose stock has not come back yet (for reconcile)."""
    return sorted({line.order_id for _m, line in _unrestocked()})[:limit]


def receive_stock(
    warehouse: Warehouse, product_id: int, quantity: int, actor: Actor, note: str = ""
) -> StockMovement:
    """Add goods that arrived at a warehouse (or remove, with a negative adjustment)."""
    if quantity == 0:
        raise InvalidInput("A stock movement needs a non-zero quantity.")
    reason = RECEIVE if quantity > 0 else ADJUST
    return _record(warehouse.id, product_id, quantity, reason, actor, note=note)


def ledger_mismatches() -> list[tuple[int, int, int, int]]:
    """(warehouse, product, on_hand, ledger sum) wherever the two disagree."""
    sums = (
        select(
            StockMovement.warehouse_id, StockMovement.product_id,
            db.func.sum(StockMovement.quantity).label("total"),
        )
        .group_by(StockMovement.warehouse_id, StockMovement.product_id)
        .subquery()
    )
    rows = db.session.execute(
        select(StockLevel.warehouse_id, StockLevel.product_id, StockLevel.on_hand, sums.c.total)
        .outerjoin(sums, and_(
            sums.c.warehouse_id == StockLevel.warehouse_id,
            sums.c.product_id == StockLevel.product_id,
        ))
    ).all()
    return [
        (w, p, on_hand, total or 0) for w, p, on_hand, total in rows if on_hand != (total or 0)
    ]
