"""The shipping desk over HTTP: tabs and counts, filters and pages, bulk actions, slips,
settings, roles and fragments."""

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from blueprints.shipping.views import move_each
from extensions import db
from models import (
    Actor,
    AuditEvent,
    Order,
    OrderLine,
    Parcel,
    ParcelEvent,
    StockLevel,
    StockMovement,
    utcnow,
)
from models.shipping.operations import record_failure
from models.shipping.settings import ShippingSettings
from workers import get_queue

from .pages import heading, location, text

ROW = re.compile(r'<tr data-order="(\d+)"')
TAB = re.compile(r'data-tab="([a-z_]+)"\s+data-count="(\d+)"')


def listed(resp) -> list[int]:
    return [int(i) for i in ROW.findall(resp.get_data(as_text=True))]


def tabs(resp) -> dict[str, int]:
    return {name: int(n) for name, n in TAB.findall(resp.get_data(as_text=True))}


def report_lines(resp) -> dict[int, tuple[str, str]]:
    """Order id -> (ok yes/no, text) of the bulk report."""
    found = re.findall(r'<li class="(?:ok|refused)" data-order="(\d+)" data-ok="(yes|no)">'
                       r'(.*?)</li>', resp.get_data(as_text=True), re.S)
    return {int(i): (ok, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", body)).strip())
            for i, ok, body in found}


def on_hand(product) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.sum(StockLevel.on_hand))
                             .where(StockLevel.product_id == product.id))


def restocks(order) -> int:
    """Restock movements of the order's lines."""
    return db.session.scalar(
        select(func.count()).select_from(StockMovement)
        .join(OrderLine, OrderLine.id == StockMovement.order_line_id)
        .where(StockMovement.reason == "restock", OrderLine.order_id == order.id))


def status_of(order) -> str:
    db.session.rollback()
    return db.session.get(Order, order.id).shipping_status


# -- access and fragments -----------------------------------------------------------

@pytest.mark.parametrize(("role", "status"), [
    ("operator", 200), ("manager", 200), ("admin", 200), ("agent", 403)])
def test_desk_role_access(login, role, status):
    client = login(role)
    resp = client.get("/shipping/")
    assert resp.status_code == status
    assert client.get("/shipping/slips?ids=1").status_code == status
    assert client.get("/shipping/scan").status_code == status
    if status == 403:
        assert heading(resp) == "Not allowed"
        assert client.post("/shipping/bulk", data={"action": "fulfilled", "ids": "1"},
                           htmx=True).status_code == 403
        assert client.post("/shipping/scan", data={"code": "1"}, htmx=True).status_code == 403
    else:
        assert heading(resp) == "Shipping"


def test_desk_settings_are_for_managers(login):
    assert login("operator").get("/shipping/settings").status_code == 403
    assert login("manager").get("/shipping/settings").status_code == 200


def test_desk_full_page_and_htmx_block(login, parcel_order):
    order, _ = parcel_order("created", city="Tanger")
    client = login("operator")
    page = client.get("/shipping/?city=Tanger")
    body = page.get_data(as_text=True)
    assert "<html" in body and 'id="filters"' in body and listed(page) == [order.id]
    assert "HX-Request" in page.headers["Vary"]
    block = client.hx_get("/shipping/?city=Tanger")
    html = block.get_data(as_text=True)
    assert block.status_code == 200 and "<html" not in html and 'id="filters"' not in html
    assert html.lstrip().startswith('<div id="results"') and listed(block) == [order.id]
    assert "hx-swap-oob" not in html


def test_desk_row_shows_what_the_packer_needs(login, parcel_order, confirmed):
    order, parcel = parcel_order("shipped", tracking="SBX-ROW-0001",
                                 customer_name="Nadia Alaoui", city="Agadir")
    db.session.execute(update(Parcel).where(Parcel.id == parcel.id).values(
        carrier_status_text="Out for delivery", last_event_at=utcnow() - timedelta(hours=3)))
    db.session.commit()
    waiting = confirmed(utcnow())
    page = text(login("operator").get("/shipping/"))
    row = re.search(rf'<tr data-order="{order.id}".*?</tr>', page, re.S).group(0)
    for shown in (f'href="/orders/{order.id}"', "Nadia Alaoui", "Agadir", parcel.carrier.name,
                  "SBX-ROW-0001", "Out for delivery", "3 h ago", 'data-status="shipped"',
                  f'name="ids" value="{order.id}"'):
        assert shown in row, shown
    other = re.search(rf'<tr data-order="{waiting.id}".*?</tr>', page, re.S).group(0)
    assert "not registered" in other


