"""Sending held orders on by hand: to the call queue, confirmed by the system, or kept back."""

import pytest
from sqlalchemy import select, update

from extensions import db
from models import Actor, AuditEvent, CallSettings, Order, StockLevel, StockMovement
from models.calls.queue import claim_next
from models.errors import NotAllowed
from models.intake import forwarding
from models.intake.forwarding import Result, send_orders


def on_hand(product) -> int:
    return db.session.execute(
        select(StockLevel.on_hand).filter_by(product_id=product.id)).scalar_one()


def pushes(order) -> list[tuple]:
    """The order's push events: (from, to, note), oldest first."""
    return [tuple(row) for row in db.session.execute(
        select(AuditEvent.from_value, AuditEvent.to_value, AuditEvent.note)
        .filter_by(order_id=order.id, kind="push").order_by(AuditEvent.id))]


def reload(order) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order.id)


@pytest.fixture
def operator(make_user):
    return Actor.of(make_user("operator"))


@pytest.fixture
def held(make_order):
    """held(push_status="not_sent", detail="…", **overrides): an order kept out of the queue."""

    def make(push_status: str = "not_sent", detail: str = "Forwarding is off.", **overrides):
        return make_order(push_status=push_status, push_detail=detail, **overrides)

    return make


def test_a_not_sent_order_goes_to_the_call_queue(held, operator, make_user):
    order = held()
    agent = Actor.of(make_user("agent"))
    assert claim_next(agent, CallSettings()) is None  # held back: no agent gets it

    [result] = send_orders([order.id], operator)
    db.session.commit()

    assert result.result == Result.SENT
    assert result.message == f"#{order.id} sent to the call queue."
    order = reload(order)
    assert (order.push_status, order.push_detail) == ("sent", "")
    assert pushes(order) == [("not_sent", "sent", "")]
    assert claim_next(agent, CallSettings()).id == order.id


def test_an_unknown_sku_keeps_the_order_back_as_error(held, operator, make_product):
    order = held(push_status="error", detail="Unknown SKU “ZZ-9”.")
    order.lines[0].product_id, order.lines[0].sku = None, "ZZ-9"
    db.session.commit()

    [result] = send_orders([order.id], operator)
    db.session.commit()

    assert result.result == Result.HELD
    assert result.message == f"#{order.id} still not sent: SKU ZZ-9 is not in the catalogue."
    order = reload(order)
    assert (order.push_status, order.push_detail) == (
        "error", "SKU ZZ-9 is not in the catalogue.")
    assert pushes(order) == [("error", "error", "SKU ZZ-9 is not in the catalogue.")]

    # Sending it again changes nothing and writes nothing more.
    [again] = send_orders([order.id], operator)
    db.session.commit()
    assert again.result == Result.HELD and len(pushes(order)) == 1
    assert reload(order).version == order.version


def test_a_sku_added_to_the_catalogue_since_lets_the_order_go_routed(
        held, operator, make_product, make_warehouse):
    order = held(push_status="error", detail="Unknown SKU “ZZ-9”.")
    order.lines[0].product_id, order.lines[0].sku, order.lines[0].warehouse_id = None, "ZZ-9", None
    db.session.commit()
    warehouse = make_warehouse()
    product = make_product(sku="ZZ-9", stock=5, warehouse=warehouse)

    [result] = send_orders([order.id], operator)
    db.session.commit()

    assert result.result == Result.SENT
    line = reload(order).lines[0]
    assert (line.product_id, line.warehouse_id) == (product.id, warehouse.id)
    assert line.routed_by


def test_a_not_sent_order_with_unknown_skus_turns_error(held, operator, make_product):
    known = make_product()
    order = held(lines=[(known, 1), (make_product(), 1), (make_product(), 1)])
    for line, sku in zip(order.lines[1:], ("X-1", "X-2"), strict=True):
        line.product_id, line.sku = None, sku
    db.session.commit()

    [result] = send_orders([order.id], operator)
    db.session.commit()

    assert reload(order).push_status == "error"
    assert result.push_detail == "SKUs X-1, X-2 are not in the catalogue."


