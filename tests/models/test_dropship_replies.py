"""Supplier replies applied through the door: accepted, refused, shipped with a parcel that
leads the order (or is followed beside our own), repeats, answers about canceled orders."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Actor, AuditEvent, Order, Parcel, utcnow
from models.dropship.operations import cancel
from models.dropship.replies import apply_reply, finish_cancel, open_orders
from models.orders.operations import change_shipping
from models.shipping.events import apply_carrier_events
from models.shipping.tables import ParcelEvent
from tests.dropship_support import supplier_trail
from workers.carriers import TrackingEvent
from workers.suppliers.base import SupplierReply

UPS_NUMBER = "1Z5R89390357567127"  # a valid UPS number (check digit included)
T0 = datetime(2026, 11, 20, 8, 0)
MAP = {"TRANSIT": "shipped", "DELIVERED": "delivered"}


@pytest.fixture
def atlas(make_supplier):
    """The supplier."""
    return make_supplier(name="Atlas Wholesale", default_shipping_method="Standard")


@pytest.fixture
def amana(make_carrier):
    """A carrier a supplier may name."""
    return make_carrier(name="Amana", code="amana")


@pytest.fixture
def one_supplier(atlas, make_dropship_product, submitted_orders):
    """one_supplier(own=None): an order all of whose lines Atlas ships (or beside `own`,
    a product from our stock), its supplier order submitted."""

    def make(own=None):
        lines = [(make_dropship_product(atlas, supplier_sku="ATL-W1"), 2)]
        if own is not None:
            lines.append((own, 1))
        order, (so,) = submitted_orders(lines)
        return order, so

    return make


def reply(so, outcome, **fields) -> SupplierReply:
    """The supplier's reply about this supplier order."""
    return SupplierReply(supplier_order_id=so.id, outcome=outcome, **fields)


def _apply(so, outcome, **fields) -> str:
    """Apply a reply as a job does, committed; what apply_reply said."""
    done = apply_reply(so, reply(so, outcome, **fields))
    db.session.commit()
    return done


def _shipping_moves(order) -> list[tuple]:
    """The order's shipping audit events: (from, to, actor, note)."""
    return db.session.execute(select(
        AuditEvent.from_value, AuditEvent.to_value, AuditEvent.actor_name, AuditEvent.note)
        .where(AuditEvent.order_id == order.id, AuditEvent.kind == "shipping")
        .order_by(AuditEvent.id)).all()


def _trail_size(so) -> int:
    """How many trail rows the supplier order has."""
    return len(supplier_trail(so))


def test_accepted_records_their_number_once(one_supplier):
    _order, so = one_supplier()
    assert _apply(so, "accepted", supplier_ref="SUP-77") == "accepted"
    assert (so.status, so.supplier_ref, so.last_error) == ("accepted", "SUP-77", "")
    assert so.answered_at is not None
    assert supplier_trail(so)[-1].note == "accepted by Atlas Wholesale as SUP-77"
    assert supplier_trail(so)[-1].actor_name == "supplier:Atlas Wholesale"
    size, version = _trail_size(so), so.version
    assert _apply(so, "accepted", supplier_ref="SUP-77") == "no_change"
    assert _trail_size(so) == size and so.version == version


def test_a_refusal_puts_the_order_in_error_with_their_words_once(one_supplier):
    _order, so = one_supplier()
    assert _apply(so, "rejected", message="  Out of stock: ATL-W1 ") == "rejected"
    assert (so.status, so.error, so.error_source) == (
        "error", "Out of stock: ATL-W1", "supplier")
    assert supplier_trail(so)[-1].note == "Out of stock: ATL-W1"
    size = _trail_size(so)
    assert _apply(so, "rejected", message="Out of stock: ATL-W1") == "no_change"
    assert _trail_size(so) == size


def test_a_refusal_without_words_says_so(one_supplier):
    _order, so = one_supplier()
    _apply(so, "rejected")
    assert so.error == "Atlas Wholesale refused the order without a reason."
    assert _apply(so, "rejected") == "no_change"


def test_a_failed_call_keeps_the_order_submitted_with_the_reason(one_supplier):
    _order, so = one_supplier()
    assert _apply(so, "failed", message="Atlas did not answer within 10 s.") == "failed"
    assert (so.status, so.last_error, so.answered_at) == (
        "submitted", "Atlas did not answer within 10 s.", None)
    assert _apply(so, "submitted", supplier_ref="SUP-1") == "received"
    assert (so.status, so.last_error, so.supplier_ref) == ("submitted", "", "SUP-1")
    assert so.answered_at is not None


