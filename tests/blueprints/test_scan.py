"""Scan mode over HTTP: each scanned code packs, books a return, or is refused with why."""

import json
import re

from sqlalchemy import func, select, update

from extensions import db
from models import AuditEvent, Order, OrderLine, Parcel, ParcelEvent, StockLevel, StockMovement
from models import utcnow as now

from .pages import location, text


def scan(client, code: str):
    return client.post("/shipping/scan", data={"code": code}, htmx=True)


def entry(resp) -> tuple[str, str]:
    """(outcome, message) of the one <li> a scan answers with."""
    html = resp.get_data(as_text=True)
    assert "<html" not in html
    assert html.strip().startswith("<li") and html.count("<li") == 1
    outcome = re.search(r'data-outcome="(\w+)"', html).group(1)
    message = re.search(r'<strong class="scan-message">(.*?)</strong>', text(resp), re.S)
    return outcome, message.group(1)


def tone(resp) -> str:
    return json.loads(resp.headers["HX-Trigger"])["scan-tone"]


def stored(order) -> Order:
    db.session.rollback()
    return db.session.get(Order, order.id)


def on_hand(product) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.sum(StockLevel.on_hand))
                             .where(StockLevel.product_id == product.id))


def movements(order, reason: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(StockMovement)
        .join(OrderLine, OrderLine.id == StockMovement.order_line_id)
        .where(StockMovement.reason == reason, OrderLine.order_id == order.id))


def test_scan_page_has_one_focused_field(login):
    resp = login("operator").get("/shipping/scan")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<h1>Scan mode</h1>" in body
    assert re.search(r'<input id="scan-code" name="code"[^>]*autofocus', body)
    assert 'id="scans"' in body and "js/scan.js" in body


def test_scan_order_number_packs_a_created_order(login, parcel_order):
    order, parcel = parcel_order("created")
    client = login("operator")
    resp = scan(client, f"#{order.id}")
    assert resp.status_code == 200
    assert entry(resp) == ("ok", f"Packed #{order.id}.")
    assert tone(resp) == "high"
    assert 'data-status="fulfilled"' in resp.get_data(as_text=True)
    assert "Undo" in text(resp)
    assert stored(order).shipping_status == "fulfilled"
    audit = db.session.execute(select(AuditEvent.from_value, AuditEvent.to_value,
                                      AuditEvent.actor_name)
                               .where(AuditEvent.order_id == order.id,
                                      AuditEvent.actor_name == client.user.username)).all()
    assert audit == [("created", "fulfilled", client.user.username)]
    assert db.session.execute(select(ParcelEvent.source, ParcelEvent.maps_to)
                              .where(ParcelEvent.parcel_id == parcel.id)).all() == [
        ("scan", "fulfilled")]


def test_scan_plain_number_and_tracking_number_find_the_order(login, parcel_order):
    by_number, _ = parcel_order("created")
    by_tracking, _ = parcel_order("created", tracking="SBX7770001")
    client = login("operator")
    assert entry(scan(client, str(by_number.id)))[0] == "ok"
    assert entry(scan(client, "sbx7770001 "))[0] == "ok"  # a scanner's case and blank
    assert stored(by_number).shipping_status == "fulfilled"
    assert stored(by_tracking).shipping_status == "fulfilled"


def test_scan_fulfilled_again_is_already_packed_and_changes_nothing(login, parcel_order):
    order, _ = parcel_order("fulfilled")
    version = stored(order).version
    resp = scan(login("operator"), f"#{order.id}")
    assert resp.status_code == 409 and tone(resp) == "low"
    assert entry(resp) == ("refused", f"Already packed: #{order.id} was scanned before; "
                                      "nothing changed.")
    assert "Undo" not in text(resp)
    assert stored(order).version == version


def test_scan_of_a_parcel_on_its_way_is_refused_with_the_doors_reason(login, parcel_order):
    order, _ = parcel_order("shipped")
    resp = scan(login("operator"), f"#{order.id}")
    assert resp.status_code == 409
    assert entry(resp) == ("refused", f"Order #{order.id} is Shipped; it cannot move to "
                                      "Fulfilled.")
    assert stored(order).shipping_status == "shipped"


