"""The order detail page and the status actions on it, over HTTP."""

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Actor, AuditEvent, Order, StockLevel
from models.orders.operations import change_confirmation, change_shipping

from .pages import audit_rows, header_statuses, heading, location, squash, text

CARRIER = Actor.carrier("sandbox")


@pytest.fixture
def agent(make_user):
    """The agent who takes orders off the call queue."""
    return make_user(role="agent")


@pytest.fixture
def confirmed(make_order, agent):
    """confirmed(**overrides): an order the agent held on the phone and confirmed."""

    def make(note: str = "", **overrides) -> Order:
        order = make_order(claimed_by_id=agent.id, **overrides)
        change_confirmation(order, "confirmed", Actor.of(agent), note=note)
        db.session.commit()
        return order

    return make


def move(order: Order, *steps: tuple[str, Actor]) -> Order:
    """Walk an order through shipping moves, each by its own actor."""
    for to, actor in steps:
        change_shipping(order, to, actor)
        db.session.commit()
    return order


def reload(order_id: int) -> Order:
    """The order as stored, after the request's session work is over."""
    db.session.rollback()
    return db.session.get(Order, order_id)


def events(order_id: int) -> list[AuditEvent]:
    """Audit events of an order, oldest first."""
    db.session.rollback()
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.order_id == order_id).order_by(AuditEvent.id)
    ).scalars())


def state(order_id: int) -> tuple:
    """What a refused request must leave untouched."""
    order = reload(order_id)
    return (order.confirmation_status, order.shipping_status, order.version,
            order.tracking_number, len(events(order_id)))


def on_hand(product_id: int) -> int:
    """Stock on hand of a product across warehouses."""
    db.session.rollback()
    return db.session.scalar(
        select(func.sum(StockLevel.on_hand)).where(StockLevel.product_id == product_id)
    )


def ship(client, order: Order, to: str, version: int | None = None, htmx: bool = False,
         **fields):
    """POST a shipping move as the detail page's form does."""
    data = {"to": to, "version": order.version if version is None else version, **fields}
    return client.post(f"/orders/{order.id}/shipping", data=data, htmx=htmx)


def actions(resp) -> list[str]:
    """The shipping moves the page offers as buttons."""
    chunks = resp.get_data(as_text=True).split('name="to" value="')[1:]
    return [chunk.split('"', 1)[0] for chunk in chunks]


def version_on_page(resp) -> int:
    """The version the page's forms will send back."""
    body = resp.get_data(as_text=True)
    marker = 'name="version" value="'
    assert marker in body, "the page has no action form"
    return int(body.split(marker, 1)[1].split('"', 1)[0])


# --- the detail page ------------------------------------------------------------


def test_detail_shows_customer_lines_statuses_and_history(
    login, confirmed, make_product, agent
):
    product = make_product(sku="ARG-250", name="Argan oil 250ml", price_cents=9900)
    order = confirmed(
        customer_name="Fatima Zahra", city="Marrakech", address="3 Derb Sidi Bouloukat",
        lines=[(product, 2)], note="Customer confirmed by phone",
    )
    resp = login("operator").get(f"/orders/{order.id}")
    assert resp.status_code == 200
    assert heading(resp) == f"Order #{order.id}"
    page = squash(text(resp))
    for shown in ("Fatima Zahra", "Marrakech", "3 Derb Sidi Bouloukat", "0612345678",
                  "ARG-250", "Argan oil 250ml", "99.00 MAD", "129.00 MAD"):
        assert shown in page
    assert header_statuses(resp) == ["confirmed", "created"]
    assert 'data-status="confirmed"' in resp.get_data(as_text=True)
    assert 'data-status="created"' in resp.get_data(as_text=True)

    rows = audit_rows(resp)
    assert [r.kind for r in rows] == ["stock", "shipping", "confirmation"]
    assert {r.actor for r in rows} == {agent.username}
    assert "ARG-250" in rows[0].text and "-2" in rows[0].text
    assert rows[1].statuses == ["created"]
    assert rows[2].statuses == ["new", "confirmed"]
    assert rows[2].note == "Customer confirmed by phone"


