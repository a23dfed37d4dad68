"""The reconcile job: the database says what is due, this re-enqueues it."""

from models import Actor, Order, db
from models.orders.operations import restock_order
from models.orders.queries import returned_orders_due_restock
from workers import job


@job("default")
def restock_returned_order(order_id: int) -> int:
    """Put a returned order's goods back in stock if that has not happened yet."""
    order = db.session.get(Order, order_id)
    if order is None:
        return 0
    moved = restock_order(order, Actor.system("reconcile"))
    db.session.commit()
    return len(moved)


@job("default", timeout=120)
def reconcile() -> dict[str, int]:
    """Find work the database says is due and enqueue it (each enqueue is deduplicated)."""
    due = {"restock": 0}
    for order_id in returned_orders_due_restock():
        restock_returned_order.enqueue(order_id, job_id=f"restock-{order_id}")
        due["restock"] += 1
    return due