def test_shipped_all_dropship_order_gets_a_leading_parcel_and_moves_to_shipped(
        one_supplier, amana):
    order, so = one_supplier()
    assert _apply(so, "shipped", tracking_number="am 123 456 789 ma",
                  carrier="AMANA ") == "shipped"
    assert (so.status, so.tracking_number, so.carrier_name) == (
        "shipped", "AM123456789MA", "AMANA")
    parcel = db.session.scalar(select(Parcel).where(Parcel.supplier_order_id == so.id))
    assert (parcel.order_id, parcel.tracking_number, parcel.carrier_id, parcel.leads) == (
        order.id, "AM123456789MA", amana.id, True)
    assert (parcel.detected_by, parcel.detection_confidence) == ("order", 100)
    order = db.session.get(Order, order.id)
    assert (order.shipping_status, order.tracking_number) == ("shipped", "AM123456789MA")
    assert _shipping_moves(order)[-1] == (
        "created", "shipped", "supplier:Atlas Wholesale", "shipped by Atlas Wholesale")
    notes = [e.note for e in supplier_trail(so)][-2:]
    assert notes == ["shipped by Atlas Wholesale, tracking AM123456789MA",
                     "tracking added: AM123456789MA (Amana)"]


def test_an_unnamed_carrier_is_detected_from_the_tracking_number(one_supplier, make_carrier):
    ups = make_carrier(name="UPS", settings={"detect_as": ["ups"]})
    _order, so = one_supplier()
    _apply(so, "shipped", tracking_number=UPS_NUMBER, carrier="United Parcel")
    parcel = db.session.scalar(select(Parcel).where(Parcel.supplier_order_id == so.id))
    assert (parcel.carrier_id, parcel.detected_by) == (ups.id, "pattern")
    assert supplier_trail(so)[-1].note == f"tracking added: {UPS_NUMBER} (UPS)"


def test_shipped_beside_our_own_line_is_followed_but_does_not_move_the_order(
        one_supplier, make_product, amana):
    order, so = one_supplier(own=make_product(stock=5))
    _apply(so, "shipped", tracking_number="AM1", carrier="Amana")
    parcel = db.session.scalar(select(Parcel).where(Parcel.supplier_order_id == so.id))
    assert parcel.leads is False
    order = db.session.get(Order, order.id)
    assert (order.shipping_status, order.tracking_number) == ("created", None)
    assert [m[1] for m in _shipping_moves(order)] == ["created"]


def test_repeated_shipped_replies_make_one_parcel_and_one_move(one_supplier, amana):
    order, so = one_supplier()
    _apply(so, "shipped", tracking_number="AM1", carrier="Amana")
    size = _trail_size(so)
    assert _apply(so, "shipped", tracking_number="AM1", carrier="Amana") == "no_change"
    assert _apply(so, "accepted") == "refused"  # late news of an earlier step
    parcels = db.session.scalar(select(func.count()).select_from(Parcel).where(
        Parcel.order_id == order.id))
    assert parcels == 1
    assert [m[1] for m in _shipping_moves(order)] == ["created", "shipped"]
    assert so.status == "shipped" and _trail_size(so) == size + 1


def test_a_reply_about_a_canceled_order_is_recorded_not_applied(one_supplier, make_user):
    order, so = one_supplier()
    cancel(so, Actor.of(make_user("operator")), "customer changed their mind")
    finish_cancel(so, told=True)
    db.session.commit()
    assert _apply(so, "shipped", tracking_number="AM1", supplier_ref="SUP-5") == "refused"
    assert so.status == "canceled" and so.tracking_number is None
    assert supplier_trail(so)[-1].note.startswith("answer not applied: shipped (")
    assert db.session.scalar(select(func.count()).select_from(Parcel)) == 0
    assert db.session.get(Order, order.id).shipping_status == "created"


def test_the_supplier_canceling_cancels_once(one_supplier):
    _order, so = one_supplier()
    assert _apply(so, "canceled", message="discontinued") == "canceled"
    assert so.status == "canceled" and supplier_trail(so)[-1].note == "discontinued"
    assert _apply(so, "canceled") == "no_change"


def test_finish_cancel_told_or_left_for_a_person(one_supplier, make_user):
    operator = Actor.of(make_user("operator"))
    _order, told = one_supplier()
    cancel(told, operator, "wrong size")
    finish_cancel(told, told=True)
    assert (told.status, told.manual_follow_up, told.cancel_requested_at) == (
        "canceled", False, None)
    assert supplier_trail(told)[-1].note == "canceled with Atlas Wholesale: wrong size"
    _order, by_hand = one_supplier()
    cancel(by_hand, operator, "wrong size")
    finish_cancel(by_hand, told=False, message="Atlas takes cancellations by phone only.")
    assert (by_hand.status, by_hand.manual_follow_up) == ("canceled", True)
    assert supplier_trail(by_hand)[-1].actor_name == "cancel"


def _events(parcel, *codes) -> list[TrackingEvent]:
    """Carrier scans of this parcel, a minute apart."""
    return [TrackingEvent(tracking_number=parcel.tracking_number, code=code, text=code.title(),
                          occurred_at=T0 + timedelta(minutes=n), location="Casablanca")
            for n, code in enumerate(codes)]


