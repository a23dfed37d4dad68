"""The intake door: idempotent on channel + external id, validated, routed, counted, held
or sent by the channel's forwarding settings."""

import pytest
from sqlalchemy import func, select

from models import Actor, AuditEvent, Order, OrderLine, StockLevel, db
from models.intake.create import create_orders, existing_orders
from models.intake.incoming import IncomingLine, IncomingOrder
from models.orders.counters import rebuild_counts, status_counts

ACTOR = Actor.channel("test")


def incoming(ext: str, *lines, **fields) -> IncomingOrder:
    """An arriving order with sensible defaults."""
    values = {"customer_name": "Salma Alaoui", "phone": "0612345678",
              "address": "5 Rue Atlas", "city": "Rabat"}
    values.update(fields)
    return IncomingOrder(external_id=ext, lines=list(lines), **values)


@pytest.fixture
def shop(make_channel, make_product, make_warehouse):
    warehouse = make_warehouse()
    channel = make_channel()
    product = make_product(stock=10, warehouse=warehouse, price_cents=15000)
    return channel, product, warehouse


def test_new_orders_are_created_with_routed_lines_history_and_counts(app, shop):
    channel, product, warehouse = shop
    arrivals = create_orders(channel, [
        incoming("A-1", IncomingLine(product.sku, 2)),
        incoming("A-2", IncomingLine(product.sku, 1, unit_price_cents=12000),
                 cod_amount_cents=15000),
    ], ACTOR, source="api")
    db.session.commit()

    assert [a.created for a in arrivals] == [True, True]
    first = db.session.get(Order, arrivals[0].order_id)
    assert (first.confirmation_status, first.push_status, first.cod_amount_cents) == (
        "new", "sent", 30000)
    assert first.phone_normalized == "+212612345678"
    line = first.lines[0]
    assert (line.product_id, line.warehouse_id, line.unit_price_cents) == (
        product.id, warehouse.id, 15000)
    assert line.routed_by
    assert db.session.get(Order, arrivals[1].order_id).cod_amount_cents == 15000
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.order_id == first.id)).all()
    assert [(e.kind, e.to_value, e.actor_name) for e in events] == [
        ("import", "new", "channel:test")]
    assert status_counts(channel.id)["confirmation"] == {"new": 2}


def test_the_same_external_id_twice_creates_nothing_new(app, shop):
    channel, product, _ = shop
    first = create_orders(channel, [incoming("A-1", IncomingLine(product.sku, 1))], ACTOR,
                          source="csv")
    again = create_orders(channel, [incoming("A-1", IncomingLine(product.sku, 1)),
                                    incoming("A-2", IncomingLine(product.sku, 1)),
                                    incoming("A-2", IncomingLine(product.sku, 3))],
                          ACTOR, source="csv")
    db.session.commit()

    assert (again[0].created, again[0].order_id) == (False, first[0].order_id)
    assert (again[1].created, again[2].created) == (True, False)
    assert again[2].order_id == again[1].order_id
    assert db.session.scalar(select(func.count()).select_from(Order)) == 2
    assert existing_orders(channel.id, ["A-1", "A-2", "A-3"]) == {
        "A-1": first[0].order_id, "A-2": again[1].order_id}


def test_another_channel_may_use_the_same_external_id(app, shop, make_channel):
    channel, product, _ = shop
    create_orders(channel, [incoming("A-1", IncomingLine(product.sku, 1))], ACTOR, source="api")
    other = create_orders(make_channel(), [incoming("A-1", IncomingLine(product.sku, 1))],
                          ACTOR, source="api")
    assert other[0].created


def test_strict_intake_refuses_an_order_with_problems_and_writes_nothing(app, shop):
    channel, product, _ = shop
    arrivals = create_orders(channel, [
        incoming("B-1", IncomingLine("NOPE", 1), phone="12"),
        incoming("B-2", IncomingLine(product.sku, 0), currency="dirhams"),
        incoming("B-3", IncomingLine(product.sku, 1)),
    ], ACTOR, source="csv")
    db.session.commit()

    assert [a.created for a in arrivals] == [False, False, True]
    assert {p.field for p in arrivals[0].problems} == {"phone", "lines[0].sku"}
    assert "Unknown SKU “NOPE”." in [p.message for p in arrivals[0].problems]
    assert {p.field for p in arrivals[1].problems} == {"lines[0].quantity", "currency"}
    assert arrivals[0].order_id is None
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    assert db.session.scalar(select(func.count()).select_from(OrderLine)) == 1


def test_a_channel_order_with_problems_is_kept_and_held_with_the_reason(app, shop):
    channel, product, _ = shop
    arrivals = create_orders(channel, [incoming("C-1", IncomingLine("GHOST-9", 1),
                                                IncomingLine(product.sku, 1))],
                             ACTOR, source="shopify", strict=False)
    db.session.commit()

    order = db.session.get(Order, arrivals[0].order_id)
    assert (order.push_status, order.push_detail) == ("error", "Unknown SKU “GHOST-9”.")
    assert [(line.sku, line.product_id) for line in order.lines] == [
        ("GHOST-9", None), (product.sku, product.id)]
    assert order.lines[0].routed_by == "unknown product"


