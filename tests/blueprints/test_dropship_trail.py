"""A SKU's trail and the order page's supplier orders: an order pulled in from a channel,
edited, confirmed, processed, shipped by its supplier and reported back to the channel."""

import io
import re

import pytest
from sqlalchemy import select

from extensions import db
from models import Actor, Order, Parcel, SupplierOrder, SupplierSku, utcnow
from models.intake.create import create_orders
from models.intake.incoming import IncomingLine, IncomingOrder
from models.intake.news import record_sent
from models.orders.operations import change_confirmation, edit_order

from .dropship_support import make_supplier_order_fixture, stored, words  # noqa: F401
from .pages import squash

ENTRY = re.compile(r'<li data-kind="(\w+)">(.*?)</li>', re.S)


def entries(resp) -> list[tuple[str, str]]:
    """(kind, what a reader sees) of each trail entry, in page order."""
    return [(kind, squash(re.sub(r"<[^>]+>", " ", body)))
            for kind, body in ENTRY.findall(resp.get_data(as_text=True))]


@pytest.fixture
def shipped_order(login, make_supplier, make_product, make_channel, make_user, run_jobs):
    """Order S-1 from the Souk channel: WATCH-X8 and MASSAGE-GUN from Atlas Files, the gun's
    quantity changed on the phone, confirmed, processed by youssef, shipped with tracking
    (from Atlas's status file) and reported back to the channel."""
    supplier = make_supplier(name="Atlas Files", kind="csv", default_shipping_method="Standard")
    for sku, theirs in (("WATCH-X8", "ATL-SW-X8U"), ("MASSAGE-GUN", "ATL-MG-PRO")):
        product = make_product(stock=0, sku=sku, dropship_supplier_id=supplier.id)
        db.session.add(SupplierSku(supplier_id=supplier.id, product_id=product.id,
                                   supplier_sku=theirs, cost_cents=10000))
    channel = make_channel(name="Souk", kind="sandbox")
    [arrival] = create_orders(channel, [IncomingOrder(
        external_id="S-1", customer_name="Salma Idrissi", phone="0612345678",
        address="12 rue des Fleurs, Agdal", city="Rabat",
        lines=[IncomingLine("WATCH-X8", 1), IncomingLine("MASSAGE-GUN", 1)])],
        Actor.channel("Souk"), source="webhook")
    db.session.commit()
    order = db.session.get(Order, arrival.order_id)
    agent = make_user("agent", username="salma_agent")
    order.claimed_by_id = agent.id
    db.session.commit()
    gun = next(line for line in order.lines if line.sku == "MASSAGE-GUN")
    edit_order(order, Actor.of(agent), quantities={gun.id: 2})
    change_confirmation(order, "confirmed", Actor.of(agent), note="ok on the phone")
    db.session.commit()
    so = db.session.scalar(select(SupplierOrder).where(SupplierOrder.order_id == order.id))

    operator = login(make_user("operator", username="youssef"))
    operator.post(f"/dropship/{so.id}/process", htmx=True)
    run_jobs()  # the purchase-order file goes out: submitted
    status_file = f"reference,status,tracking_number,carrier\n{so.reference},shipped,SBX0000000777,"
    login("manager").post(f"/dropship/suppliers/{supplier.id}/status-file", htmx=True,
                          data={"file": (io.BytesIO(status_file.encode()), "status.csv")},
                          content_type="multipart/form-data")
    record_sent(order.id, "SBX0000000777", None, utcnow())  # the channel took the news
    db.session.commit()
    return operator, order, so