# -- tabs, filters, pages -----------------------------------------------------------

def test_desk_tab_counts_match_the_data(login, parcel_order, confirmed):
    for status in ("created", "created", "fulfilled", "shipped", "in_return", "returned"):
        parcel_order(status)
    confirmed(utcnow() - timedelta(days=9))  # created, no tracking after 9 days: stuck
    _, failing = parcel_order("created")
    record_failure([failing.id], "Carrier said: address unknown")
    db.session.commit()
    counts = tabs(login("operator").get("/shipping/"))
    assert counts == {"all": 8, "created": 4, "fulfilled": 1, "shipped": 1,
                      "package_issue": 0, "delivered": 0, "in_return": 1, "returned": 1,
                      "canceled": 0, "stuck": 1, "errors": 1}


def test_desk_tabs_and_filters_come_from_the_url(login, parcel_order, make_carrier):
    other = make_carrier(name="Amana")
    packed, _ = parcel_order("fulfilled", city="Rabat")
    waiting, _ = parcel_order("created", city="Rabat", carrier=other)
    parcel_order("created", city="Fès")
    client = login("operator")
    assert listed(client.get("/shipping/?status=fulfilled")) == [packed.id]
    assert listed(client.get("/shipping/?status=created&city=Rabat")) == [waiting.id]
    assert listed(client.get(f"/shipping/?carrier={other.id}")) == [waiting.id]
    page = text(client.get("/shipping/?status=created&city=Rabat"))
    assert re.search(r'class="count active" data-tab="created"', page)
    # The tab links keep the filters; the pager and the tabs drop the cursor.
    assert 'href="/shipping/?status=fulfilled&amp;city=Rabat"' in \
        client.get("/shipping/?status=created&city=Rabat").get_data(as_text=True)


def test_desk_pages_by_fifty_with_a_next_link(login, confirmed):
    start = datetime(2026, 11, 1, 8, 0)
    made = [confirmed(start + timedelta(minutes=i)).id for i in range(53)]
    client = login("operator")
    first = client.get("/shipping/?status=created")
    assert listed(first) == made[:50]
    link = re.search(r'<a rel="next" href="([^"]+)"', text(first)).group(1)
    arrived = confirmed(utcnow()).id  # confirmed while the operator reads page one
    second = client.hx_get(link)
    assert listed(second) == made[50:] + [arrived]
    assert "<html" not in second.get_data(as_text=True)
    assert 'rel="next"' not in text(second)


def test_desk_bad_filters_get_a_message_not_an_error(login, confirmed):
    confirmed(utcnow())
    client = login("operator")
    for query, message in [
        ("status=flying", "Status"),
        ("from=2026-11-20&to=2026-11-01", "end date is before the start date"),
        ("after=garbage", "page link is broken"),
        ("carrier=999999", "Carrier"),
    ]:
        resp = client.hx_get(f"/shipping/?{query}")
        assert resp.status_code == 422, query
        assert message in text(resp), query
        assert listed(resp) == [], query


def test_desk_error_tab_shows_the_carrier_error(login, parcel_order):
    _, fine = parcel_order("created")
    order, parcel = parcel_order("created", tracking=None)
    db.session.execute(update(Parcel).where(Parcel.id == parcel.id)
                       .values(tracking_number=None))
    record_failure([parcel.id], "Carrier refused: <b>city not served</b>")
    db.session.commit()
    resp = login("operator").get("/shipping/?error=1")
    assert listed(resp) == [order.id]
    body = resp.get_data(as_text=True)
    assert "Carrier refused: &lt;b&gt;city not served&lt;/b&gt;" in body
    assert 'class="parcel-error"' in body and "not registered" not in body
    assert tabs(resp)["errors"] == 1


