"""The stateful test's checks can fail: each one, handed a database corrupted behind the
door's back, names what is wrong; on the same orders left alone they find nothing."""

from sqlalchemy import delete, update

from extensions import db
from models import Order, StockMovement
from tests.properties import invariants as check


def everything(seen: check.Seen) -> list[str]:
    """Every check's findings."""
    db.session.expire_all()
    return (check.stock_off_ledger() + check.restocks_wrong() + check.counter_differences()
            + check.status_pairs(seen) + check.finals_moved(seen) + check.unaudited(seen))


def looked(seen: check.Seen | None = None) -> check.Seen:
    """The checks' memory after a look at the database as it is."""
    seen = seen or check.Seen()
    db.session.expire_all()
    check.observe(seen)
    return seen


def test_orders_moved_through_the_door_pass_every_check(parcel_order):
    seen = looked()
    for status in ("returned", "delivered", "created"):
        parcel_order(status)
    assert everything(looked(seen)) == []


def test_a_ledger_row_removed_is_reported(parcel_order):
    order, _parcel = parcel_order("fulfilled")
    db.session.execute(delete(StockMovement).where(StockMovement.reason == "reserve"))
    db.session.commit()
    assert [problem for problem in check.stock_off_ledger()
            if f"product {order.lines[0].product_id}:" in problem]


def test_a_return_without_its_restock_is_reported(parcel_order):
    order, _parcel = parcel_order("returned")
    line_id = order.lines[0].id
    db.session.execute(delete(StockMovement).where(StockMovement.reason == "restock"))
    db.session.commit()
    assert f"returned line {line_id}: restocked 0 times" in check.restocks_wrong()


def test_a_status_written_behind_the_doors_back_is_reported(make_order):
    order = make_order()
    seen = looked()
    db.session.execute(update(Order).where(Order.id == order.id)
                       .values(confirmation_status="fake"))
    db.session.commit()
    db.session.expire_all()
    assert f"order {order.id}: confirmation is fake, its trail ends at new" in (
        check.unaudited(seen))
    assert check.counter_differences()  # the counters never heard of it either


def test_a_shipping_status_without_confirmation_is_reported(make_order):
    order = make_order()
    seen = looked()
    db.session.execute(update(Order).where(Order.id == order.id).values(
        shipping_status="delivered"))
    db.session.commit()
    db.session.expire_all()
    assert check.status_pairs(seen) == [f"order {order.id}: shipping delivered with "
                                        "confirmation new"]


def test_a_returned_parcel_moving_again_is_reported(parcel_order):
    order, _parcel = parcel_order("returned")
    seen = looked()
    db.session.execute(update(Order).where(Order.id == order.id)
                       .values(shipping_status="shipped"))
    db.session.commit()
    db.session.expire_all()
    assert check.finals_moved(seen) == [f"order {order.id}: shipping left returned for shipped"]
    assert f"order {order.id}: shipping returned -> shipped" in check.status_pairs(seen)


def test_one_order_on_two_agents_cards_is_reported(make_order, make_user):
    order, first, second = make_order(), make_user("agent"), make_user("agent")
    assert check.double_holds({first.id: order.id, second.id: None}) == []
    assert check.double_holds({first.id: order.id, second.id: order.id}) == [
        f"order {order.id} is on the cards of agents {[first.id, second.id]}"]



def test_a_supplier_order_made_twice_is_reported():
    assert check.resubmitted(["#7-1", "#8-1"]) == []
    assert check.resubmitted(["#7-1", "#8-1", "#7-1"]) == ["supplier made 2 orders for #7-1"]