@pytest.mark.parametrize(("forwarding", "forward_when", "paid", "sku", "expected"), [
    ("always", "committed", False, "known", ("sent", "")),
    ("off", "committed", True, "known",
     ("not_sent", "Forwarding is off for this channel: send it by hand.")),
    ("managed", "committed", False, "GHOST-1",
     ("not_sent", "Not every product is managed here (GHOST-1).")),
    ("always", "committed", False, "GHOST-1", ("error", "Unknown SKU “GHOST-1”.")),
    ("always", "paid", False, "known", ("not_sent", "Waiting for the channel to say it is paid.")),
    ("always", "paid", True, "known", ("sent", "")),
])
def test_forwarding_settings_decide_whether_an_order_goes_on(
        app, shop, forwarding, forward_when, paid, sku, expected):
    channel, product, _ = shop
    channel.forwarding, channel.forward_when = forwarding, forward_when
    db.session.commit()
    sku = product.sku if sku == "known" else sku
    arrivals = create_orders(channel, [incoming("F-1", IncomingLine(sku, 1), paid=paid)],
                             ACTOR, source="woocommerce", strict=False)
    order = db.session.get(Order, arrivals[0].order_id)
    assert (order.push_status, order.push_detail) == expected


def test_a_prepaid_channel_confirms_through_the_door_and_holds_what_stock_cannot_serve(
        app, shop):
    channel, product, warehouse = shop
    channel.confirm_by = "system"
    db.session.commit()
    arrivals = create_orders(channel, [incoming("P-1", IncomingLine(product.sku, 4)),
                                       incoming("P-2", IncomingLine(product.sku, 9))],
                             ACTOR, source="shopify", strict=False)
    db.session.commit()

    served, short = (db.session.get(Order, a.order_id) for a in arrivals)
    assert (served.confirmation_status, served.shipping_status) == ("confirmed", "created")
    assert db.session.scalar(select(StockLevel.on_hand).where(
        StockLevel.product_id == product.id)) == 6
    assert (short.confirmation_status, short.push_status) == ("new", "error")
    assert product.sku in short.push_detail
    held = db.session.execute(select(AuditEvent.from_value, AuditEvent.to_value).where(
        AuditEvent.order_id == short.id, AuditEvent.kind == "push")).all()
    assert held == [("sent", "error")]
    kinds = db.session.execute(select(AuditEvent.kind, AuditEvent.actor_name).where(
        AuditEvent.order_id == served.id, AuditEvent.kind == "confirmation")).all()
    assert kinds == [("confirmation", f"channel:{channel.code}")]
    counts = status_counts(channel.id)
    rebuilt = rebuild_counts()
    assert rebuilt == 2 and counts["total"] == 2


def test_a_big_batch_goes_in_whole(app, shop):
    channel, product, _ = shop
    batch = [incoming(f"BIG-{n}", IncomingLine(product.sku, 1 + n % 3)) for n in range(1200)]
    arrivals = create_orders(channel, batch, ACTOR, source="csv")
    db.session.commit()

    assert sum(a.created for a in arrivals) == 1200
    assert len({a.order_id for a in arrivals}) == 1200
    assert db.session.scalar(select(func.count()).select_from(OrderLine)) == 1200
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.kind == "import")) == 1200
    again = create_orders(channel, batch, ACTOR, source="csv")
    assert not any(a.created for a in again)


def test_an_edit_that_outgrows_the_warehouse_routes_the_line_again(
        app, shop, make_warehouse, make_user):
    from models.orders.operations import edit_order
    from models.stock.ledger import receive_stock

    channel, product, first = shop
    second = make_warehouse(priority=200)
    receive_stock(second, product.id, 40, Actor.system("test"), "opening stock")
    db.session.commit()
    arrivals = create_orders(channel, [incoming("E-1", IncomingLine(product.sku, 2))], ACTOR,
                             source="manual")
    order = db.session.get(Order, arrivals[0].order_id)
    assert order.lines[0].warehouse_id == first.id
    agent = make_user("agent")
    order.claimed_by_id = agent.id
    db.session.commit()

    edit_order(order, Actor.of(agent), quantities={order.lines[0].id: 25})
    db.session.commit()
    assert order.lines[0].warehouse_id == second.id
    moved = db.session.scalars(select(AuditEvent).where(
        AuditEvent.order_id == order.id, AuditEvent.kind == "routing")).one()
    assert (moved.from_value, moved.to_value) == (first.name, second.name)


def test_an_amount_beyond_any_order_is_refused_not_overflowed(app, shop):
    channel, product, _ = shop
    arrivals = create_orders(channel, [
        incoming("X-1", IncomingLine(product.sku, 999, unit_price_cents=999_999_999)),
        incoming("X-2", IncomingLine(product.sku, 1), cod_amount_cents=2_000_000_000),
    ], ACTOR, source="api")
    assert [p.field for a in arrivals for p in a.problems] == ["cod_amount", "cod_amount"]
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
