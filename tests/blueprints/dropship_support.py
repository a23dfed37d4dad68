"""Supplier orders for the dropship screen tests, made the way the product makes them: an
order with supplier lines confirmed by the agent holding it (the split runs at
confirmation), then walked through the door and the supplier's replies."""

import html
import re

import pytest
from sqlalchemy import select

from extensions import db
from models import Actor, SupplierOrder, SupplierSku, utcnow
from models.dropship.operations import cancel, move, request_processing
from models.dropship.replies import apply_reply
from models.orders.operations import change_confirmation
from workers.suppliers import SupplierReply

ROW = re.compile(r'<tr id="so-(\d+)"')


def words(resp) -> str:
    """What a reader sees: the text without tags, whitespace collapsed (a <bdi> isolates
    its text without adding a space)."""
    body = re.sub(r"</?bdi[^>]*>", "", resp.get_data(as_text=True))
    body = html.unescape(re.sub(r"<[^>]+>", " ", body))
    return re.sub(r"\s+", " ", body).strip()


def listed(resp) -> list[int]:
    """The supplier order ids of a list page or fragment, in page order."""
    return [int(i) for i in ROW.findall(resp.get_data(as_text=True))]


def row_of(resp, so_id: int) -> str:
    """One supplier order's row, as markup."""
    body = resp.get_data(as_text=True)
    start = body.index(f'<tr id="so-{so_id}"')
    return body[start:body.index("</tr>", start) + 5]


def stored(so_id: int) -> SupplierOrder:
    """A supplier order as the database has it now."""
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(SupplierOrder, so_id)


def walk(so: SupplierOrder, status: str, *, message: str = "Out of stock: the supplier has none.",
         tracking: str = "SBX0000000042") -> SupplierOrder:
    """Move a pending supplier order to `status` as operators and the supplier would."""
    if status == "pending":
        return so
    if status == "canceled":
        cancel(so, Actor.system("test"), "the customer changed their mind")
        db.session.commit()
        return so
    move(so, "submitted", Actor.system("test"), submitted_at=utcnow(), attempts=1)
    outcomes = {"submitted": ["submitted"], "error": ["rejected"], "accepted": ["accepted"],
                "shipped": ["accepted", "shipped"]}[status]
    for outcome in outcomes:
        apply_reply(so, SupplierReply(so.id, outcome, message if outcome == "rejected" else "",
                                      supplier_ref=f"SUP-{so.id:05d}",
                                      tracking_number=tracking if outcome == "shipped" else None,
                                      carrier="Sandbox Express" if outcome == "shipped"
                                      else None))
    db.session.commit()
    return so


@pytest.fixture(name="make_supplier_order")
def make_supplier_order_fixture(app, make_supplier, make_product, make_order, make_user):
    """make_supplier_order(status="pending", supplier=None, mapped=True, quantity=2,
    queued=False, **order_overrides) -> SupplierOrder of a confirmed order's supplier line."""

    def make(status: str = "pending", supplier=None, *, mapped: bool = True,
             quantity: int = 2, queued: bool = False, product=None, **overrides):
        supplier = supplier or make_supplier(kind="csv", default_shipping_method="Standard")
        if product is None:
            product = make_product(stock=0, dropship_supplier_id=supplier.id)
            if mapped:
                db.session.add(SupplierSku(supplier_id=supplier.id, product_id=product.id,
                                           supplier_sku=f"SUP-{product.sku}", cost_cents=4550))
        order = make_order(lines=[(product, quantity)], **overrides)
        for line in order.lines:
            line.supplier_id, line.warehouse_id = supplier.id, None
        agent = make_user("agent")
        order.claimed_by_id = agent.id
        db.session.commit()
        change_confirmation(order, "confirmed", Actor.of(agent), note="ok on the phone")
        db.session.commit()
        so = db.session.scalar(select(SupplierOrder).where(SupplierOrder.order_id == order.id))
        if queued:
            request_processing([so], Actor.system("test"))
            db.session.commit()
        return walk(so, status)

    return make
