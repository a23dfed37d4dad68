"""The status board's figures against hand-built orders with known answers."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import current_app

from extensions import db
from models import Actor, utcnow
from models.boards import figures
from models.boards.period import Period, Slice, today
from models.orders.operations import change_confirmation, change_shipping

# Shipping moves after a confirmation, each with who makes it (the carrier scans).
PATHS = {
    "created": [],
    "shipped": [("fulfilled", "op"), ("shipped", "carrier")],
    "delivered": [("fulfilled", "op"), ("shipped", "carrier"), ("delivered", "carrier")],
    "in_return": [("fulfilled", "op"), ("shipped", "carrier"), ("in_return", "carrier")],
    "returned": [("fulfilled", "op"), ("shipped", "carrier"), ("in_return", "carrier"),
                 ("returned", "op")],
    "package_issue": [("fulfilled", "op"), ("shipped", "carrier"),
                      ("package_issue", "carrier")],
}


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A local wall-clock time as the naive UTC the orders store."""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone) \
        .astimezone(UTC).replace(tzinfo=None)


@pytest.fixture
def shop(make_order, make_user, make_channel, make_product):
    """shop.order(conf="new", ship=None, **overrides): an order driven through the real
    operations to that confirmation and shipping status."""
    agent, operator = make_user("agent"), Actor.of(make_user("operator"))
    carrier = Actor.carrier("sandbox")
    product = make_product(stock=500)

    class Shop:
        channel = make_channel()

        def order(self, conf: str = "new", ship: str | None = None, **overrides):
            overrides.setdefault("channel", self.channel)
            order = make_order(lines=[(product, 1)], **overrides)
            if conf != "new":
                order.claimed_by_id = agent.id
                db.session.commit()
                change_confirmation(order, conf, Actor.of(agent), note="test call",
                                    callback_at=utcnow() + timedelta(hours=2))
            for status, who in PATHS[ship] if ship else []:
                change_shipping(order, status, operator if who == "op" else carrier)
            db.session.commit()
            return order

    return Shop()


EVERY = Slice()  # no filter


def board(period: Period, slice_: Slice = EVERY):
    counts = figures.read_counts(period, slice_)
    return counts, {r.key: r for r in figures.rates(counts)}, figures.funnel(counts)


def test_figures_of_an_empty_period_divide_by_nothing(app):
    counts, rates, funnel = board(Period.named("today", today()))
    assert counts.total == 0
    assert all(r.value is None and r.denominator == 0 for r in rates.values())
    assert [(s.n, s.drop) for s in funnel] == [(0, None)] * 5
    assert [d.leads for d in figures.trends(counts)] == [0]


def test_figures_of_one_new_order(shop):
    shop.order()
    counts, rates, funnel = board(Period.named("today", today()))
    assert counts.total == 1
    assert counts.by_confirmation()["new"] == 1
    assert counts.by_shipping()[""] == 1  # not shipped
    assert counts.cell("new", "") == 1
    assert rates["confirmation"].value is None
    assert [(s.name, s.n) for s in funnel] == [
        ("Leads", 1), ("Reached", 0), ("Confirmed", 0), ("Shipped", 0), ("Delivered", 0)]
    assert funnel[1].drop == 100.0
    assert funnel[2].drop is None  # nothing reached: nothing to lose


