"""The boards' rollups equal a fold of every order after random work through every writer
(intake's plain INSERT, the call screen's plain UPDATE, the ORM door, the carriers' bulk
write, edits, tracking numbers, remittance statements), and the daily fold of shards keeps
them equal while reading fewer rows."""

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Actor, CallSettings, Order, OrderLine, utcnow
from models.boards.check import compact, counted_rollups, stored_rollups
from models.boards.tables import OrderDayCount
from models.calls.outcome import record_outcome
from models.errors import DomainError
from models.intake.create import create_orders
from models.intake.incoming import IncomingLine, IncomingOrder
from models.money.remittances import Columns, import_statement
from models.orders.counter_check import check_counters
from models.orders.operations import change_shipping, edit_order
from models.shipping.operations import set_tracking
from models.status import Party, Shipping, shipping_parties

CITIES = ("Casablanca", "Rabat", "Fès", "=cmd()")
ONWARD = ("fulfilled", "shipped", "delivered")  # most parcels get there
OUTCOMES = ("no_answer", "call_later", "confirmed", "confirmed", "canceled", "fake")


@pytest.fixture
def shop(make_user, make_channel, make_carrier, make_product, make_supplier):
    """Two channels, two carriers, own-stock and dropship products, one actor per party."""
    supplier = make_supplier()
    products = [make_product(stock=500), make_product(stock=500),
                make_product(stock=0, dropship_supplier_id=supplier.id)]
    return {
        "agents": [Actor.of(make_user("agent")), Actor.of(make_user("agent"))],
        "manager": Actor.of(make_user("manager")),
        "operator": Actor.of(make_user("operator")),
        "carrier_actor": Actor.carrier("test"),
        "channels": [make_channel(), make_channel()],
        "carriers": [make_carrier(), make_carrier()],
        "products": products,
    }


def _arrive(rng, shop, n: int) -> None:
    """Orders arriving through intake (plain INSERT), some of them with a dropship line."""
    channel = rng.choice(shop["channels"])
    incoming = []
    for _ in range(n):
        skus = rng.sample([p.sku for p in shop["products"]], rng.choice((1, 2)))
        incoming.append(IncomingOrder(
            external_id=f"R-{rng.randrange(10**9)}", customer_name="Client",
            phone="0612345678", address="12 Rue Ibn Battouta", city=rng.choice(CITIES),
            lines=[IncomingLine(sku, rng.choice((1, 2))) for sku in skus]))
    create_orders(channel, incoming, Actor.system("test"), source="api", strict=False)


def _call(rng, shop, order: Order) -> None:
    """An agent takes the card and records an outcome on the call screen's plain path."""
    agent = rng.choice(shop["agents"])
    order.claimed_by_id, order.claimed_at = agent.user_id, utcnow() - timedelta(
        seconds=rng.randrange(20, 400))
    db.session.commit()
    record_outcome(order.id, rng.choice(OUTCOMES), agent, CallSettings.load(), note="test",
                   expected_version=order.version, callback_at=utcnow() + timedelta(hours=2))


def _ship(rng, shop, order: Order) -> None:
    """An operator or the carrier moves the parcel one step the table allows."""
    actors = {Party.OPERATOR: shop["operator"], Party.CARRIER: shop["carrier_actor"]}
    moves = sorted((s.value, p) for s in Shipping
                   for p in shipping_parties(order.shipping_status, s, order.delivery_mode)
                   if p in actors)
    onward = [m for m in moves if m[0] in ONWARD]
    if moves:
        dst, party = rng.choice(onward if onward and rng.random() < 0.85 else moves)
        change_shipping(order, dst, actors[party], note="test")


def _remit(rng, shop, delivered: list[Order]) -> None:
    """A carrier's statement pays some delivered parcels, short or over now and then."""
    by_carrier: dict[int, list[str]] = {}
    for order in delivered:
        parcel = set_tracking(order, f"TRK{order.id:06d}", order.carrier_id or
                              shop["carriers"][0].id, shop["operator"])
        amount = order.cod_amount_cents + rng.choice((0, 0, -1000, 500))
        by_carrier.setdefault(parcel.carrier_id, []).append(
            f"{parcel.tracking_number},{amount / 100:.2f},5.00,2026-11-20")
    db.session.commit()
    for carrier_id, rows in by_carrier.items():
        content = ("tracking_number,amount,fees,payout_date\r\n" + "\r\n".join(rows)).encode()
        carrier = next(c for c in shop["carriers"] if c.id == carrier_id)
        import_statement(carrier, f"s{rng.randrange(10**9)}.csv", content, Columns(),
                         shop["manager"])


