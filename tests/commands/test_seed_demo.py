"""The demo data set: every status reached through the operations, consistent stock, repeatable."""

import re
from collections import Counter, defaultdict
from datetime import timedelta

import click
import pytest
from sqlalchemy import select

from app import create_app
from commands.demo import format_phone, normalize_phone, seed
from extensions import db
from models import (
    AuditEvent,
    Carrier,
    Channel,
    Order,
    OrderLine,
    Parcel,
    ParcelEvent,
    StockLevel,
    StockMovement,
    User,
    utcnow,
)
from models.status import Confirmation, Shipping
from models.stock.ledger import ledger_mismatches

ORDERS = 300


def _make_app(path):
    """A fresh app on its own SQLite file, with the demo data committed."""
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}/t.db",
        "WTF_CSRF_ENABLED": False,
    })
    with app.app_context():
        db.create_all()
        app.config["SEED_SUMMARY"] = seed(orders=ORDERS, seed=7)
        db.session.commit()
    return app


def _dispose(app) -> None:
    """Close the app's pooled connections so no file handle outlives the test."""
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def seeded_app(tmp_path_factory):
    """One seeded database shared by the read-only tests of this module."""
    app = _make_app(tmp_path_factory.mktemp("seed"))
    yield app
    _dispose(app)


@pytest.fixture
def ctx(seeded_app):
    """An app context on the seeded database."""
    with seeded_app.app_context():
        yield


def _orders() -> list[Order]:
    return list(db.session.scalars(select(Order).order_by(Order.id)))


def _customers() -> list[tuple]:
    rows = db.session.execute(
        select(
            Channel.name, Order.external_id, Order.customer_name, Order.phone, Order.address,
            Order.city, Order.confirmation_status, Order.shipping_status, Order.cod_amount_cents,
        ).join(Channel, Channel.id == Order.channel_id).order_by(Order.id)
    ).all()
    return [tuple(row) for row in rows]


def test_summary_counts_what_was_written(seeded_app, ctx):
    summary = seeded_app.config["SEED_SUMMARY"]
    assert summary["orders"] == ORDERS == len(_orders())
    assert summary["users"] == 7
    assert summary["warehouses"] == 2
    assert summary["products"] == 30
    assert summary["stock movements"] == len(db.session.scalars(select(StockMovement)).all())


def test_every_confirmation_and_shipping_status_occurs(ctx):
    orders = _orders()
    confirmation = Counter(o.confirmation_status for o in orders)
    shipping = Counter(o.shipping_status for o in orders if o.shipping_status)
    assert set(confirmation) == {c.value for c in Confirmation}
    assert set(shipping) == {s.value for s in Shipping}
    # New leads and delivered parcels are the biggest groups, as on a real board.
    assert confirmation["new"] >= ORDERS // 5
    assert shipping.most_common(1)[0][0] == "delivered"
    assert all(
        (o.shipping_status is None) == (o.confirmation_status != "confirmed") for o in orders
    )


def test_demo_users_log_in_with_demo(ctx):
    users = {u.username: u for u in db.session.scalars(select(User))}
    for role in ("agent", "operator", "manager", "admin"):
        assert users[role].role == role
        assert users[role].name
        assert users[role].check_password("demo")
        assert not users[role].check_password("wrong")
    agents = [u for u in users.values() if u.role == "agent"]
    assert len(agents) >= 4
    assert all(u.check_password("demo") for u in agents)


def test_every_order_in_a_shipping_status_has_its_audit_event(ctx):
    reached = {
        (e.order_id, e.to_value)
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "shipping"))
    }
    for order in _orders():
        if order.shipping_status:
            assert (order.id, order.shipping_status) in reached, order.reference
        if order.confirmation_status != "new":
            assert order.id in {
                e.order_id for e in db.session.scalars(
                    select(AuditEvent).where(
                        AuditEvent.order_id == order.id,
                        AuditEvent.to_value == order.confirmation_status,
                    )
                )
            }, order.reference