def test_desk_stuck_tab_lists_stuck_parcels_with_why(login, parcel_order, confirmed):
    late = confirmed(utcnow() - timedelta(days=8))
    confirmed(utcnow() - timedelta(days=2))
    quiet, parcel = parcel_order("shipped")
    db.session.execute(update(Parcel).where(Parcel.id == parcel.id)
                       .values(last_event_at=utcnow() - timedelta(hours=60)))
    db.session.commit()
    resp = login("operator").get("/shipping/?stuck=1")
    assert listed(resp) == [late.id, quiet.id]
    assert "Stuck: no tracking number" in text(resp)
    assert "Stuck: no carrier news" in text(resp)
    assert tabs(resp)["stuck"] == 2


def test_desk_empty_states_say_what_to_do(login):
    client = login("operator")
    assert "Nothing to pack" in text(client.get("/shipping/?status=created"))
    assert "Nothing is stuck" in text(client.get("/shipping/?stuck=1"))
    assert "Clear the filters" in text(client.get("/shipping/?city=Nowhere"))


def test_desk_page_costs_the_same_queries_for_3_or_30_rows(login, confirmed, count_queries):
    client = login("operator")
    start = datetime(2026, 11, 1, 8, 0)
    for i in range(3):
        confirmed(start + timedelta(minutes=i))
    client.get("/shipping/?status=created")  # warm the per-process caches (names, counts)
    with count_queries() as small:
        client.get("/shipping/?status=created")
    for i in range(27):
        confirmed(start + timedelta(hours=1, minutes=i))
    client.get("/shipping/?status=created")
    with count_queries() as large:
        resp = client.get("/shipping/?status=created")
    assert len(listed(resp)) == 30
    assert large.n == small.n


def test_desk_select_all_returns_matching_ids(login, confirmed):
    start = datetime(2026, 11, 1, 8, 0)
    made = [confirmed(start + timedelta(minutes=i), city="Oujda").id for i in range(4)]
    confirmed(start, city="Fès")
    resp = login("operator").get("/shipping/ids?city=Oujda")
    assert resp.get_json() == {"ids": made}


# -- bulk actions -------------------------------------------------------------------

def test_bulk_moves_each_order_and_names_the_refused_one(login, parcel_order):
    first, first_parcel = parcel_order("created")
    shipped, _ = parcel_order("shipped")
    second, _ = parcel_order("created")
    client = login("operator")
    resp = client.post("/shipping/bulk", htmx=True, data={
        "action": "fulfilled", "ids": [str(first.id), str(shipped.id), str(second.id)],
        "view": "status=created"})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "<html" not in body
    lines = report_lines(resp)
    assert lines[first.id][0] == "yes" and lines[second.id][0] == "yes"
    assert lines[shipped.id] == (
        "no", f"✗ #{shipped.id} Order #{shipped.id} is Shipped; it cannot move to Fulfilled.")
    assert "2 done" in text(resp) and "1 refused" in text(resp)
    # The rows and counts come along out of band, at the filters the operator had.
    assert '<div id="results" class="results" hx-swap-oob="true">' in body
    assert listed(resp) == []  # both left the Created tab
    assert (status_of(first), status_of(second), status_of(shipped)) == (
        "fulfilled", "fulfilled", "shipped")
    moves = db.session.execute(
        select(AuditEvent.order_id, AuditEvent.from_value, AuditEvent.to_value,
               AuditEvent.actor_name)
        .where(AuditEvent.kind == "shipping", AuditEvent.actor_name == client.user.username)
        .order_by(AuditEvent.order_id)).all()
    assert moves == [(first.id, "created", "fulfilled", client.user.username),
                     (second.id, "created", "fulfilled", client.user.username)]
    timeline = db.session.execute(select(ParcelEvent.source, ParcelEvent.maps_to)
                                  .where(ParcelEvent.parcel_id == first_parcel.id)).all()
    assert timeline == [("manual", "fulfilled")]


