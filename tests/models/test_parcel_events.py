"""Carrier events through the bulk path: timeline, the door's table, order, duplicates."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

import models.shipping.events as events_module
from extensions import db
from models import AuditEvent, Order
from models.errors import Conflict
from models.orders.counters import rebuild_counts, status_counts
from models.shipping.events import apply_carrier_events
from models.shipping.tables import Parcel, ParcelEvent
from workers.carriers import TrackingEvent

T0 = datetime(2026, 11, 20, 8, 0)
MAP = {"PICKED_UP": "shipped", "IN_TRANSIT": "shipped", "FAILED": "package_issue",
       "DELIVERED": "delivered", "RTS": "in_return", "INFO": "ignore"}


def ev(tn, code, minutes, event_id=None):
    """A carrier event `minutes` after T0."""
    return TrackingEvent(tracking_number=tn, occurred_at=T0 + timedelta(minutes=minutes),
                         code=code, text=code.title(), location="Casablanca HUB",
                         event_id=event_id)


def apply(parcel, events, source="api"):
    result = apply_carrier_events(parcel.carrier_id, parcel.carrier.code, events,
                                  source=source, map_status=lambda c, t: MAP.get(c))
    db.session.commit()
    db.session.expire_all()
    return result


def timeline(parcel):
    return db.session.execute(
        select(ParcelEvent.raw_code, ParcelEvent.outcome, ParcelEvent.maps_to)
        .filter_by(parcel_id=parcel.id).order_by(ParcelEvent.occurred_at, ParcelEvent.id)
    ).all()


def carrier_moves(order):
    return db.session.execute(
        select(AuditEvent.from_value, AuditEvent.to_value, AuditEvent.actor_name)
        .filter_by(order_id=order.id, kind="shipping")
        .where(AuditEvent.actor_name.like("carrier:%")).order_by(AuditEvent.id)).all()


def test_journey_moves_the_order_with_an_audit_event_per_move(parcel_order):
    order, parcel = parcel_order("fulfilled")
    tn = parcel.tracking_number
    result = apply(parcel, [ev(tn, "PICKED_UP", 1), ev(tn, "IN_TRANSIT", 2),
                            ev(tn, "DELIVERED", 3)])
    assert db.session.get(Order, order.id).shipping_status == "delivered"
    assert result.counts["applied"] == 2 and result.counts["no_change"] == 1
    code = parcel.carrier.code
    assert carrier_moves(order) == [("fulfilled", "shipped", f"carrier:{code}"),
                                    ("shipped", "delivered", f"carrier:{code}")]
    assert [row.outcome for row in timeline(parcel)] == ["applied", "no_change", "applied"]
    parcel = db.session.get(Parcel, parcel.id)
    assert parcel.carrier_status == "DELIVERED"
    assert parcel.last_event_at == T0 + timedelta(minutes=3)
    assert result.push_tracking == [order.id]


def test_journey_keeps_the_counters_equal_to_a_recount(parcel_order):
    order, parcel = parcel_order("fulfilled")
    apply(parcel, [ev(parcel.tracking_number, "PICKED_UP", 1)])
    live = status_counts()
    rebuild_counts()
    db.session.commit()
    assert status_counts() == live


def test_redelivered_events_are_stored_once_and_applied_once(parcel_order):
    order, parcel = parcel_order("fulfilled")
    tn = parcel.tracking_number
    batch = [ev(tn, "PICKED_UP", 1, "e1"), ev(tn, "PICKED_UP", 1, "e1")]
    first = apply(parcel, batch)
    again = apply(parcel, batch)
    assert first.counts["duplicate"] == 1 and again.counts["duplicate"] == 2
    assert len(timeline(parcel)) == 1
    assert len(carrier_moves(order)) == 1


def test_an_older_event_after_a_newer_one_is_recorded_as_stale(parcel_order):
    order, parcel = parcel_order("fulfilled")
    tn = parcel.tracking_number
    apply(parcel, [ev(tn, "PICKED_UP", 1), ev(tn, "DELIVERED", 10)])
    late = apply(parcel, [ev(tn, "FAILED", 5)])
    assert late.counts["stale"] == 1
    assert db.session.get(Order, order.id).shipping_status == "delivered"
    stale = db.session.execute(select(ParcelEvent).filter_by(parcel_id=parcel.id,
                                                             raw_code="FAILED")).scalar_one()
    assert stale.outcome == "stale" and "older than the last applied" in stale.reason


def test_out_of_order_events_in_one_batch_apply_in_carrier_time(parcel_order):
    order, parcel = parcel_order("fulfilled")
    tn = parcel.tracking_number
    apply(parcel, [ev(tn, "DELIVERED", 9), ev(tn, "FAILED", 5), ev(tn, "PICKED_UP", 1)])
    assert db.session.get(Order, order.id).shipping_status == "delivered"
    assert [(f, t) for f, t, _ in carrier_moves(order)] == [
        ("fulfilled", "shipped"), ("shipped", "package_issue"), ("package_issue", "delivered")]


def test_unknown_status_is_recorded_unmapped_and_changes_nothing(parcel_order):
    order, parcel = parcel_order("shipped")
    result = apply(parcel, [ev(parcel.tracking_number, "WEATHER_HOLD", 1)])
    assert result.counts["unmapped"] == 1
    assert db.session.get(Order, order.id).shipping_status == "shipped"
    event = db.session.execute(select(ParcelEvent).filter_by(parcel_id=parcel.id)).scalar_one()
    assert event.outcome == "unmapped" and "WEATHER_HOLD" in event.reason
    assert db.session.get(Parcel, parcel.id).carrier_status == "WEATHER_HOLD"


def test_ignored_status_is_recorded_and_changes_nothing(parcel_order):
    order, parcel = parcel_order("created")
    result = apply(parcel, [ev(parcel.tracking_number, "INFO", 1)])
    assert result.counts["ignored"] == 1
    assert db.session.get(Order, order.id).shipping_status == "created"


def test_a_move_the_table_refuses_is_recorded_with_the_reason(parcel_order):
    order, parcel = parcel_order("created")  # not packed yet: a carrier cannot deliver it
    result = apply(parcel, [ev(parcel.tracking_number, "DELIVERED", 1)])
    assert result.counts["refused"] == 1
    event = db.session.execute(select(ParcelEvent).filter_by(parcel_id=parcel.id)).scalar_one()
    assert event.outcome == "refused" and "cannot move to Delivered" in event.reason
    assert db.session.get(Order, order.id).shipping_status == "created"


def test_carrier_cannot_move_a_local_delivery_order(parcel_order):
    order, parcel = parcel_order("created", delivery_mode="local")
    db.session.execute(update(Order).where(Order.id == order.id)
                       .values(shipping_status="fulfilled", version=Order.version + 1))
    db.session.commit()
    result = apply(parcel, [ev(parcel.tracking_number, "PICKED_UP", 1)])
    assert result.counts["refused"] == 1
    assert db.session.get(Order, order.id).shipping_status == "fulfilled"


def test_terminal_orders_stay_terminal(parcel_order):
    order, parcel = parcel_order("returned")
    result = apply(parcel, [ev(parcel.tracking_number, "DELIVERED", 60 * 24 * 30)])
    assert result.counts["refused"] == 1
    assert db.session.get(Order, order.id).shipping_status == "returned"


def test_in_return_makes_the_parcel_final_for_the_sync(parcel_order):
    order, parcel = parcel_order("shipped")
    apply(parcel, [ev(parcel.tracking_number, "RTS", 1)])
    assert db.session.get(Order, order.id).shipping_status == "in_return"
    assert db.session.get(Parcel, parcel.id).final is True


def test_events_for_unknown_tracking_numbers_write_nothing(parcel_order):
    order, parcel = parcel_order("fulfilled")
    result = apply(parcel, [ev("NOPE123", "PICKED_UP", 1)])
    assert result.unknown == {"NOPE123"} and result.counts["unknown_parcel"] == 1
    assert db.session.execute(select(ParcelEvent)).first() is None


def test_an_order_changed_underneath_refuses_the_whole_batch(parcel_order, monkeypatch):
    order, parcel = parcel_order("fulfilled")
    other, other_parcel = parcel_order("fulfilled", carrier=parcel.carrier)
    read = events_module._load

    def read_then_someone_writes(carrier_id, numbers):
        """The batch reads the orders, then another writer moves one of them."""
        states = read(carrier_id, numbers)
        db.session.execute(update(Order).where(Order.id == order.id)
                           .values(version=Order.version + 1))
        return states

    monkeypatch.setattr(events_module, "_load", read_then_someone_writes)
    with pytest.raises(Conflict):
        apply_carrier_events(parcel.carrier_id, parcel.carrier.code,
                             [ev(parcel.tracking_number, "PICKED_UP", 1),
                              ev(other_parcel.tracking_number, "PICKED_UP", 1)],
                             source="api", map_status=lambda c, t: MAP.get(c))
    db.session.rollback()
    assert db.session.get(Order, other.id).shipping_status == "fulfilled"
    assert db.session.execute(select(ParcelEvent)).first() is None


def test_large_batches_take_the_copy_path_with_the_same_result(parcel_order, monkeypatch):
    """On PostgreSQL big batches go through COPY and UPDATE … FROM; the outcome is the same."""
    import models.bulk

    monkeypatch.setattr(models.bulk, "COPY_FROM", 1)
    first, parcel = parcel_order("fulfilled")
    second, other = parcel_order("shipped", carrier=parcel.carrier)
    apply(parcel, [ev(parcel.tracking_number, "PICKED_UP", 1),
                   ev(other.tracking_number, "DELIVERED", 2),
                   ev(other.tracking_number, "DELIVERED", 2)])
    assert db.session.get(Order, first.id).shipping_status == "shipped"
    assert db.session.get(Order, second.id).shipping_status == "delivered"
    assert len(carrier_moves(first)) == 1 and len(timeline(other)) == 1
    assert db.session.get(Parcel, other.id).carrier_status == "DELIVERED"
