"""The orders list's push column and filter, and sending held orders on from it."""

import re

import pytest
from sqlalchemy import select
from sqlalchemy import text as sql

from extensions import db
from models import Order
from models.orders.listing import LIST_COLUMNS, OrderFilters, filtered

from .pages import squash, text

ROW = re.compile(r'<a href="/orders/(\d+)">#')
TICK = re.compile(r'<input type="checkbox" name="ids" value="(\d+)" form="send-form"')


def listed(resp) -> list[int]:
    return [int(i) for i in ROW.findall(resp.get_data(as_text=True))]


def push_of(order) -> tuple[str, str]:
    db.session.expire_all()
    found = db.session.get(Order, order.id)
    return found.push_status, found.push_detail


@pytest.fixture
def orders(make_order, make_product):
    """One order of each push status; the error one has a line outside the catalogue."""
    sent = make_order()
    waiting = make_order(push_status="not_sent",
                         push_detail="Forwarding is off for this channel: send it by hand.")
    broken = make_order(push_status="error", push_detail="Unknown SKU “ZZ-9”.")
    broken.lines[0].product_id, broken.lines[0].sku = None, "ZZ-9"
    db.session.commit()
    return {"sent": sent, "not_sent": waiting, "error": broken}


def test_push_column_shows_each_status_and_why_an_order_is_held(login, orders):
    page = login("operator").get("/orders/")
    body = page.get_data(as_text=True)
    for name, order in orders.items():
        cell = re.search(rf'<div id="push-{order.id}" class="push-cell">(.*?)</div>', body, re.S)
        assert f'data-status="{name}"' in cell.group(1)
    held = re.search(rf'<div id="push-{orders["error"].id}".*?</div>', body, re.S).group(0)
    assert re.search(r"<details class=\"push-detail\"><summary>.*Error.*</summary>"
                     r"<small>Unknown SKU “ZZ-9”.</small></details>", held)
    # Only held orders can be ticked for sending, and the bar is there for them.
    assert sorted(int(i) for i in TICK.findall(body)) == sorted(
        [orders["not_sent"].id, orders["error"].id])
    assert 'id="send-form"' in body and 'id="select-page"' in body


def test_the_send_bar_is_absent_when_every_order_went_through(login, make_order):
    make_order()
    body = login("operator").get("/orders/").get_data(as_text=True)
    assert 'id="send-form"' not in body and TICK.findall(body) == []


@pytest.mark.parametrize("push", ["sent", "not_sent", "error"])
def test_push_filter_lists_only_that_status(login, orders, push):
    resp = login("manager").hx_get(f"/orders/?push={push}")
    assert resp.status_code == 200 and listed(resp) == [orders[push].id]
    # Links built from the filters keep it (counts, paging).
    assert f"push={push}" in resp.get_data(as_text=True)


def test_push_filter_refuses_a_made_up_status(login, orders):
    resp = login("manager").hx_get("/orders/?push=lost")
    assert resp.status_code == 422 and "Push: Not a valid choice" in squash(text(resp))


def test_push_filter_reads_its_index(app):
    """The filter is served by ix_orders_push_created, newest first, like every other filter."""
    query = filtered(select(*LIST_COLUMNS), OrderFilters(push="not_sent")).order_by(
        Order.created_at.desc(), Order.id.desc()).limit(51)
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(sql("SET enable_seqscan = off"))  # an empty table: plan as if big
        plan = " ".join(str(row) for row in conn.execute(sql(prefix + str(compiled))))
    assert "ix_orders_push_created" in plan


def test_send_reports_each_order_and_refreshes_its_push_cell(login, orders):
    resp = login("operator").post("/orders/send", htmx=True, data={"ids": [
        str(orders["not_sent"].id), str(orders["error"].id), str(orders["sent"].id)]})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body
    lines = [squash(li) for li in re.findall(r"<li [^>]*>\s*<span[^>]*>.</span>(.*?)</li>",
                                             text(resp), re.S)]
    assert lines == [
        f"#{orders['not_sent'].id} sent to the call queue.",
        f"#{orders['error'].id} still not sent: SKU ZZ-9 is not in the catalogue.",
        f"#{orders['sent'].id} was already sent.",
    ]
    sent_cell = re.search(rf'<div id="push-{orders["not_sent"].id}" class="push-cell" '
                          r'hx-swap-oob="true">(.*?)</div>', body, re.S).group(1)
    assert 'data-status="sent"' in sent_cell and "checkbox" not in sent_cell
    assert f'id="push-{orders["sent"].id}"' not in body  # unchanged: left as it is
    assert push_of(orders["not_sent"]) == ("sent", "")
    assert push_of(orders["error"]) == ("error", "SKU ZZ-9 is not in the catalogue.")


def test_send_without_htmx_redirects_to_the_list_with_the_report(login, orders):
    client = login("admin")
    resp = client.post("/orders/send", data={"ids": [str(orders["not_sent"].id)]})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/orders/")
    page = text(client.get("/orders/"))
    assert f"#{orders['not_sent'].id} sent to the call queue." in page
    assert push_of(orders["not_sent"])[0] == "sent"


@pytest.mark.parametrize(("ids", "message"), [
    ([], "Select at least one order."),
    (["12abc"], "“12abc” is not an order number."),
])
def test_send_with_nothing_usable_ticked_says_so(login, orders, ids, message):
    resp = login("operator").post("/orders/send", htmx=True, data={"ids": ids})
    assert resp.status_code == 422 and message in text(resp)
    assert resp.headers["HX-Retarget"] == "#messages"


def test_agents_cannot_send_and_nothing_moves(login, orders):
    resp = login("agent").post("/orders/send", htmx=True,
                               data={"ids": [str(orders["not_sent"].id)]})
    assert resp.status_code == 403
    assert push_of(orders["not_sent"])[0] == "not_sent"


def test_send_needs_the_csrf_token(login, orders):
    resp = login("operator").post("/orders/send", csrf=False,
                                  data={"ids": [str(orders["not_sent"].id)]})
    assert resp.status_code == 400
    assert push_of(orders["not_sent"])[0] == "not_sent"


def test_sending_a_prepaid_order_confirms_it(login, make_order, make_channel, make_product):
    channel = make_channel(confirm_by="system")
    order = make_order(channel=channel, lines=[(make_product(stock=5), 2)],
                       push_status="not_sent", push_detail="Waiting for the channel to say "
                                                           "it is paid.")
    resp = login("operator").post("/orders/send", htmx=True, data={"ids": [str(order.id)]})
    assert f"#{order.id} confirmed by the system." in text(resp)
    db.session.expire_all()
    assert db.session.get(Order, order.id).confirmation_status == "confirmed"