def test_a_sku_trail_tells_its_story_oldest_first(shipped_order):
    operator, order, so = shipped_order
    watch = next(line for line in order.lines if line.sku == "WATCH-X8")
    resp = operator.hx_get(f"/dropship/lines/{watch.id}/trail")
    assert resp.status_code == 200 and "<html" not in resp.get_data(as_text=True)
    found = entries(resp)
    kinds = [kind for kind, _ in found]
    assert kinds[:3] == ["import", "confirmation", "shipping"]
    assert kinds[-2:] == ["news", "news"]
    story = [what for _, what in found]
    assert story[0].endswith("channel:Souk Pulled in from Souk")
    assert "Order Confirmed" in story[1] and "salma_agent" in story[1]
    supplier = [what for kind, what in found if kind == "supplier"]
    assert "Supplier order Pending" in supplier[0]
    assert "split to Atlas Files: WATCH-X8 → ATL-SW-X8U ×1; MASSAGE-GUN → ATL-MG-PRO ×2" \
        in supplier[0]
    assert "youssef" in supplier[1] and "Process requested" in supplier[1]
    assert "Supplier order Pending → Submitted" in supplier[2] and "youssef" in supplier[2]
    assert "submitted to Atlas Files" in supplier[2]
    assert "Supplier order Submitted → Shipped" in supplier[3]
    assert "supplier:Atlas Files" in supplier[3] and "tracking SBX0000000777" in supplier[3]
    assert "tracking added: SBX0000000777" in supplier[4]
    assert any("Shipping Created → Shipped" in what for kind, what in found
               if kind == "shipping")
    assert "Shipped: Souk is owed the news" in story[-2]
    assert "Pushed back to Souk: shipped, tracking SBX0000000777" in story[-1]
    # The gun's own edit is in its trail, not in the watch's.
    assert not any("MASSAGE-GUN" in what for kind, what in found if kind == "edit")
    gun = next(line for line in order.lines if line.sku == "MASSAGE-GUN")
    gun_trail = entries(operator.hx_get(f"/dropship/lines/{gun.id}/trail"))
    assert any(kind == "edit" and "quantity of MASSAGE-GUN" in what for kind, what in gun_trail)


def test_the_trail_is_for_operators_managers_and_admins(login, make_supplier_order):
    so = make_supplier_order("pending")
    line_id = so.lines[0].order_line_id
    assert login("agent").get(f"/dropship/lines/{line_id}/trail").status_code == 403
    for role in ("operator", "manager", "admin"):
        assert login(role).get(f"/dropship/lines/{line_id}/trail").status_code == 200
    assert login("operator").get("/dropship/lines/999999/trail").status_code == 404


def test_the_order_page_lists_its_supplier_orders_with_what_to_do(login, make_supplier_order):
    so = make_supplier_order("error")
    resp = login("operator").get(f"/orders/{so.order_id}")
    body = resp.get_data(as_text=True)
    section = body[body.index('id="supplier-orders"'):]
    assert f'data-so="{so.id}" data-status="error"' in section
    assert "Out of stock: the supplier has none." in section
    line = so.lines[0]
    assert f"{line.sku} → SUP-{line.sku} × 2" in squash(re.sub("<[^>]+>", " ", section))
    assert f'href="/dropship?tab=errors&amp;order={so.order_id}">Resolve</a>' in section
    # A book beside each SKU opens its trail in place.
    assert (f'aria-label="Trail of SKU {line.sku}"' in body
            and f'hx-get="/dropship/lines/{line.order_line_id}/trail"' in body)
    assert 'id="sku-trail"' in body


def test_the_order_page_shows_shipped_supplier_orders_with_tracking(login,
                                                                    make_supplier_order):
    so = make_supplier_order("shipped")
    body = login("manager").get(f"/orders/{so.order_id}").get_data(as_text=True)
    section = body[body.index('id="supplier-orders"'):]
    row = section[section.index(f'<tr id="supplier-order-{so.id}"'):].split("</tr>")[0]
    assert 'data-status="shipped"' in row and "SBX0000000042" in row
    assert "Sandbox Express" in row and f"SUP-{so.id:05d}" in row
    parcel = db.session.scalar(select(Parcel).where(Parcel.supplier_order_id == so.id))
    assert parcel.tracking_number == "SBX0000000042"  # the tracking sync follows it


def test_agents_see_supplier_orders_but_no_dropship_links(login, make_supplier_order,
                                                           make_user):
    so = make_supplier_order("pending")
    agent = make_user("agent")
    order = db.session.get(Order, so.order_id)
    order.agent_id = agent.id  # the agent who handled it may look at it again
    db.session.commit()
    body = login(agent).get(f"/orders/{so.order_id}").get_data(as_text=True)
    assert 'id="supplier-orders"' in body
    assert "Trail of SKU" not in body and "/dropship" not in body
    assert stored(so.id).status == "pending"