def _track(parcel, *codes):
    """Apply these scans as the tracking sync does, committed."""
    result = apply_carrier_events(parcel.carrier_id, parcel.carrier.code,
                                  _events(parcel, *codes), source="api",
                                  map_status=lambda code, text: MAP.get(code))
    db.session.commit()
    db.session.expire_all()
    return result


def test_tracking_of_a_supplier_parcel_beside_our_own_never_moves_the_order(
        one_supplier, make_product, make_user, amana):
    order, so = one_supplier(own=make_product(stock=5))
    _apply(so, "shipped", tracking_number="AM1", carrier="Amana")
    change_shipping(db.session.get(Order, order.id), "fulfilled",
                    Actor.of(make_user("operator")))
    db.session.commit()
    parcel = db.session.scalar(select(Parcel).where(Parcel.supplier_order_id == so.id))
    result = _track(parcel, "TRANSIT", "DELIVERED")
    assert result.counts["no_change"] == 2 and result.changed_orders == set()
    assert db.session.get(Order, order.id).shipping_status == "fulfilled"
    assert db.session.scalars(select(ParcelEvent.maps_to).where(
        ParcelEvent.parcel_id == parcel.id).order_by(ParcelEvent.id)).all() == [
        "shipped", "delivered"]
    parcel = db.session.get(Parcel, parcel.id)
    assert (parcel.carrier_status, parcel.final) == ("DELIVERED", True)


def test_tracking_of_a_leading_supplier_parcel_delivers_the_order(one_supplier, amana):
    order, so = one_supplier()
    _apply(so, "shipped", tracking_number="AM1", carrier="Amana")
    parcel = db.session.scalar(select(Parcel).where(Parcel.supplier_order_id == so.id))
    _track(parcel, "TRANSIT", "DELIVERED")
    assert db.session.get(Order, order.id).shipping_status == "delivered"


def test_of_two_suppliers_the_first_parcel_leads(atlas, make_supplier, make_dropship_product,
                                                 submitted_orders, amana):
    nova = make_supplier(name="Nova", default_shipping_method="Eco")
    order, (first, second) = submitted_orders([(make_dropship_product(atlas), 1),
                                               (make_dropship_product(nova), 1)])
    _apply(second, "shipped", tracking_number="AM2", carrier="Amana")
    _apply(first, "shipped", tracking_number="AM1", carrier="Amana")
    leads = dict(db.session.execute(select(Parcel.tracking_number, Parcel.leads)).all())
    assert leads == {"AM2": True, "AM1": False}
    assert db.session.get(Order, order.id).tracking_number == "AM2"


def test_open_orders_are_answered_submitted_or_accepted_least_recently_asked_first(
        one_supplier, atlas):
    now = utcnow()
    _o, never_answered = one_supplier()
    _o, asked_long_ago = one_supplier()
    _o, never_asked = one_supplier()
    _o, asked_just_now = one_supplier()
    _o, shipped = one_supplier()
    for so in (asked_long_ago, never_asked, asked_just_now):
        _apply(so, "accepted", supplier_ref=f"SUP-{so.id}")
    _apply(shipped, "shipped", tracking_number="AM9")
    asked_long_ago.last_synced_at = now - timedelta(hours=1)
    asked_just_now.last_synced_at = now
    db.session.commit()
    found = open_orders(atlas.id, now - timedelta(minutes=5))
    assert [so.id for so in found] == [never_asked.id, asked_long_ago.id]
    assert never_answered.answered_at is None


def test_tracking_that_comes_after_the_shipped_news_is_followed(one_supplier, atlas, amana):
    """Suppliers often say shipped before the carrier's number exists: it is asked for
    until it comes, then followed like any supplier parcel."""
    order, so = one_supplier()
    assert _apply(so, "shipped") == "shipped"
    assert (so.status, so.tracking_number) == ("shipped", None)
    assert db.session.get(Order, order.id).shipping_status == "created"
    assert [o.id for o in open_orders(atlas.id, utcnow())] == [so.id]

    assert _apply(so, "shipped", tracking_number="AM1", carrier="Amana") == "shipped"
    assert (so.status, so.tracking_number, so.carrier_name) == ("shipped", "AM1", "Amana")
    parcel = db.session.scalar(select(Parcel).where(Parcel.supplier_order_id == so.id))
    assert (parcel.carrier_id, parcel.leads) == (amana.id, True)
    order = db.session.get(Order, order.id)
    assert (order.shipping_status, order.tracking_number) == ("shipped", "AM1")
    assert supplier_trail(so)[-1].note == "tracking added: AM1 (Amana)"
    assert _apply(so, "shipped", tracking_number="AM2") == "no_change"
    assert open_orders(atlas.id, utcnow()) == []


def test_a_shipped_order_without_tracking_is_asked_about_for_a_week(one_supplier, atlas):
    _order, so = one_supplier()
    _apply(so, "shipped")
    assert open_orders(atlas.id, so.shipped_at + timedelta(days=6)) == [so]
    assert open_orders(atlas.id, so.shipped_at + timedelta(days=8)) == []
