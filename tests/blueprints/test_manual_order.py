"""Entering an order by hand: created through the door, refused with messages, the phone check."""

import re

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Actor, AuditEvent, Order, OrderLine
from models.orders.operations import change_confirmation
from models.status import Confirmation

from .pages import location, squash, text

CARD = re.compile(r'<article class="call-card" data-order="(\d+)"')
GENERATED = re.compile(r"^M-\d{6}-[2-9A-HJ-NP-Z]{4}$")


def orders_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Order))


def visible(resp) -> str:
    """The page's words as read, without the markup."""
    words = squash(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))
    return words.replace(" .", ".").replace(" ,", ",")


def field_errors(resp) -> list[str]:
    """The messages shown next to fields and rows, in page order."""
    return [squash(m) for m in re.findall(r'<small class="field-error">(.*?)</small>',
                                          text(resp), re.S)]


@pytest.fixture
def shop(make_channel, make_product):
    """A manual channel and two products in stock."""
    return {
        "channel": make_channel(name="Phone orders", kind="manual"),
        "argan": make_product(sku="ARG-250", name="Argan oil 250ml", price_cents=9900),
        "soap": make_product(sku="SOAP-1", name="Black soap", price_cents=2500),
    }


def form(shop, **changes) -> dict:
    """A complete form as an operator fills it in: one line of two argan oils."""
    data = {"channel": shop["channel"].id, "external_id": "", "customer_name": "Salma Idrissi",
            "phone": "06 61 22 33 44", "address": "12 Rue Ibn Battouta", "city": "Casablanca",
            "region": "", "cod_amount": "", "note": "Called on WhatsApp",
            "product": [str(shop["argan"].id)], "quantity": ["2"]}
    data.update(changes)
    return data


def test_manual_order_is_created_and_an_agent_claims_it(login, shop):
    operator = login("operator")
    resp = operator.post("/orders/new", data=form(
        shop, product=[str(shop["argan"].id), str(shop["soap"].id)], quantity=["2", "1"]))

    assert resp.status_code == 303
    path, _query = location(resp)
    order_id = int(path.rsplit("/", 1)[1])
    page = operator.get(path)
    assert f"Order #{order_id} created — it is in the call queue." in text(page)
    order = db.session.get(Order, order_id)
    assert GENERATED.match(order.external_id)
    assert (order.customer_name, order.phone_normalized, order.city) == (
        "Salma Idrissi", "+212661223344", "Casablanca")
    assert [(line.sku, line.quantity) for line in order.lines] == [("ARG-250", 2), ("SOAP-1", 1)]
    assert order.cod_amount_cents == 2 * 9900 + 2500  # blank: the lines' total
    assert order.push_status == "sent" and order.note == "Called on WhatsApp"
    assert db.session.scalar(select(AuditEvent.actor_name).filter_by(
        order_id=order_id, kind="import")) == operator.user.username

    card = login("agent").post("/calls/next", htmx=True)
    assert CARD.findall(card.get_data(as_text=True)) == [str(order_id)]
    assert "Salma Idrissi" in text(card)


def test_manual_order_keeps_a_typed_id_and_amount(login, shop):
    resp = login("manager").post("/orders/new", data=form(
        shop, external_id="WA-0042", cod_amount="230.50"))
    assert resp.status_code == 303
    order = db.session.execute(select(Order)).scalar_one()
    assert (order.external_id, order.cod_amount_cents) == ("WA-0042", 23050)


def test_a_channel_that_holds_orders_says_so(login, shop, make_channel):
    held = make_channel(name="Counter", kind="manual", forwarding="off")
    client = login("operator")
    resp = client.post("/orders/new", data=form(shop, channel=held.id))
    assert resp.status_code == 303
    page = text(client.get(location(resp)[0]))
    assert "held: Forwarding is off for this channel: send it by hand." in page
    assert CARD.findall(login("agent").post("/calls/next", htmx=True)
                        .get_data(as_text=True)) == []


@pytest.mark.parametrize(("changes", "message"), [
    ({"phone": "12"}, "“12” is not a phone number."),
    ({"product": [], "quantity": []}, "An order needs at least one product."),
    ({"product": [""], "quantity": ["1"]}, "An order needs at least one product."),
    ({"product": ["999999"], "quantity": ["1"]}, "Pick a product from the list."),
    ({"product": ["soap; drop"], "quantity": ["1"]}, "Pick a product from the list."),
    ({"quantity": ["0"]}, "Quantity must be a whole number from 1 to 999."),
    ({"quantity": ["two"]}, "Quantity must be a whole number from 1 to 999."),
    ({"cod_amount": "-5"}, "The amount cannot be negative."),
    ({"cod_amount": "a lot"}, "Write the amount as a number"),
    ({"customer_name": "  "}, "Customer name is required."),
    ({"city": ""}, "City is required."),
    ({"channel": "999999"}, "Not a valid choice."),
])
def test_bad_input_shows_the_form_again_with_the_message_and_creates_nothing(
        login, shop, changes, message):
    resp = login("operator").post("/orders/new", data=form(shop, **changes))
    assert resp.status_code == 422
    assert any(e.startswith(message) for e in field_errors(resp)), field_errors(resp)
    assert 'id="new-order"' in resp.get_data(as_text=True)
    assert orders_count() == 0


