"""The money board's figures, read from cod_counts: each against orders with known cash."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import current_app

from extensions import db
from models.boards.period import today
from models.errors import InvalidInput
from models.money.board import money_board, overdue_before
from models.money.settings import MoneySettings, parse_overdue_days


def at_local_noon(days_ago: int) -> datetime:
    """Naive UTC of local noon, `days_ago` local days before today."""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    day = today() - timedelta(days=days_ago)
    return datetime.combine(day, time(12), zone).astimezone(UTC).replace(tzinfo=None)


@pytest.fixture
def cash(make_order, make_carrier):
    """cash(status, cod=10000, carrier=..., days_ago=0, remittance="", collected=0, fees=0):
    a confirmed order in that shipping status since local noon `days_ago` days back."""
    default = make_carrier(name="Amana")

    def make(status, cod=10000, carrier=default, days_ago=0, remittance="", collected=0,
             fees=0):
        carrier_args = {"carrier": carrier} if carrier is not None else {"carrier_id": None}
        return make_order(confirmation_status="confirmed", shipping_status=status,
                          cod_amount_cents=cod, shipping_changed_at=at_local_noon(days_ago),
                          remittance=remittance, remitted_cents=collected,
                          remittance_fees_cents=fees, **carrier_args)

    make.carrier = default
    return make


def figures(row):
    """A row's figures as (count, cents) pairs, by name."""
    return {
        "created": row.waiting["created"], "fulfilled": row.waiting["fulfilled"],
        "shipped": row.in_transit["shipped"], "package_issue": row.in_transit["package_issue"],
        "awaiting": row.awaiting, "overdue": row.overdue, "paid": row.paid,
        "short": row.short, "over": row.over, "in_return": row.lost["in_return"],
        "returned": row.lost["returned"],
    }


def pairs(row):
    return {name: (f.n, f.cents) for name, f in figures(row).items()}


def test_money_board_empty(app):
    board = money_board(today(), 14)
    assert board.rows == [] and board.carriers == 0
    assert all(n == 0 and cents == 0 for n, cents in pairs(board.total).values())


def test_money_board_one_carrier_every_figure(cash, make_order):
    cash("created", 1000)
    cash("fulfilled", 2000)
    cash("shipped", 3000)
    cash("shipped", 3500)
    cash("package_issue", 4000)
    cash("delivered", 5000, days_ago=1)
    cash("delivered", 6000, days_ago=20)  # overdue at 14 days
    cash("delivered", 7000, remittance="remitted", collected=7000, fees=1500)
    cash("delivered", 8000, remittance="short", collected=7000, fees=1500)
    cash("delivered", 9000, remittance="over", collected=9500, fees=1500)
    cash("in_return", 11000)
    cash("returned", 12000)
    make_order(confirmation_status="new")  # not confirmed: no cash to follow yet
    board = money_board(today(), 14)
    assert [r.name for r in board.rows] == ["Amana"]
    row = board.rows[0]
    assert pairs(row) == {
        "created": (1, 1000), "fulfilled": (1, 2000), "shipped": (2, 6500),
        "package_issue": (1, 4000), "awaiting": (2, 11000), "overdue": (1, 6000),
        "paid": (3, 23500), "short": (1, -1000), "over": (1, 500), "in_return": (1, 11000),
        "returned": (1, 12000)}
    assert row.fees_cents == 4500 and row.net_paid_cents == 19000
    assert (row.disputed.n, row.disputed.cents) == (2, -500)
    assert (row.in_transit_total.n, row.in_transit_total.cents) == (3, 10500)
    assert (row.lost_total.n, row.lost_total.cents) == (2, 23000)
    assert pairs(board.total) == pairs(row)


def test_money_board_two_carriers_and_none_yet(cash, make_carrier):
    other = make_carrier(name="Zed Courier")
    cash("shipped", 1000)
    cash("delivered", 2000, remittance="short", collected=1500)
    cash("shipped", 4000, carrier=other)
    cash("delivered", 8000, carrier=other, days_ago=30)
    cash("created", 500, carrier=None)
    board = money_board(today(), 14)
    assert [r.name for r in board.rows] == ["Amana", "Zed Courier", "No carrier yet"]
    amana, zed, none = board.rows
    assert (amana.in_transit_total.n, amana.in_transit_total.cents) == (1, 1000)
    assert (amana.short.n, amana.short.cents, amana.paid.cents) == (1, -500, 1500)
    assert (zed.overdue.n, zed.overdue.cents) == (1, 8000) and zed.paid.n == 0
    assert none.carrier_id == 0 and (none.waiting_total.n, none.waiting_total.cents) == (1, 500)
    total = board.total
    assert (total.in_transit_total.n, total.in_transit_total.cents) == (2, 5000)
    assert (total.awaiting.n, total.overdue.n, total.paid.n) == (1, 1, 1)
    assert total.waiting_total.cents == 500 and board.carriers == 2


@pytest.mark.parametrize("overdue_days", [1, 14])
def test_money_board_overdue_boundary_is_n_days(cash, overdue_days):
    cash("delivered", 100, days_ago=overdue_days)  # its Nth day: still on time
    cash("delivered", 200, days_ago=overdue_days + 1)  # one day more: overdue
    row = money_board(today(), overdue_days).rows[0]
    assert (row.awaiting.n, row.awaiting.cents) == (2, 300)
    assert (row.overdue.n, row.overdue.cents) == (1, 200)
    assert overdue_before(today(), overdue_days) == today() - timedelta(days=overdue_days)


def test_money_board_unknown_statement_lines(cash, make_user):
    from models import Actor
    from models.money.remittances import Columns, import_statement

    content = (b"tracking_number,amount,fees,payout_date\r\n"
               b"NOPE1,50.00,0,2026-11-20\r\nNOPE2,25.00,0,2026-11-20\r\n"
               b"NOPE1,9.99,0,2026-11-20\r\n")  # the third line repeats the first
    import_statement(cash.carrier, "s.csv", content, Columns(), Actor.of(make_user("manager")))
    db.session.commit()
    board = money_board(today(), 14)
    assert (board.rows[0].unknown.n, board.rows[0].unknown.cents) == (2, 7500)
    assert (board.total.unknown.n, board.total.unknown.cents) == (2, 7500)


def test_money_settings_default_and_saved(app):
    assert MoneySettings.load().overdue_days == 14
    MoneySettings(overdue_days=30).save()
    db.session.commit()
    assert MoneySettings.load().overdue_days == 30


@pytest.mark.parametrize("typed", ["", "abc", "0", "366", "1.5", "-3", "²"])
def test_money_settings_overdue_days_refused(typed):
    with pytest.raises(InvalidInput):
        parse_overdue_days(typed)


@pytest.mark.parametrize(("typed", "days"), [("1", 1), (" 365 ", 365), ("14", 14)])
def test_money_settings_overdue_days_accepted(typed, days):
    assert parse_overdue_days(typed) == days