def test_detail_history_newest_first(login, confirmed):
    order = confirmed()
    c = login("operator")
    assert ship(c, order, "fulfilled", note="Packed with care").status_code == 303
    rows = audit_rows(c.get(f"/orders/{order.id}"))
    assert rows[0].kind == "shipping"
    assert rows[0].actor == c.user.username
    assert rows[0].statuses == ["created", "fulfilled"]
    assert rows[0].note == "Packed with care"
    assert "→" in rows[0].text
    assert rows[-1].kind == "confirmation"


def test_detail_escapes_customer_data(login, make_order):
    order = make_order(customer_name="<script>alert(1)</script>",
                       address='"><img src=x onerror=alert(2)>')
    resp = login("manager").get(f"/orders/{order.id}")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)" not in body
    assert "<img src=x" not in body


def test_detail_unknown_order_not_found(login):
    resp = login("operator").get("/orders/999999")
    assert resp.status_code == 404
    assert heading(resp) == "Not found"


def test_detail_vary_header_names_hx_request(login, make_order):
    order = make_order()
    c = login("operator")
    assert "HX-Request" in c.get(f"/orders/{order.id}").headers["Vary"]
    assert "HX-Request" in c.hx_get(f"/orders/{order.id}").headers["Vary"]


def test_detail_htmx_get_returns_state_block_only(login, make_order):
    order = make_order(customer_name="Youssef Amrani")
    resp = login("operator").hx_get(f"/orders/{order.id}")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="order-state">')
    assert 'id="order"' not in body
    assert "Youssef Amrani" in body


def test_detail_boosted_get_returns_full_page(login, make_order):
    order = make_order()
    resp = login("operator").hx_get(f"/orders/{order.id}", headers={"HX-Boosted": "true"})
    assert resp.status_code == 200
    assert "<html" in resp.get_data(as_text=True)


# --- shipping moves -------------------------------------------------------------


def test_set_shipping_htmx_returns_updated_fragment(login, confirmed):
    order = confirmed()
    c = login("operator")
    resp = ship(c, order, "fulfilled", htmx=True)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "<html" not in body
    assert header_statuses(resp) == ["confirmed", "fulfilled"]
    assert "Fulfilled" in body

    stored = reload(order.id)
    assert stored.shipping_status == "fulfilled"
    assert version_on_page(resp) == stored.version
    last = events(order.id)[-1]
    assert (last.kind, last.from_value, last.to_value) == ("shipping", "created", "fulfilled")
    assert last.actor_user_id == c.user.id
    assert last.actor_name == c.user.username
    assert audit_rows(resp)[0].actor == c.user.username


def test_set_shipping_form_post_redirects_to_detail(login, confirmed):
    order = confirmed()
    c = login("operator")
    resp = ship(c, order, "fulfilled")
    assert resp.status_code == 303
    assert location(resp)[0] == f"/orders/{order.id}"
    page = c.get(location(resp)[0])
    assert header_statuses(page) == ["confirmed", "fulfilled"]
    assert reload(order.id).shipping_status == "fulfilled"


def test_set_shipping_form_has_no_tracking_field(login, confirmed):
    """The tracking number is set with the parcel's own form, not with a status move."""
    order = confirmed()
    page = login("operator").get(f"/orders/{order.id}").get_data(as_text=True)
    move_form = page.split(f'action="/orders/{order.id}/shipping"', 1)[1].split("</form>", 1)[0]
    assert 'name="tracking_number"' not in move_form
    assert f'action="/orders/{order.id}/tracking"' in page


def test_set_shipping_refused_transition_htmx(login, confirmed):
    order = confirmed()
    before = state(order.id)
    resp = ship(login("operator"), order, "delivered", htmx=True)
    assert resp.status_code == 409
    assert "cannot move to Delivered" in text(resp)
    assert resp.headers["HX-Retarget"] == "#messages"
    assert "<html" not in resp.get_data(as_text=True)
    assert state(order.id) == before
    assert before[1] == "created"