def test_every_problem_is_shown_at_once_and_what_was_typed_is_kept(login, shop):
    resp = login("operator").post("/orders/new", data=form(
        shop, phone="12", product=["999999", str(shop["soap"].id)], quantity=["1", "3"],
        customer_name="<b>Salma</b>"))
    assert resp.status_code == 422
    assert field_errors(resp) == ["“12” is not a phone number.", "Pick a product from the list."]
    body = resp.get_data(as_text=True)
    assert "&lt;b&gt;Salma&lt;/b&gt;" in body and "<b>Salma</b>" not in body
    assert re.search(rf'<option value="{shop["soap"].id}" selected>', body)
    assert 'value="3"' in body
    assert orders_count() == 0


def test_an_order_id_used_before_on_the_channel_links_the_existing_order(
        login, shop, make_order):
    existing = make_order(channel=shop["channel"], external_id="WA-7")
    resp = login("operator").post("/orders/new", data=form(shop, external_id="WA-7"))
    assert resp.status_code == 409
    assert (f"Order id “WA-7” is already used on this channel: order #{existing.id}."
            in visible(resp))
    assert f'href="/orders/{existing.id}"' in resp.get_data(as_text=True)
    assert orders_count() == 1


def test_generated_ids_are_unique(login, shop):
    client = login("operator")
    for _ in range(4):
        assert client.post("/orders/new", data=form(shop)).status_code == 303
    ids = db.session.scalars(select(Order.external_id)).all()
    assert len(set(ids)) == 4 and all(GENERATED.match(i) for i in ids)


def test_the_form_defaults_to_the_first_manual_channel_and_lists_active_products(
        login, shop, make_channel, make_product):
    make_channel(name="Alpha shop", kind="shopify")
    make_channel(name="Old channel", kind="manual", active=False)
    make_product(sku="GONE-1", active=False)
    page = login("operator").get("/orders/new")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(rf'<option selected value="{shop["channel"].id}">Phone orders</option>',
                     body)
    assert "Alpha shop" in body and "Old channel" not in body
    assert "ARG-250 — Argan oil 250ml — 99.00 MAD" in text(page) and "GONE-1" not in body


def test_add_line_is_one_more_row_and_the_total_follows_the_lines(login, shop):
    client = login("operator")
    row = client.hx_get("/orders/new/line")
    html = row.get_data(as_text=True)
    assert row.status_code == 200 and html.lstrip().startswith('<tr class="line-row">')
    assert "SOAP-1 — Black soap — 25.00 MAD" in text(row)
    total = client.hx_get("/orders/new/total", query_string={
        "product": [shop["argan"].id, shop["soap"].id, ""], "quantity": ["2", "3", "1"]})
    assert re.search(r'data-total="27300">273.00 MAD', total.get_data(as_text=True))


def test_phone_check_lists_other_orders_and_flags_a_previous_fake(login, shop, make_order,
                                                                  make_user):
    confirmed = make_order(phone="0661223344", phone_normalized="+212661223344")
    fake = make_order(phone="+212661223344", phone_normalized="+212661223344")
    for order, to, note in ((confirmed, Confirmation.CONFIRMED, ""),
                            (fake, Confirmation.FAKE, "prank")):
        agent = make_user("agent")
        order.claimed_by_id = agent.id
        db.session.commit()
        change_confirmation(order, to, Actor.of(agent), note=note)
        db.session.commit()
    make_order(phone="0700000000", phone_normalized="+212700000000")

    resp = login("operator").hx_get("/orders/new/phone", query_string={"phone": "06 61 22 33 44"})
    page = visible(resp)
    assert resp.status_code == 200 and "<html" not in resp.get_data(as_text=True)
    assert (f"2 other orders with this number: #{fake.id} Fake, #{confirmed.id} Confirmed"
            in page)
    assert "Previously fake: 1 order" in page
    assert 'data-flag="fake"' in resp.get_data(as_text=True)


@pytest.mark.parametrize(("typed", "shown"), [
    ("0522 99 88 77", "No other orders with this number."),
    ("12ab", "“12ab” is not a phone number"),
])
def test_phone_check_for_a_new_or_bad_number(login, make_order, typed, shown):
    make_order()
    resp = login("operator").hx_get("/orders/new/phone", query_string={"phone": typed})
    assert shown in squash(text(resp)) and "other order" not in text(resp).replace(
        "No other orders", "")


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/orders/new"), ("POST", "/orders/new"), ("GET", "/orders/new/line"),
    ("GET", "/orders/new/total"), ("GET", "/orders/new/phone?phone=0661223344")])
def test_agents_cannot_enter_orders(login, shop, method, path):
    client = login("agent")
    resp = client.post(path, data=form(shop)) if method == "POST" else client.get(path)
    assert resp.status_code == 403
    assert orders_count() == 0


def test_the_orders_list_offers_a_new_order(login):
    page = login("operator").get("/orders/")
    assert re.search(r'<a href="/orders/new" role="button"[^>]*>New order</a>',
                     page.get_data(as_text=True))


def test_a_line_row_count_match_keeps_every_line(login, shop):
    """Ten products at once are ten lines, in the order typed."""
    client = login("operator")
    resp = client.post("/orders/new", data=form(
        shop, product=[str(shop["soap"].id)] * 10, quantity=[str(n) for n in range(1, 11)]))
    assert resp.status_code == 303
    quantities = db.session.scalars(select(OrderLine.quantity).order_by(OrderLine.id)).all()
    assert quantities == list(range(1, 11))