def test_shipped_demo_orders_have_a_parcel_whose_timeline_is_the_carriers_moves(ctx):
    parcels = {p.order_id: p for p in db.session.scalars(select(Parcel))}
    shipped = [o for o in _orders() if o.delivery_mode == "carrier" and o.shipping_status
               in ("shipped", "package_issue", "delivered", "in_return")]
    assert shipped and all(o.id in parcels for o in shipped)
    for order in shipped:
        parcel = parcels[order.id]
        moves = db.session.scalars(select(AuditEvent.to_value).where(
            AuditEvent.order_id == order.id, AuditEvent.actor_name == "carrier:sandbox")
            .order_by(AuditEvent.created_at)).all()
        events = db.session.scalars(select(ParcelEvent.maps_to).where(
            ParcelEvent.parcel_id == parcel.id).order_by(ParcelEvent.occurred_at)).all()
        assert events == moves and parcel.tracking_number == order.tracking_number
        assert parcel.final == (order.shipping_status == "in_return")


def test_canceled_and_fake_orders_say_why(ctx):
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.kind == "confirmation", AuditEvent.to_value.in_(["canceled", "fake"])
        )
    ).all()
    assert events
    assert all(e.note.strip() for e in events)
    system = [e for e in events if e.actor_name == "system"]
    assert system, "some unreachable orders are canceled by the system"


def test_returned_orders_put_back_exactly_what_they_took(ctx):
    returned = [o for o in _orders() if o.shipping_status == "returned"]
    assert returned
    for order in returned:
        line_ids = [line.id for line in order.lines if not line.is_dropship]
        moves = db.session.scalars(
            select(StockMovement).where(StockMovement.order_line_id.in_(line_ids))
        ).all()
        by_reason = defaultdict(dict)
        for move in moves:
            by_reason[move.reason][move.order_line_id] = move
        assert set(by_reason["reserve"]) == set(line_ids)
        assert set(by_reason["restock"]) == set(line_ids)
        for line_id, reserve in by_reason["reserve"].items():
            restock = by_reason["restock"][line_id]
            assert restock.quantity == -reserve.quantity > 0
            assert (restock.warehouse_id, restock.product_id) == (
                reserve.warehouse_id, reserve.product_id
            )


def test_stock_took_only_confirmed_warehouse_lines(ctx):
    reserved = {
        m.order_line_id
        for m in db.session.scalars(select(StockMovement).where(StockMovement.reason == "reserve"))
    }
    for order in _orders():
        for line in order.lines:
            assert line.is_dropship != (line.warehouse_id is not None)
            taken = line.id in reserved
            assert taken == (order.shipping_status is not None and not line.is_dropship)


def test_stock_levels_match_the_ledger(ctx):
    assert ledger_mismatches() == []
    levels = db.session.scalars(select(StockLevel)).all()
    assert levels
    assert all(level.on_hand >= 0 for level in levels)


def test_external_ids_are_unique_per_channel(ctx):
    rows = db.session.execute(
        select(Channel.kind, Order.external_id).join(Channel, Channel.id == Order.channel_id)
    ).all()
    assert len(rows) == len(set(rows))
    kinds = {kind for kind, _ in rows}
    assert kinds == {"api", "manual"}  # the sandbox marketplace's orders arrive live
    for kind, external_id in rows:
        assert re.fullmatch(r"#\d{4}" if kind == "api" else r"W-\d{4}", external_id)


def test_the_sandbox_marketplace_is_a_channel_that_is_polled_and_hears_back(ctx):
    from models.intake.news import NEWS_KINDS
    from workers.channels import ADAPTERS

    marketplace = db.session.scalar(select(Channel).where(Channel.kind == "sandbox"))
    assert marketplace.base_url.endswith("/sandbox/marketplace")
    assert marketplace.api_key and marketplace.default_carrier_id
    assert set(ADAPTERS) == NEWS_KINDS


def test_orders_look_like_cash_on_delivery_orders(ctx):
    carriers = {c.id: c for c in db.session.scalars(select(Carrier))}
    for order in _orders():
        assert 1 <= len(order.lines) <= 4
        assert order.cod_amount_cents == order.total_cents + 30_00
        assert order.currency == "MAD"
        assert re.fullmatch(r"\+212[67]\d{8}", order.phone_normalized)
        assert normalize_phone(order.phone) == order.phone_normalized
        assert order.customer_name and order.address and order.city and order.region
        carrier = carriers[order.carrier_id]
        assert carrier.local_delivery == (order.delivery_mode == "local")
        if order.delivery_mode == "local" or order.shipping_status in (None, "created"):
            assert order.tracking_number is None
        elif order.shipping_status not in ("fulfilled", "canceled", "returned"):
            assert re.fullmatch(r"SBX\d{10}", order.tracking_number), order.reference
    local = sum(o.delivery_mode == "local" for o in _orders())
    assert 0.08 * ORDERS <= local <= 0.25 * ORDERS