def test_set_shipping_refused_transition_form_post(login, confirmed):
    order = confirmed()
    before = state(order.id)
    resp = ship(login("operator"), order, "delivered")
    assert resp.status_code == 409
    body = text(resp)
    assert "<html" in body
    assert "cannot move to Delivered" in body
    assert state(order.id) == before


def test_set_shipping_stale_version_refused(login, confirmed):
    order = confirmed()
    seen = order.version
    first, second = login("operator"), login("operator")
    assert ship(second, order, "fulfilled").status_code == 303
    before = state(order.id)

    resp = ship(first, order, "canceled", version=seen, htmx=True)
    assert resp.status_code == 409
    assert "changed by someone else" in text(resp)
    assert state(order.id) == before
    assert before[1] == "fulfilled"


def test_set_shipping_unknown_status_refused(login, confirmed):
    order = confirmed()
    before = state(order.id)
    resp = ship(login("operator"), order, "flying", htmx=True)
    assert resp.status_code == 422
    assert "“flying” is not a shipping status" in text(resp)
    assert state(order.id) == before


def test_set_shipping_missing_version_refused(login, confirmed):
    order = confirmed()
    before = state(order.id)
    resp = login("operator").post(f"/orders/{order.id}/shipping", data={"to": "fulfilled"},
                                  htmx=True)
    assert resp.status_code == 422
    assert "<html" not in resp.get_data(as_text=True)
    assert state(order.id) == before


def test_set_shipping_carrier_scan_refused_for_operator(login, confirmed, make_user):
    order = confirmed()
    c = login("operator")
    move(order, ("fulfilled", Actor.of(c.user)))
    page = c.get(f"/orders/{order.id}")
    assert "shipped" not in actions(page)
    before = state(order.id)

    resp = ship(c, order, "shipped", htmx=True)
    assert resp.status_code == 403
    assert "Only the carrier's tracking" in text(resp)
    assert state(order.id) == before


def test_set_shipping_local_delivery_operator_ships(login, confirmed):
    order = confirmed(delivery_mode="local", carrier=None)
    c = login("operator")
    move(order, ("fulfilled", Actor.of(c.user)))
    page = c.get(f"/orders/{order.id}")
    assert "shipped" in actions(page)
    assert "Local delivery" in text(page)

    resp = ship(c, order, "shipped", version=version_on_page(page))
    assert resp.status_code == 303
    assert reload(order.id).shipping_status == "shipped"
    assert events(order.id)[-1].actor_user_id == c.user.id


def test_set_shipping_returned_puts_stock_back(login, confirmed, make_product):
    product = make_product(stock=50)
    stock_before = on_hand(product.id)
    order = confirmed(lines=[(product, 3)])
    assert on_hand(product.id) == stock_before - 3
    c = login("operator")
    move(order, ("fulfilled", Actor.of(c.user)), ("shipped", CARRIER), ("in_return", CARRIER))
    page = c.get(f"/orders/{order.id}")
    assert actions(page) == ["returned"]

    resp = ship(c, order, "returned", version=version_on_page(page), htmx=True)
    assert resp.status_code == 200
    assert header_statuses(resp) == ["confirmed", "returned"]
    assert reload(order.id).shipping_status == "returned"
    assert on_hand(product.id) == stock_before
    assert actions(resp) == []

    again = ship(c, order, "returned", version=reload(order.id).version, htmx=True)
    assert again.status_code == 409
    assert "cannot move to Returned" in text(again)
    assert on_hand(product.id) == stock_before
    assert reload(order.id).shipping_status == "returned"


def test_set_shipping_unconfirmed_order_refused(login, make_order):
    order = make_order()
    before = state(order.id)
    resp = ship(login("operator"), order, "fulfilled", htmx=True)
    assert resp.status_code == 409
    assert "not confirmed" in text(resp)
    assert state(order.id) == before


