"""The orders list over HTTP: roles, htmx block swap, filters in the URL, query counts."""

import re
from datetime import datetime, timedelta

import pytest

from extensions import db
from models import Actor, AuditEvent
from models.orders.operations import change_confirmation

ROW = re.compile(r'<a href="/orders/(\d+)">#')


def listed(resp) -> list[int]:
    return [int(i) for i in ROW.findall(resp.get_data(as_text=True))]


@pytest.mark.parametrize(("role", "status"), [
    ("operator", 200), ("manager", 200), ("admin", 200), ("agent", 403)])
def test_orders_list_role_access(login, role, status):
    assert login(role).get("/orders/").status_code == status


def test_orders_list_full_page_and_htmx_block(login, make_order):
    order = make_order(city="Tanger")
    client = login("manager")
    page = client.get("/orders/?city=Tanger")
    body = page.get_data(as_text=True)
    assert "<html" in body and 'id="filters"' in body and listed(page) == [order.id]
    assert "HX-Request" in page.headers["Vary"]
    block = client.hx_get("/orders/?city=Tanger")
    html = block.get_data(as_text=True)
    assert block.status_code == 200 and "<html" not in html and 'id="filters"' not in html
    assert html.lstrip().startswith('<div id="results"') and listed(block) == [order.id]
    assert "HX-Request" in block.headers["Vary"]


def test_orders_list_boosted_navigation_gets_the_whole_page(login, make_order):
    make_order()
    resp = login("manager").get("/orders/", headers={"HX-Request": "true",
                                                     "HX-Boosted": "true"})
    assert "<html" in resp.get_data(as_text=True)


def test_orders_list_filters_and_search_from_the_url(login, make_order, make_user):
    agent = make_user("agent")
    wanted = make_order(city="Rabat", phone="0612121212", phone_normalized="+212612121212")
    make_order(city="Rabat")
    make_order(city="Fès", phone="0612121212", phone_normalized="+212612121212")
    wanted.claimed_by_id = agent.id
    db.session.commit()
    change_confirmation(wanted, "no_answer", Actor.of(agent))
    db.session.commit()
    client = login("operator")
    assert listed(client.get("/orders/?city=Rabat&q=%2B212+6+12+12+12+12")) == [wanted.id]
    assert listed(client.get(f"/orders/?conf=no_answer&agent={agent.id}")) == [wanted.id]


def test_orders_list_bad_filters_get_a_message_not_an_error(login, make_order):
    make_order()
    client = login("manager")
    for query, message in [
        ("conf=flying", "Confirmation"),
        ("from=2026-11-20&to=2026-11-01", "end date is before the start date"),
        ("before=garbage", "page link is broken"),
        ("from=yesterday", "From"),
        ("channel=999999", "Channel"),
    ]:
        resp = client.hx_get(f"/orders/?{query}")
        assert resp.status_code == 422, query
        assert message in resp.get_data(as_text=True), query
        assert listed(resp) == [], query


def test_orders_list_pages_with_older_link(login, make_order, make_product):
    product = make_product(stock=0)
    start = datetime(2026, 11, 1)
    made = [make_order(lines=[(product, 1)], created_at=start + timedelta(minutes=i)).id
            for i in range(55)]
    client = login("manager")
    first = client.get("/orders/")
    assert listed(first) == sorted(made, reverse=True)[:50]
    older = re.search(r'href="(/orders/\?before=[^"]+)"', first.get_data(as_text=True))
    second = client.get(older.group(1).replace("&amp;", "&"))
    assert listed(second) == sorted(made, reverse=True)[50:]
    assert "Older" not in second.get_data(as_text=True)


def test_orders_list_counts_beside_filters(login, make_order, make_channel, make_user):
    shop = make_channel(name="Shop A")
    agent = make_user("agent")
    for _ in range(3):
        make_order(channel=shop)
    order = make_order(channel=shop)
    order.claimed_by_id = agent.id
    change_confirmation(order, "fake", Actor.of(agent), note="prank")
    make_order()  # another channel
    db.session.commit()
    client = login("manager")
    text = re.sub(r"\s+", " ", client.get(f"/orders/?channel={shop.id}").get_data(as_text=True))
    assert re.search(r"All <b>4</b>", text)
    assert re.search(r'data-status="new">New</span> <b>3</b>', text)
    assert re.search(r'data-status="fake">Fake</span> <b>1</b>', text)
    everything = re.sub(r"\s+", " ", client.get("/orders/").get_data(as_text=True))
    assert re.search(r"All <b>5</b>", everything)


def test_orders_list_escapes_customer_data(login, make_order):
    make_order(customer_name='<img src=x onerror="alert(1)">', city="<b>Fès</b>")
    body = login("manager").get("/orders/").get_data(as_text=True)
    assert "<img src=x" not in body and "&lt;img src=x" in body
    assert "<b>Fès</b>" not in body


def test_orders_list_empty_state_says_what_to_do(login):
    body = login("manager").get("/orders/?city=Nowhere").get_data(as_text=True)
    assert "No orders match these filters" in body and "Clear the filters" in body


def test_orders_list_query_count_does_not_grow_with_rows(login, make_order, make_product,
                                                         count_queries):
    product = make_product(stock=0)
    client = login("manager")
    make_order(lines=[(product, 1)])
    with count_queries() as few:
        client.get("/orders/")
    for _ in range(30):
        make_order(lines=[(product, 2)])
    with count_queries() as many:
        client.get("/orders/")
    assert few.n == many.n <= 8


def test_order_detail_query_count_is_constant(login, make_order, make_product, make_user,
                                              count_queries):
    products = [make_product(stock=50) for _ in range(4)]
    small = make_order(lines=[(products[0], 1)])
    big = make_order(lines=[(p, 2) for p in products])
    agent = make_user("agent")
    for i in range(12):
        db.session.add(AuditEvent(order_id=big.id, actor_user_id=agent.id, actor_name="x",
                                  kind="edit", note=f"change {i}"))
    db.session.commit()
    client = login("manager")
    with count_queries() as one:
        assert client.get(f"/orders/{small.id}").status_code == 200
    with count_queries() as four:
        assert client.get(f"/orders/{big.id}").status_code == 200
    assert one.n == four.n <= 8