def test_bulk_moves_are_saved_only_by_the_one_commit(app, parcel_order, make_user):
    first, _ = parcel_order("created")
    second, _ = parcel_order("created")
    report = move_each([first.id, second.id], "fulfilled", Actor.of(make_user("operator")))
    assert report.done == 2
    db.session.rollback()  # as if the request failed before its commit
    assert (status_of(first), status_of(second)) == ("created", "created")


def test_bulk_returned_restocks_exactly_once(login, parcel_order, make_product):
    product = make_product(stock=20)
    back, _ = parcel_order("in_return", lines=[(product, 2)])
    unsent, _ = parcel_order("fulfilled", lines=[(product, 3)])
    assert on_hand(product) == 15
    client = login("operator")
    resp = client.post("/shipping/bulk", htmx=True, data={
        "action": "returned", "ids": f"{back.id},{unsent.id}", "view": ""})
    assert {i: ok for i, (ok, _) in report_lines(resp).items()} == {back.id: "yes",
                                                                    unsent.id: "yes"}
    assert on_hand(product) == 20
    assert restocks(back) == 1 and restocks(unsent) == 1
    again = client.post("/shipping/bulk", htmx=True, data={
        "action": "returned", "ids": f"{back.id},{unsent.id}", "view": ""})
    assert all(ok == "no" for ok, _ in report_lines(again).values())
    assert "is Returned; it cannot move to Returned" in text(again)
    assert on_hand(product) == 20
    assert restocks(back) == 1 and restocks(unsent) == 1


def test_bulk_from_a_plain_form_redirects_back_with_messages(login, parcel_order):
    order, _ = parcel_order("created")
    delivered, _ = parcel_order("delivered")
    client = login("operator")
    resp = client.post("/shipping/bulk", data={
        "action": "canceled", "ids": [str(order.id), str(delivered.id)],
        "view": "status=created&city=Casablanca"})
    assert resp.status_code == 303
    assert location(resp) == ("/shipping/", {"status": ["created"], "city": ["Casablanca"]})
    page = text(client.get(resp.headers["Location"]))
    assert "Canceled: 1 done, 1 refused." in page
    assert (f"#{delivered.id}: Order #{delivered.id} is Delivered; it cannot move to Canceled."
            in page)
    assert status_of(order) == "canceled"


def test_bulk_refuses_nothing_selected_and_more_than_500(login):
    client = login("operator")
    none = client.post("/shipping/bulk", htmx=True, data={"action": "fulfilled"})
    assert none.status_code == 422 and "Select at least one order" in text(none)
    many = ",".join(str(i) for i in range(1, 502))
    over = client.post("/shipping/bulk", htmx=True, data={"action": "fulfilled", "ids": many})
    assert over.status_code == 422 and "at most 500" in text(over)
    bad = client.post("/shipping/bulk", htmx=True, data={"action": "explode", "ids": "1"})
    assert bad.status_code == 422 and "Pick an action" in text(bad)


def test_bulk_sync_now_asks_each_carrier_once(login, parcel_order, make_carrier, confirmed):
    amana, ctm = make_carrier(name="Amana"), make_carrier(name="CTM")
    a1, p1 = parcel_order("shipped", carrier=amana)
    a2, p2 = parcel_order("fulfilled", carrier=amana)
    c1, p3 = parcel_order("shipped", carrier=ctm)
    bare = confirmed(utcnow())
    resp = login("operator").post("/shipping/bulk", htmx=True, data={
        "action": "sync", "ids": f"{a1.id},{a2.id},{c1.id},{bare.id}"})
    page = text(resp)
    assert "Asked Amana about 2 parcels." in page and "Asked CTM about 1 parcel." in page
    assert report_lines(resp)[bare.id][0] == "no"
    assert "Not registered with a carrier yet" in page
    jobs = {job.args[0]: sorted(job.args[1]) for job in get_queue("carriers").jobs}
    assert jobs == {amana.id: sorted([p1.id, p2.id]), ctm.id: [p3.id]}
    # Asking again about the same parcels while those jobs wait adds no job.
    login("operator").post("/shipping/bulk", htmx=True, data={
        "action": "sync", "ids": f"{c1.id}"})
    assert get_queue("carriers").count == 2