def test_histories_stay_between_the_order_and_now(ctx):
    now = utcnow()
    orders = {o.id: o for o in _orders()}
    assert min(o.created_at for o in orders.values()) >= now - timedelta(days=15)
    for event in db.session.scalars(select(AuditEvent)):
        assert orders[event.order_id].created_at <= event.created_at <= now
    for order in orders.values():
        if order.confirmed_at:
            assert order.created_at <= order.confirmed_at <= now
    recent = sum(o.created_at >= now - timedelta(days=7) for o in orders.values())
    assert recent > ORDERS / 2, "recent days are busier"


def test_call_later_queue_has_due_and_later_callbacks(ctx):
    now = utcnow()
    callbacks = [o.callback_at for o in _orders() if o.confirmation_status == "call_later"]
    assert all(callbacks)
    assert any(c <= now for c in callbacks)
    assert any(now < c <= now + timedelta(hours=5) for c in callbacks)
    assert any(c > now + timedelta(hours=12) for c in callbacks)
    no_answer = [o.attempts for o in _orders() if o.confirmation_status == "no_answer"]
    assert set(no_answer) <= {1, 2, 3, 4} and len(set(no_answer)) > 1


def test_some_new_leads_repeat_an_earlier_phone(ctx):
    orders = sorted(_orders(), key=lambda o: o.created_at)
    repeats = fake_before = 0
    for index, order in enumerate(orders):
        if order.confirmation_status != "new":
            continue
        earlier = [o for o in orders[:index] if o.phone_normalized == order.phone_normalized]
        repeats += any(order.created_at - o.created_at <= timedelta(days=2) for o in earlier)
        fake_before += any(o.confirmation_status == "fake" for o in earlier)
    assert repeats >= 3
    assert fake_before >= 2


def test_every_counter_and_board_rollup_matches_the_dated_history(ctx):
    from models.boards.check import stored_rollups
    from models.orders.counter_check import check_counters

    assert check_counters() == []
    stored = stored_rollups()
    days = {key[3] for key in stored if key[0] == "order_day_counts"}
    assert len(days) > 7  # the arrivals spread over the demo's two weeks
    assert any(key[0] == "lead_speed_counts" for key in stored)
    first_calls = db.session.scalars(select(Order).where(Order.first_call_at.is_not(None)))
    assert all(o.created_at <= o.first_call_at <= utcnow() for o in first_calls)


def test_seeding_twice_is_refused(ctx):
    with pytest.raises(click.ClickException):
        seed(orders=5)
    assert len(_orders()) == ORDERS


def test_same_seed_gives_the_same_customers(seeded_app, tmp_path):
    with seeded_app.app_context():
        first = _customers()
    other = _make_app(tmp_path)
    try:
        with other.app_context():
            second = _customers()
            lines = db.session.execute(
                select(OrderLine.order_id, OrderLine.sku, OrderLine.quantity)
                .order_by(OrderLine.id)
            ).all()
        with seeded_app.app_context():
            assert lines == db.session.execute(
                select(OrderLine.order_id, OrderLine.sku, OrderLine.quantity)
                .order_by(OrderLine.id)
            ).all()
    finally:
        _dispose(other)
    assert first == second
    assert len({c[2] for c in first}) > 100


@pytest.mark.parametrize("raw", [
    "0612345678", "+212 6 12 34 56 78", "06-12-34-56-78", "212612345678", "06 12 34 56 78",
    "+212612345678", "00212 612 345 678",
])
def test_phone_formats_normalize_to_e164(raw):
    assert normalize_phone(raw) == "+212612345678"


def test_every_phone_style_round_trips():
    for style in range(7):
        assert normalize_phone(format_phone("712345678", style)) == "+212712345678"
    assert normalize_phone("12345") == ""