def test_a_prepaid_channel_order_is_confirmed_by_the_system_with_stock_taken(
        held, operator, make_channel, make_product):
    channel = make_channel(confirm_by="system", code="prepaid-shop")
    product = make_product(stock=10)
    order = held(channel=channel, lines=[(product, 3)])

    [result] = send_orders([order.id], operator)
    db.session.commit()

    assert result.result == Result.CONFIRMED
    assert result.message == f"#{order.id} confirmed by the system."
    order = reload(order)
    assert (order.confirmation_status, order.shipping_status) == ("confirmed", "created")
    assert order.push_status == "sent"
    assert on_hand(product) == 7
    confirmed_by = db.session.scalar(select(AuditEvent.actor_name).filter_by(
        order_id=order.id, kind="confirmation"))
    assert confirmed_by == "channel:prepaid-shop"


def test_a_prepaid_order_the_stock_cannot_serve_stays_new_and_is_held(
        held, operator, make_channel, make_product):
    channel = make_channel(confirm_by="system")
    product = make_product(stock=2, sku="ARG-50")
    order = held(channel=channel, lines=[(product, 5)])

    [result] = send_orders([order.id], operator)
    db.session.commit()

    assert result.result == Result.HELD
    assert "Not enough ARG-50" in result.message and "2 on hand, 5 needed" in result.message
    order = reload(order)
    assert (order.confirmation_status, order.shipping_status) == ("new", None)
    assert order.push_status == "error" and order.push_detail.startswith("Not enough ARG-50")
    assert on_hand(product) == 2
    assert db.session.scalar(select(StockMovement.id).filter_by(reason="reserve")) is None
    assert [(src, to) for src, to, _note in pushes(order)] == [("not_sent", "sent"),
                                                              ("sent", "error")]


def test_each_order_is_reported_in_the_order_given(held, operator, make_order):
    sent = make_order()  # arrived and went straight to the queue
    canceled = held(confirmation_status="canceled")
    waiting = held()

    results = send_orders([sent.id, canceled.id, 999_999, waiting.id, waiting.id], operator)
    db.session.commit()

    assert [(r.order_id, r.result) for r in results] == [
        (sent.id, Result.ALREADY_SENT), (canceled.id, Result.REFUSED),
        (999_999, Result.MISSING), (waiting.id, Result.SENT)]
    assert results[0].message == f"#{sent.id} was already sent."
    assert results[1].message == f"#{canceled.id} is Canceled: only new orders are sent on."
    assert reload(canceled).push_status == "not_sent" and pushes(canceled) == []


def test_an_order_changed_underneath_is_a_conflict_and_the_others_still_go(
        held, operator, monkeypatch):
    changed, other = held(), held()
    read = forwarding._load

    def read_then_someone_writes(order_ids):
        """The orders are read, then another writer changes one of them."""
        orders = read(order_ids)
        table = Order.__table__  # a plain UPDATE: the copies just read keep their version
        db.session.execute(update(table).where(table.c.id == changed.id)
                           .values(version=table.c.version + 1))
        return orders

    monkeypatch.setattr(forwarding, "_load", read_then_someone_writes)
    results = send_orders([changed.id, other.id], operator)
    db.session.commit()

    assert [r.result for r in results] == [Result.CONFLICT, Result.SENT]
    assert "changed by someone else" in results[0].message
    assert reload(changed).push_status == "not_sent" and pushes(changed) == []
    assert reload(other).push_status == "sent"


@pytest.mark.parametrize("actor", [Actor.system(), Actor.channel("shop")])
def test_only_operators_and_managers_send(held, make_user, actor):
    order = held()
    for who in (Actor.of(make_user("agent")), actor):
        with pytest.raises(NotAllowed):
            send_orders([order.id], who)
    assert send_orders([order.id], Actor.of(make_user("manager")))[0].result == Result.SENT
