"""Stock operations: every change is a ledger row plus the matching level update.

The ledger knows order lines only by what it is handed (ORM lines or rows with id,
sku, quantity, product_id, warehouse_id, supplier_id), so orders may use stock and
never the reverse.
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, exists, insert, select, true, update
from sqlalchemy.orm import aliased

from models.actor import Actor
from models.audit import AuditEvent, audit_row
from models.base import db, utcnow
from models.catalog.products import Warehouse
from models.errors import InvalidInput, OutOfStock

from .tables import StockLevel, StockMovement

RECEIVE, ADJUST, RESERVE, RESTOCK = "receive", "adjust", "reserve", "restock"
REASON_LABELS = {
    RECEIVE: "Received",
    ADJUST: "Adjusted",
    RESERVE: "Reserved",
    RESTOCK: "Restocked",
}
# The same labels for screens; REASON_LABELS stays English for the audit trail.
REASON_TEXTS = {
    RECEIVE: _l("Received"),
    ADJUST: _l("Adjusted"),
    RESERVE: _l("Reserved"),
    RESTOCK: _l("Restocked"),
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
    *, line=None, note: str = "",
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
        raise _shortage(warehouse_id, product_id, -quantity, line.sku if line else str(product_id))
    return movement


def _audit_line(line, actor: Actor, reason: str, quantity: int, note: str) -> None:
    """Write the per-SKU audit event for a stock movement of an order line."""
    db.session.add(AuditEvent(**audit_row(line.order_id, actor, "stock", None, f"{quantity:+d}",
                                          note or REASON_LABELS[reason], line=line)))


MOVEMENTS, LEVELS = StockMovement.__table__, StockLevel.__table__
_TAKE = (
    update(LEVELS)
    .where(LEVELS.c.warehouse_id == bindparam("wh"), LEVELS.c.product_id == bindparam("prod"),
           LEVELS.c.on_hand >= bindparam("qty"))
    .values(on_hand=LEVELS.c.on_hand - bindparam("qty"))
)


def take_stock(order_id: int, lines, actor: Actor) -> list[dict]:
    """Take every warehouse line of a confirmed order out of stock, in plain statements.

    `lines` are ORM lines or rows (id, sku, quantity, product_id, warehouse_id,
    supplier_id). The ledger rows go in first, so a line reserved before trips the
    unique constraint before any level moves. Returns the audit events to write.
    """
    # Level rows are locked in one global order, so two confirmations never deadlock.
    taken = sorted((line for line in lines if line.supplier_id is None),
                   key=lambda line: (line.warehouse_id or 0, line.product_id or 0, line.id))
    for line in taken:
        if line.warehouse_id is None or line.product_id is None:
            raise InvalidInput(_("Line %(sku)s has no warehouse or product to take stock from.",
                                 sku=line.sku))
    if not taken:
        return []
    now = utcnow()
    db.session.execute(insert(MOVEMENTS), [
        {"warehouse_id": line.warehouse_id, "product_id": line.product_id,
         "quantity": -line.quantity, "reason": RESERVE, "order_line_id": line.id,
         "actor_user_id": actor.user_id, "actor_name": actor.name,
         "note": f"order #{order_id}", "created_at": now}
        for line in taken])
    for line in taken:
        params = {"wh": line.warehouse_id, "prod": line.product_id, "qty": line.quantity}
        if db.session.execute(_TAKE, params).rowcount != 1:
            raise _shortage(line.warehouse_id, line.product_id, line.quantity, line.sku)
    _expire_levels()
    return [audit_row(order_id, actor, "stock", None, f"{-line.quantity:+d}",
                      REASON_LABELS[RESERVE], now, line=line) for line in taken]


def _shortage(warehouse_id: int, product_id: int, needed: int, sku: str) -> OutOfStock:
    """The error for a level that cannot give `needed` units."""
    on_hand = db.session.scalar(select(LEVELS.c.on_hand).where(
        LEVELS.c.warehouse_id == warehouse_id, LEVELS.c.product_id == product_id)) or 0
    warehouse = db.session.get(Warehouse, warehouse_id)
    return OutOfStock(_(
        "Not enough %(sku)s in %(warehouse)s: %(on_hand)s on hand, %(needed)s needed.",
        sku=sku, warehouse=warehouse.name if warehouse else _("the warehouse"),
        on_hand=on_hand, needed=needed))


def _expire_levels() -> None:
    """Levels this session loaded earlier are stale after a plain UPDATE."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, StockLevel):
            db.session.expire(obj)


def unrestocked_reserves(line_ids):
    """Reserve movements of these order lines that have no restock movement yet.

    `line_ids` is a list or a subquery of order line ids.
    """
    restocked = aliased(StockMovement)
    return (
        select(StockMovement)
        .where(StockMovement.reason == RESERVE, StockMovement.order_line_id.in_(line_ids))
        .where(~exists().where(and_(
            restocked.order_line_id == StockMovement.order_line_id,
            restocked.reason == RESTOCK,
        )))
        .order_by(StockMovement.id)
    )


def restock_lines(order_id: int, lines, actor: Actor, note: str) -> list[StockMovement]:
    """Put back exactly what was reserved for these lines; lines restocked before are skipped.

    Each line's restock row is unique per (line, reason): two transactions racing on
    the same return cannot both insert it, so the second fails and moves nothing.
    """
    by_id = {line.id: line for line in lines}
    movements = []
    for reserved in db.session.execute(unrestocked_reserves(list(by_id))).scalars():
        line = by_id[reserved.order_line_id]
        movements.append(_record(
            reserved.warehouse_id, reserved.product_id, -reserved.quantity, RESTOCK, actor,
            line=line, note=note,
        ))
        _audit_line(line, actor, RESTOCK, -reserved.quantity, "")
    return movements


def receive_stock(
    warehouse: Warehouse, product_id: int, quantity: int, actor: Actor, note: str = ""
) -> StockMovement:
    """Add goods that arrived at a warehouse (or remove, with a negative adjustment)."""
    if quantity == 0:
        raise InvalidInput(_("A stock movement needs a non-zero quantity."))
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