def test_figures_of_a_mixed_day(shop, make_channel):
    for conf in ("new", "no_answer", "call_later", "canceled", "fake"):
        shop.order(conf)
    for ship in ("created", "shipped", "delivered", "delivered", "in_return", "returned",
                 "package_issue"):
        shop.order("confirmed", ship)
    other = make_channel()
    shop.order("confirmed", channel=other)
    shop.order("confirmed", created_at=utcnow() - timedelta(days=2))  # another day

    counts, rates, funnel = board(Period.named("today", today()))
    assert counts.total == 13
    assert counts.by_confirmation() == {"new": 1, "no_answer": 1, "call_later": 1,
                                        "confirmed": 8, "canceled": 1, "fake": 1}
    assert counts.by_shipping() == {"": 5, "created": 2, "fulfilled": 0, "shipped": 1,
                                    "package_issue": 1, "delivered": 2, "in_return": 1,
                                    "returned": 1, "canceled": 0}
    assert counts.cell("confirmed", "delivered") == 2
    assert counts.cell("canceled", "") == 1
    assert (rates["confirmation"].numerator, rates["confirmation"].denominator) == (8, 10)
    assert rates["confirmation"].value == 80.0
    assert (rates["delivery"].numerator, rates["delivery"].denominator) == (2, 4)
    assert (rates["return"].numerator, rates["return"].denominator) == (2, 6)
    assert round(rates["return"].value, 1) == 33.3
    assert [s.n for s in funnel] == [13, 11, 8, 6, 2]
    assert [None if s.drop is None else round(s.drop, 1) for s in funnel] == [
        None, 15.4, 27.3, 25.0, 66.7]

    # One channel's slice counts that channel's orders only.
    mine, mine_rates, _ = board(Period.named("today", today()),
                                Slice("channel", str(shop.channel.id)))
    assert mine.total == 12
    assert (mine_rates["confirmation"].numerator,
            mine_rates["confirmation"].denominator) == (7, 9)
    theirs, _, _ = board(Period.named("today", today()), Slice("channel", str(other.id)))
    assert theirs.by_confirmation()["confirmed"] == 1 and theirs.total == 1

    # Two days: the older confirmed order joins.
    week, week_rates, _ = board(Period.named("7d", today()))
    assert week.total == 14 and week_rates["confirmation"].numerator == 9


def test_an_order_at_half_past_eleven_at_night_belongs_to_that_local_day(shop):
    day = date(2026, 3, 10)
    shop.order(created_at=local(day, 23, 30))
    shop.order("confirmed", created_at=local(day + timedelta(days=1), 0, 30))
    first, _, _ = board(Period(day, day))
    second, _, _ = board(Period(day + timedelta(days=1), day + timedelta(days=1)))
    assert (first.total, first.by_confirmation()["new"]) == (1, 1)
    assert (second.total, second.by_confirmation()["confirmed"]) == (1, 1)


def test_trends_count_each_day_of_arrival(shop):
    first = date(2026, 3, 1)
    shop.order(created_at=local(first, 9))
    shop.order("confirmed", "delivered", created_at=local(first, 10))
    shop.order("confirmed", "returned", created_at=local(first + timedelta(days=2), 11))
    shop.order("confirmed", "in_return", created_at=local(first + timedelta(days=2), 12))
    counts = figures.read_counts(Period(first, first + timedelta(days=3)), Slice())
    days = [(d.day.day, d.leads, d.confirmed, d.delivered, d.returned)
            for d in figures.trends(counts)]
    assert days == [(1, 2, 1, 1, 0), (2, 0, 0, 0, 0), (3, 2, 2, 0, 2), (4, 0, 0, 0, 0)]


def test_city_and_supplier_slices(shop, make_order, make_supplier, make_product):
    shop.order(city="Rabat")
    shop.order("confirmed", city="Rabat")
    shop.order(city="Fès")
    supplier = make_supplier()
    dropship = make_product(stock=0)
    order = make_order(channel=shop.channel, lines=[(dropship, 1)])
    order.lines[0].supplier_id = supplier.id
    order.lines[0].warehouse_id = None
    db.session.commit()
    period = Period.named("today", today())
    rabat, _, _ = board(period, Slice("city", "Rabat"))
    assert (rabat.total, rabat.by_confirmation()["confirmed"]) == (2, 1)
    assert board(period, Slice("city", "Fès"))[0].total == 1
    assert board(period, Slice("supplier", str(supplier.id)))[0].total == 1
