"""The orders list query: every filter, search in every phone format, keyset pages."""

from datetime import datetime, timedelta

import pytest

from extensions import db
from models import Actor, Order
from models.orders.counters import rebuild_counts, status_counts
from models.orders.listing import Cursor, OrderFilters, list_orders
from models.orders.operations import change_confirmation, reopen_order
from models.phones import normalize_phone


def ids(page):
    return [row.id for row in page.rows]


@pytest.fixture
def shop(make_order, make_channel, make_carrier, make_user, make_product):
    """A handful of orders that differ in one attribute each."""
    product = make_product(stock=100)
    other_channel, other_carrier = make_channel(name="Other shop"), make_carrier(name="Other")
    agent = make_user("agent")
    base = datetime(2026, 11, 10, 12, 0)
    made = {
        "plain": make_order(lines=[(product, 1)], created_at=base),
        "rabat": make_order(lines=[(product, 1)], city="Rabat",
                            created_at=base + timedelta(hours=1)),
        "channel": make_order(lines=[(product, 1)], channel=other_channel,
                              created_at=base + timedelta(hours=2)),
        "carrier": make_order(lines=[(product, 1)], carrier=other_carrier,
                              created_at=base + timedelta(hours=3)),
        "phone": make_order(lines=[(product, 1)], phone="06 61 22 33 44",
                            phone_normalized=normalize_phone("06 61 22 33 44"),
                            customer_name="Élodie Benali", external_id="#1042",
                            created_at=base + timedelta(days=2)),
    }
    confirmed = made["confirmed"] = make_order(lines=[(product, 1)],
                                               created_at=base + timedelta(hours=4))
    confirmed.claimed_by_id = agent.id
    change_confirmation(confirmed, "confirmed", Actor.of(agent))
    db.session.commit()
    made["agent"] = agent
    made["other_channel"], made["other_carrier"] = other_channel, other_carrier
    return made


@pytest.mark.parametrize(("filters", "expected"), [
    (lambda s: OrderFilters(city="Rabat"), ["rabat"]),
    (lambda s: OrderFilters(channel_id=s["other_channel"].id), ["channel"]),
    (lambda s: OrderFilters(carrier_id=s["other_carrier"].id), ["carrier"]),
    (lambda s: OrderFilters(confirmation="confirmed"), ["confirmed"]),
    (lambda s: OrderFilters(shipping="created"), ["confirmed"]),
    (lambda s: OrderFilters(agent_id=s["agent"].id), ["confirmed"]),
    (lambda s: OrderFilters(confirmation="new", city="Rabat"), ["rabat"]),
    (lambda s: OrderFilters(created_from=datetime(2026, 11, 12),
                            created_to=datetime(2026, 11, 13)), ["phone"]),
])
def test_list_filters_narrow_to_matching_orders(shop, filters, expected):
    assert ids(list_orders(filters(shop))) == [shop[name].id for name in expected]


@pytest.mark.parametrize("typed", [
    "0661223344", "06 61 22 33 44", "+212661223344", "+212 6 61 22 33 44", "212661223344",
    "00212661223344", "(06) 61.22.33.44", "06-61-22-33-44",
])
def test_list_search_finds_phone_in_any_format(shop, typed):
    assert ids(list_orders(OrderFilters(search=typed))) == [shop["phone"].id]


@pytest.mark.parametrize("typed", ["benali", "BENALI", "élodie", "Élodie Ben", "lodie"])
def test_list_search_finds_part_of_a_name_in_any_case(shop, typed):
    assert ids(list_orders(OrderFilters(search=typed))) == [shop["phone"].id]


def test_list_search_finds_order_number_and_external_id(shop):
    target = shop["phone"]
    assert ids(list_orders(OrderFilters(search=f"#{target.id}"))) == [target.id]
    assert ids(list_orders(OrderFilters(search=str(target.id)))) == [target.id]
    assert ids(list_orders(OrderFilters(search="#1042"))) == [target.id]


def test_list_search_treats_like_wildcards_literally(shop):
    assert ids(list_orders(OrderFilters(search="%%"))) == []
    assert ids(list_orders(OrderFilters(search="__"))) == []


def test_list_is_newest_first(shop):
    rows = list_orders(OrderFilters()).rows
    stamps = [(r.created_at, r.id) for r in rows]
    assert stamps == sorted(stamps, reverse=True) and len(rows) == 6


def test_keyset_pages_cover_every_order_once_while_orders_arrive(make_order, make_product):
    product = make_product(stock=0)
    start = datetime(2026, 11, 1, 8, 0)
    # Ties on created_at: the id breaks them, so no row is skipped or repeated.
    original = [make_order(lines=[(product, 1)], created_at=start + timedelta(minutes=i // 3)).id
                for i in range(23)]
    seen, cursor, pages = [], None, 0
    while True:
        page = list_orders(OrderFilters(before=cursor), limit=5)
        seen += ids(page)
        pages += 1
        # New orders keep arriving between page loads.
        make_order(lines=[(product, 1)], created_at=datetime(2026, 11, 20) + timedelta(pages))
        if page.next_cursor is None:
            break
        cursor = Cursor.decode(page.next_cursor.encode())
    assert sorted(seen) == sorted(original)
    assert len(seen) == len(set(seen)) and pages == 5


def test_cursor_round_trip_and_refuses_garbage():
    cursor = Cursor(datetime(2026, 11, 21, 9, 30, 15, 123456), 42)
    assert Cursor.decode(cursor.encode()) == cursor
    with pytest.raises(ValueError):
        Cursor.decode("not-a-cursor")


def test_counters_follow_every_status_change(make_order, make_user, make_channel):
    channel = make_channel()
    orders = [make_order(channel=channel) for _ in range(3)]
    agent = make_user("agent")
    for order, outcome in zip(orders, ["confirmed", "fake", "no_answer"], strict=True):
        order.claimed_by_id = agent.id
        change_confirmation(order, outcome, Actor.of(agent), note="x")
    reopen_order(orders[1], Actor.of(make_user("manager")), reason="called back")
    db.session.commit()
    counts = status_counts(channel.id)
    nonzero = {k: v for k, v in counts["confirmation"].items() if v}
    assert nonzero == {"new": 1, "confirmed": 1, "no_answer": 1}
    assert {k: v for k, v in counts["shipping"].items() if v} == {"created": 1}
    assert counts["total"] == 3
    live = status_counts()
    assert rebuild_counts() == 3
    db.session.commit()
    assert status_counts() == live


def test_counters_follow_deleted_orders(make_order):
    order = make_order()
    assert status_counts()["total"] == 1
    db.session.delete(db.session.get(Order, order.id))
    db.session.commit()
    assert status_counts()["total"] == 0