def test_bulk_print_slips_sends_to_the_slips(login, parcel_order):
    order, _ = parcel_order("created")
    client = login("operator")
    plain = client.post("/shipping/bulk", data={"action": "slips", "ids": str(order.id)})
    assert plain.status_code == 303
    assert location(plain) == ("/shipping/slips", {"ids": [str(order.id)]})
    htmx = client.post("/shipping/bulk", htmx=True, data={"action": "slips",
                                                          "ids": str(order.id)})
    assert htmx.headers["HX-Redirect"] == f"/shipping/slips?ids={order.id}"


# -- packing slips ------------------------------------------------------------------

def test_slips_one_per_order_with_barcode_and_everything_to_pack(login, parcel_order,
                                                                 make_product):
    product = make_product(sku="ARG-250", name="Argan oil 250ml")
    order, parcel = parcel_order("created", tracking="SBX0000000042",
                                 lines=[(product, 3)], cod_amount_cents=25900)
    db.session.execute(update(Parcel).where(Parcel.id == parcel.id)
                       .values(label_url="https://labels.example/42.pdf"))
    db.session.commit()
    other, _ = parcel_order("fulfilled")
    resp = login("operator").get(f"/shipping/slips?ids={order.id},{other.id}")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert body.count('<article class="slip"') == 2
    slip = re.search(rf'<article class="slip" data-order="{order.id}">.*?</article>', body,
                     re.S).group(0)
    assert f'aria-label="Barcode #{order.id}"' in slip and "<svg" in slip
    for shown in ("Customer", order.customer_name, order.phone, order.address, order.city,
                  "ARG-250", "Argan oil 250ml", "<b>3</b>", "259.00 MAD",
                  parcel.carrier.name, "SBX0000000042", 'href="https://labels.example/42.pdf"'):
        assert shown in slip, shown


def test_slips_escape_customer_data(login, parcel_order):
    order, parcel = parcel_order(
        "created", customer_name="<script>alert(1)</script>",
        address='"><img src=x onerror=alert(2)>', city="<i>Casa</i>")
    db.session.execute(update(Parcel).where(Parcel.id == parcel.id)
                       .values(label_url="javascript:alert(3)"))
    db.session.commit()
    body = login("operator").get(f"/shipping/slips?ids={order.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(2)&gt;" in body
    assert "<i>Casa</i>" not in body
    assert "javascript:alert(3)" not in body  # a label link only when it is a web address


def test_slips_say_which_numbers_do_not_exist(login):
    client = login("operator")
    resp = client.get("/shipping/slips?ids=999999")
    assert resp.status_code == 200 and "#999999" in text(resp)
    assert client.get("/shipping/slips").status_code == 422
    assert client.get("/shipping/slips?ids=abc").status_code == 422


# -- settings -----------------------------------------------------------------------

def test_settings_saved_by_a_manager_change_the_stuck_tab(login, confirmed):
    late = confirmed(utcnow() - timedelta(days=4))
    client = login("manager")
    assert listed(client.get("/shipping/?stuck=1")) == []
    form = client.get("/shipping/settings")
    assert 'value="48"' in text(form) and 'value="7"' in text(form)
    resp = client.post("/shipping/settings", data={
        "stuck_no_update_hours": "24", "stuck_no_tracking_days": "3",
        "stuck_in_return_days": "10"})
    assert resp.status_code == 303 and location(resp) == ("/shipping/", {"stuck": ["1"]})
    assert ShippingSettings.load() == ShippingSettings(24, 3, 10)
    assert listed(client.get("/shipping/?stuck=1")) == [late.id]


def test_settings_refuse_nonsense(login):
    resp = login("manager").post("/shipping/settings", data={
        "stuck_no_update_hours": "0", "stuck_no_tracking_days": "x",
        "stuck_in_return_days": "10"})
    assert resp.status_code == 422
    assert ShippingSettings.load() == ShippingSettings()