# --- agents ---------------------------------------------------------------------


def test_detail_agent_without_hold_forbidden(login, make_order, make_user):
    other = make_user(role="agent")
    order = make_order(customer_name="Salma Bennani", claimed_by_id=other.id)
    resp = login("agent").get(f"/orders/{order.id}")
    assert resp.status_code == 403
    assert heading(resp) == "Not allowed"
    assert "Salma Bennani" not in text(resp)


def test_detail_agent_holding_order_sees_it(login, make_order, make_user):
    me = make_user(role="agent")
    order = make_order(customer_name="Salma Bennani", claimed_by_id=me.id)
    resp = login(me).get(f"/orders/{order.id}")
    assert resp.status_code == 200
    assert "Salma Bennani" in text(resp)
    assert actions(resp) == []


def test_set_shipping_agent_forbidden(login, confirmed, make_user):
    me = make_user(role="agent")
    order = confirmed()
    order.claimed_by_id = me.id
    db.session.commit()
    before = state(order.id)
    resp = ship(login(me), order, "fulfilled")
    assert resp.status_code == 403
    assert heading(resp) == "Not allowed"
    assert state(order.id) == before


# --- reopening ------------------------------------------------------------------


@pytest.fixture
def canceled(make_order, agent):
    """An order the agent held and canceled on the phone."""
    order = make_order(claimed_by_id=agent.id)
    change_confirmation(order, "canceled", Actor.of(agent), note="Customer refused")
    db.session.commit()
    return order


def test_reopen_by_manager_puts_order_back_to_new(login, canceled):
    c = login("manager")
    page = c.get(f"/orders/{canceled.id}")
    assert "Reopen as New" in text(page)
    resp = c.post(f"/orders/{canceled.id}/reopen",
                  data={"reason": "Customer called back", "version": version_on_page(page)})
    assert resp.status_code == 303
    assert location(resp)[0] == f"/orders/{canceled.id}"
    assert reload(canceled.id).confirmation_status == "new"
    last = events(canceled.id)[-1]
    assert (last.kind, last.from_value, last.to_value) == ("reopen", "canceled", "new")
    assert last.note == "Customer called back"
    assert last.actor_user_id == c.user.id

    rows = audit_rows(c.get(location(resp)[0]))
    assert rows[0].kind == "reopen"
    assert rows[0].note == "Customer called back"


def test_reopen_htmx_returns_fragment(login, canceled):
    c = login("manager")
    resp = c.post(f"/orders/{canceled.id}/reopen", htmx=True,
                  data={"reason": "Wrong number fixed", "version": canceled.version})
    assert resp.status_code == 200
    assert "<html" not in resp.get_data(as_text=True)
    assert header_statuses(resp)[0] == "new"
    assert "Reopen as New" not in text(resp)


def test_reopen_empty_reason_refused(login, canceled):
    before = state(canceled.id)
    resp = login("manager").post(f"/orders/{canceled.id}/reopen",
                                 data={"reason": "  ", "version": canceled.version})
    assert resp.status_code == 422
    assert "Write why the order is" in text(resp)
    assert state(canceled.id) == before
    assert before[0] == "canceled"


def test_reopen_by_operator_forbidden(login, canceled):
    c = login("operator")
    assert "Reopen as New" not in text(c.get(f"/orders/{canceled.id}"))
    before = state(canceled.id)
    resp = c.post(f"/orders/{canceled.id}/reopen",
                  data={"reason": "I want to", "version": canceled.version})
    assert resp.status_code == 403
    assert state(canceled.id) == before


def test_reopen_confirmed_order_refused(login, confirmed):
    order = confirmed()
    before = state(order.id)
    resp = login("manager").post(f"/orders/{order.id}/reopen",
                                 data={"reason": "Try again", "version": order.version})
    assert resp.status_code == 409
    assert "only canceled or fake orders can be reopened" in text(resp)
    assert state(order.id) == before