def _step(rng, shop) -> None:
    """One random piece of work through one of the writers."""
    ids = db.session.scalars(select(Order.id)).all()
    roll = rng.random()
    if roll < 0.12 or not ids:
        _arrive(rng, shop, rng.randrange(1, 4))
        return
    order = db.session.get(Order, rng.choice(ids))
    if roll < 0.20:
        # Back-dated arrival: the order moves to another day's rows (ORM flush).
        order.created_at -= timedelta(days=rng.randrange(1, 5), hours=rng.randrange(24))
    elif roll < 0.26 and order.confirmation_status in ("new", "no_answer", "call_later"):
        edit_order(order, shop["manager"], city=rng.choice(CITIES))
    elif roll < 0.32 and order.shipping_status:
        set_tracking(order, f"SET{rng.randrange(10**6)}", rng.choice(shop["carriers"]).id,
                     shop["operator"])
    elif roll < 0.38:
        delivered = db.session.scalars(select(Order).where(
            Order.shipping_status == "delivered", Order.remittance == "").limit(3)).all()
        _remit(rng, shop, delivered)
    elif order.shipping_status:
        _ship(rng, shop, order)
    elif order.confirmation_status in ("new", "no_answer", "call_later"):
        _call(rng, shop, order)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_rollups_equal_a_recount_after_random_work_through_every_writer(shop, seed):
    rng = random.Random(seed)
    done = 0
    for _ in range(160):
        try:
            _step(rng, shop)
            db.session.commit()
            done += 1
        except DomainError:
            db.session.rollback()
    assert done > 100
    stored = stored_rollups()
    # The walk reached every table: arrivals, first calls, shipped cash and paid cash.
    assert {key[0] for key in stored} == {"order_day_counts", "lead_speed_counts",
                                          "cod_counts"}
    assert any(key[0] == "cod_counts" and key[3] in ("remitted", "short", "over")
               for key in stored)
    assert any(key[1] == "supplier" for key in stored if key[0] == "order_day_counts")
    assert check_counters() == []
    total = sum(v[0] for k, v in stored.items() if k[0] == "order_day_counts" and k[1] == "all")
    assert total == db.session.scalar(select(func.count()).select_from(Order))


def test_an_order_is_counted_once_in_each_slice_it_belongs_to(shop, make_order):
    dropship = shop["products"][2]
    order = make_order(lines=[(shop["products"][0], 1), (dropship, 1)],
                       channel=shop["channels"][0], carrier=shop["carriers"][1], city="Rabat")
    order.lines[1].supplier_id = dropship.dropship_supplier_id  # routed to its supplier
    db.session.commit()
    rows = {(k[1], k[2]): v[0] for k, v in stored_rollups().items()
            if k[0] == "order_day_counts"}
    assert rows == {
        ("all", ""): 1, ("channel", str(shop["channels"][0].id)): 1,
        ("carrier", str(shop["carriers"][1].id)): 1, ("agent", ""): 1, ("city", "Rabat"): 1,
        ("supplier", str(dropship.dropship_supplier_id)): 1}
    # A supplier's line added to another stored order puts that order in its slice too.
    other = make_order(channel=shop["channels"][1])
    other.lines.append(OrderLine(product=dropship, sku=dropship.sku, name="x", quantity=1,
                                 supplier_id=dropship.dropship_supplier_id))
    db.session.commit()
    supplier_rows = db.session.scalar(select(func.sum(OrderDayCount.n)).where(
        OrderDayCount.dim == "supplier"))
    assert supplier_rows == 2
    assert counted_rollups() == stored_rollups()


def test_paid_cash_moves_from_awaiting_payout_to_paid_with_its_fees(shop, make_order):
    carrier = shop["carriers"][0]
    order = make_order(carrier=carrier, cod_amount_cents=25000,
                       confirmation_status="confirmed", shipping_status="shipped")
    change_shipping(order, Shipping.DELIVERED, shop["carrier_actor"])
    db.session.commit()

    def cash():  # summed over the shards
        return {(k[3], k[2]): v for k, v in stored_rollups().items() if k[0] == "cod_counts"}

    assert cash() == {("", "delivered"): (1, 25000, 0, 0)}
    set_tracking(order, "PAY123456", carrier.id, shop["operator"])
    db.session.commit()
    import_statement(carrier, "pay.csv", b"tracking_number,amount,fees,payout_date\r\n"
                     b"PAY123456,240.00,12.50,2026-11-20\r\n", Columns(), shop["manager"])
    db.session.commit()
    assert cash() == {("short", "delivered"): (1, 25000, 24000, 1250)}
    assert check_counters() == []


def test_past_days_fold_into_one_row_each_and_still_match(shop, make_order):
    three_days_ago = utcnow() - timedelta(days=3)
    for _ in range(16):  # each order's rows land on a random shard
        make_order(channel=shop["channels"][0], created_at=three_days_ago)
    rows_before = db.session.scalar(select(func.count()).select_from(OrderDayCount))
    assert len(set(db.session.scalars(select(OrderDayCount.shard)))) > 1
    compact(utcnow().date())
    db.session.commit()
    rows_after = db.session.scalar(select(func.count()).select_from(OrderDayCount))
    assert rows_after < rows_before
    assert set(db.session.scalars(select(OrderDayCount.shard))) == {0}
    assert check_counters() == []
