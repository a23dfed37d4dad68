"""The one door: audit events, stock effects, due work, conflicts and refusals."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import Actor, AuditEvent, StockLevel, StockMovement, utcnow
from models.errors import Conflict, InvalidInput, NotAllowed, OutOfStock, TransitionRefused
from models.orders.operations import (
    change_confirmation,
    change_shipping,
    reopen_order,
    restock_order,
)
from models.status import Effect
from models.stock.ledger import ledger_mismatches


def on_hand(product) -> int:
    return db.session.execute(
        select(StockLevel.on_hand).filter_by(product_id=product.id)
    ).scalar_one()


def held(order, user):
    """Give the order to an agent, as the call queue does."""
    order.claimed_by_id = user.id
    db.session.commit()
    return Actor.of(user)


def events(order, kind=None):
    query = select(AuditEvent).filter_by(order_id=order.id).order_by(AuditEvent.id)
    if kind:
        query = query.filter_by(kind=kind)
    return db.session.execute(query).scalars().all()


def test_confirm_takes_stock_opens_shipping_and_makes_parcel_due(make_order, make_product,
                                                                 make_user):
    product = make_product(stock=10)
    order = make_order(lines=[(product, 3)])
    agent = make_user("agent")
    outcome = change_confirmation(order, "confirmed", held(order, agent), note="ok on phone")
    db.session.commit()
    assert order.confirmation_status == "confirmed" and order.shipping_status == "created"
    assert on_hand(product) == 7
    assert outcome.due == [Effect.REGISTER_PARCEL]
    assert order.claimed_by_id is None and order.attempts == 1
    kinds = [(e.kind, e.from_value, e.to_value, e.actor_name) for e in events(order)]
    assert ("confirmation", "new", "confirmed", agent.username) in kinds
    assert ("shipping", None, "created", agent.username) in kinds
    assert ("stock", None, "-3", agent.username) in kinds
    reserve = db.session.execute(
        select(StockMovement).filter_by(reason="reserve")).scalar_one()
    assert reserve.quantity == -3 and reserve.order_line_id == order.lines[0].id
    assert ledger_mismatches() == []


def test_confirm_local_delivery_has_no_parcel_to_register(make_order, make_user):
    order = make_order(delivery_mode="local")
    outcome = change_confirmation(order, "confirmed", held(order, make_user("agent")))
    assert outcome.due == []


def test_confirm_without_enough_stock_changes_nothing(make_order, make_product, make_user):
    product = make_product(stock=2)
    order = make_order(lines=[(product, 5)])
    actor = held(order, make_user("agent"))
    with pytest.raises(OutOfStock, match="2 on hand, 5 needed"):
        change_confirmation(order, "confirmed", actor)
    db.session.rollback()
    db.session.refresh(order)
    assert order.confirmation_status == "new" and on_hand(product) == 2
    assert events(order) == []


def test_dropship_lines_do_not_touch_stock(make_order, make_product, make_supplier, make_user):
    product = make_product(stock=4)
    order = make_order(lines=[(product, 1)])
    order.lines[0].supplier_id = make_supplier().id
    order.lines[0].warehouse_id = None
    db.session.commit()
    change_confirmation(order, "confirmed", held(order, make_user("agent")))
    assert on_hand(product) == 4


def test_return_restocks_exactly_once(make_order, make_product, make_user):
    product = make_product(stock=10)
    order = make_order(lines=[(product, 4)])
    change_confirmation(order, "confirmed", held(order, make_user("agent")))
    operator = Actor.of(make_user("operator"))
    carrier = Actor.carrier("sandbox")
    for status, actor in [("fulfilled", operator), ("shipped", carrier),
                          ("in_return", carrier), ("returned", operator)]:
        change_shipping(order, status, actor)
    db.session.commit()
    assert on_hand(product) == 10
    # A retried job or the reconcile pass finds nothing left to put back.
    assert restock_order(order, Actor.system("reconcile")) == []
    db.session.commit()
    assert on_hand(product) == 10
    with pytest.raises(TransitionRefused):
        change_shipping(order, "returned", operator)
    db.session.rollback()
    restocks = db.session.execute(
        select(StockMovement).filter_by(reason="restock")).scalars().all()
    assert [m.quantity for m in restocks] == [4]
    assert ledger_mismatches() == []


def test_canceled_parcel_leaves_stock_taken(make_order, make_product, make_user):
    product = make_product(stock=10)
    order = make_order(lines=[(product, 2)])
    change_confirmation(order, "confirmed", held(order, make_user("agent")))
    change_shipping(order, "canceled", Actor.of(make_user("operator")))
    assert on_hand(product) == 8


def test_stale_version_is_a_conflict_and_changes_nothing(make_order, make_user):
    order = make_order()
    actor = held(order, make_user("agent"))
    seen = order.version
    order.city = "Rabat"  # someone else's edit bumps the version
    db.session.commit()
    with pytest.raises(Conflict, match="changed by someone else"):
        change_confirmation(order, "no_answer", actor, expected_version=seen)
    assert order.confirmation_status == "new"


def test_concurrent_write_is_caught_by_the_version_column(app, make_order, make_user):
    order = make_order()
    agent = make_user("agent")
    order.claimed_by_id = agent.id
    db.session.commit()
    # A second session changes the row behind this one's back.
    with app.app_context():
        other = db.session.get(type(order), order.id)
        other.city = "Fès"
        db.session.commit()
    with pytest.raises(Conflict, match="changed by someone else"):
        change_confirmation(order, "no_answer", Actor.of(agent))
    db.session.rollback()
    assert db.session.get(type(order), order.id).confirmation_status == "new"
    assert events(order, "confirmation") == []


def test_agent_must_hold_the_order(make_order, make_user):
    order = make_order()
    agent, other = make_user("agent"), make_user("agent")
    order.claimed_by_id = other.id
    db.session.commit()
    with pytest.raises(NotAllowed, match="not in your hands"):
        change_confirmation(order, "confirmed", Actor.of(agent))


def test_operator_cannot_record_call_outcomes(make_order, make_user):
    order = make_order()
    with pytest.raises(NotAllowed, match="Only an agent"):
        change_confirmation(order, "confirmed", Actor.of(make_user("operator")))


def test_cancel_and_fake_need_a_reason(make_order, make_user):
    order = make_order()
    actor = held(order, make_user("agent"))
    for status in ("canceled", "fake"):
        with pytest.raises(InvalidInput, match="Say why"):
            change_confirmation(order, status, actor, note="  ")
    assert order.confirmation_status == "new"


def test_call_later_needs_a_future_time(make_order, make_user):
    order = make_order()
    actor = held(order, make_user("agent"))
    with pytest.raises(InvalidInput, match="future"):
        change_confirmation(order, "call_later", actor, callback_at=utcnow() - timedelta(1))
    at = utcnow() + timedelta(hours=2)
    change_confirmation(order, "call_later", actor, callback_at=at)
    assert order.callback_at == at


def test_system_cancels_unreachable_order(make_order, make_user):
    order = make_order()
    change_confirmation(order, "no_answer", held(order, make_user("agent")))
    change_confirmation(order, "canceled", Actor.system(), note="unreachable")
    assert order.confirmation_status == "canceled"
    assert events(order)[-1].actor_name == "system"


def test_manager_reopens_with_reason(make_order, make_user):
    order = make_order()
    change_confirmation(order, "fake", held(order, make_user("agent")), note="prank")
    manager = Actor.of(make_user("manager"))
    with pytest.raises(InvalidInput):
        reopen_order(order, manager, reason="")
    with pytest.raises(NotAllowed):
        reopen_order(order, Actor.of(make_user("operator")), reason="x")
    reopen_order(order, manager, reason="customer called back")
    assert order.confirmation_status == "new" and order.attempts == 0
    last = events(order)[-1]
    assert (last.kind, last.from_value, last.to_value, last.note) == (
        "reopen", "fake", "new", "customer called back")


def test_reopen_refuses_a_confirmed_order(make_order, make_user):
    order = make_order()
    change_confirmation(order, "confirmed", held(order, make_user("agent")))
    with pytest.raises(TransitionRefused, match="only canceled or fake"):
        reopen_order(order, Actor.of(make_user("manager")), reason="why not")


def test_shipping_is_locked_until_confirmed(make_order, make_user):
    order = make_order()
    with pytest.raises(TransitionRefused, match="not confirmed"):
        change_shipping(order, "fulfilled", Actor.of(make_user("operator")))


def test_shipped_makes_tracking_push_due_and_keeps_tracking_number(make_order, make_user):
    order = make_order()
    change_confirmation(order, "confirmed", held(order, make_user("agent")))
    change_shipping(order, "fulfilled", Actor.of(make_user("operator")))
    outcome = change_shipping(order, "shipped", Actor.carrier("sandbox"),
                              tracking_number=" SBX123 ")
    assert outcome.due == [Effect.PUSH_TRACKING] and order.tracking_number == "SBX123"
    again = change_shipping(order, "shipped", Actor.carrier("sandbox"))
    assert again.due == [] and len(events(order, "shipping")) == 3


def test_unknown_status_is_invalid_input(make_order, make_user):
    order = make_order()
    with pytest.raises(InvalidInput, match="not a confirmation status"):
        change_confirmation(order, "maybe", held(order, make_user("agent")))