def test_scan_of_an_unconfirmed_order_is_refused(login, make_order):
    order = make_order()
    resp = scan(login("operator"), f"#{order.id}")
    assert entry(resp) == ("refused", f"Order #{order.id} is not confirmed; its shipping "
                                      "status is locked until then.")


def test_scan_unknown_code(login, parcel_order):
    parcel_order("created")
    resp = scan(login("operator"), "NOPE-123")
    assert resp.status_code == 404 and tone(resp) == "low"
    assert entry(resp) == ("refused", "No order or parcel with that code.")


def test_scan_empty_code_asks_for_one(login):
    resp = scan(login("operator"), "  ")
    assert resp.status_code == 422 and entry(resp) == ("refused", "Scan or type a code.")


def test_scan_undo_then_undo_refused_once_handed_over(login, parcel_order):
    order, parcel = parcel_order("created")
    client = login("operator")
    assert entry(scan(client, f"#{order.id}"))[0] == "ok"
    undo = client.post(f"/shipping/scan/{order.id}/undo", htmx=True)
    assert undo.status_code == 200 and tone(undo) == "high"
    assert entry(undo) == ("ok", f"Undone: #{order.id} is back to Created, waiting to be "
                                 "packed.")
    assert stored(order).shipping_status == "created"
    assert db.session.execute(select(ParcelEvent.source, ParcelEvent.maps_to)
                              .where(ParcelEvent.parcel_id == parcel.id)
                              .order_by(ParcelEvent.id)).all() == [
        ("scan", "fulfilled"), ("scan", "created")]

    assert entry(scan(client, f"#{order.id}"))[0] == "ok"
    db.session.execute(update(Parcel).where(Parcel.id == parcel.id)
                       .values(handed_over_at=now()))
    db.session.commit()
    refused = client.post(f"/shipping/scan/{order.id}/undo", htmx=True)
    assert refused.status_code == 409 and tone(refused) == "low"
    assert entry(refused) == ("refused", f"Order #{order.id} was already handed to the "
                                         "carrier; it cannot be unpacked.")
    assert "The carrier was asked to collect it." in text(refused)
    assert stored(order).shipping_status == "fulfilled"


def test_scan_return_restocks_once_and_a_second_scan_is_refused(login, parcel_order,
                                                                 make_product):
    product = make_product(stock=10)
    order, parcel = parcel_order("in_return", lines=[(product, 2)])
    assert on_hand(product) == 8
    client = login("operator")
    resp = scan(client, parcel.tracking_number)
    assert entry(resp) == ("ok", f"Returned #{order.id}: the goods are back in stock.")
    assert "A return cannot be undone" in text(resp) and "Undo</button>" not in text(resp)
    assert stored(order).shipping_status == "returned"
    assert on_hand(product) == 10 and movements(order, "restock") == 1

    again = scan(client, parcel.tracking_number)
    assert again.status_code == 409
    assert entry(again) == ("refused", f"Already returned: #{order.id} is back in stock; "
                                       "nothing changed.")
    assert on_hand(product) == 10 and movements(order, "restock") == 1


def test_scan_without_htmx_redirects_with_a_message(login, parcel_order):
    order, _ = parcel_order("created")
    client = login("operator")
    resp = client.post("/shipping/scan", data={"code": f"#{order.id}"})
    assert resp.status_code == 303 and location(resp)[0] == "/shipping/scan"
    assert f"Packed #{order.id}." in text(client.get("/shipping/scan"))
    assert stored(order).shipping_status == "fulfilled"


def test_scan_is_not_for_agents(login, parcel_order):
    order, _ = parcel_order("created")
    client = login("agent")
    assert client.post("/shipping/scan", data={"code": str(order.id)},
                       htmx=True).status_code == 403
    assert client.post(f"/shipping/scan/{order.id}/undo", htmx=True).status_code == 403
    assert stored(order).shipping_status == "created"
