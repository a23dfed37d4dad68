"""The orders list's drill-downs from the money board: not shipped, supplier, remittance,
in its status since before a day, orders without a carrier; chips, paging and the CSV."""

import codecs
import csv
import io
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import current_app

from blueprints.orders.listing import query_args
from extensions import db
from models.boards.period import today
from models.orders import listing

ORDER_LINK = re.compile(r'<a href="/orders/(\d+)">#\d+</a>')


def ids(resp) -> set[int]:
    """The order ids a list page shows."""
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return {int(i) for i in ORDER_LINK.findall(resp.get_data(as_text=True))}


def exported(resp) -> set[int]:
    """The order ids of a CSV export."""
    assert resp.status_code == 200 and resp.data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"), newline="")))
    return {int(row[0]) for row in rows[1:]}


def local_midnight_utc(day) -> datetime:
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return datetime.combine(day, time.min, zone).astimezone(UTC).replace(tzinfo=None)


@pytest.fixture
def orders(make_order, make_product, make_supplier, make_carrier):
    """A handful of orders, one per filter value, by name."""
    supplier = make_supplier(name="Dropship & Co")
    dropship = make_product()
    carrier = make_carrier(name="Amana")
    cutoff = local_midnight_utc(today() - timedelta(days=3))

    def confirmed(status, **overrides):
        overrides.setdefault("carrier", carrier)
        return make_order(confirmation_status="confirmed", shipping_status=status, **overrides)

    made = {
        "new": make_order(confirmation_status="new"),
        "unpaid": confirmed("delivered", shipping_changed_at=cutoff - timedelta(seconds=1)),
        "unpaid_recent": confirmed("delivered", shipping_changed_at=cutoff),
        "remitted": confirmed("delivered", remittance="remitted", remitted_cents=12900),
        "short": confirmed("delivered", remittance="short", remitted_cents=100),
        "over": confirmed("delivered", remittance="over", remitted_cents=99900),
        "no_carrier": confirmed("created", carrier=None, carrier_id=None),
    }
    made["supplied"] = make_order(lines=[(dropship, 1)], confirmation_status="new")
    made["supplied"].lines[0].supplier_id = supplier.id
    db.session.commit()
    made["supplier"], made["carrier"] = supplier, carrier
    return made


def test_orders_list_ship_none_is_not_shipped(login, orders):
    manager = login("manager")
    assert ids(manager.get("/orders/?ship=none")) == {orders["new"].id, orders["supplied"].id}


def test_orders_list_supplier(login, orders):
    manager = login("manager")
    page = manager.get(f"/orders/?supplier={orders['supplier'].id}")
    assert ids(page) == {orders["supplied"].id}
    assert "Supplier: Dropship &amp; Co" in page.get_data(as_text=True)


@pytest.mark.parametrize(("value", "names"), [
    ("remitted", {"remitted"}), ("short", {"short"}), ("over", {"over"}),
    ("disputed", {"short", "over"}), ("paid", {"remitted", "short", "over"})])
def test_orders_list_remittance(login, orders, value, names):
    manager = login("manager")
    assert ids(manager.get(f"/orders/?remittance={value}")) == {orders[n].id for n in names}


def test_orders_list_remittance_unpaid_delivered(login, orders):
    manager = login("manager")
    found = ids(manager.get("/orders/?remittance=unpaid&ship=delivered"))
    assert found == {orders["unpaid"].id, orders["unpaid_recent"].id}


def test_orders_list_shipped_before_is_a_local_day(login, orders):
    day = (today() - timedelta(days=3)).isoformat()
    manager = login("manager")
    resp = manager.get(f"/orders/?ship=delivered&remittance=unpaid&shipped_before={day}")
    assert ids(resp) == {orders["unpaid"].id}
    page = resp.get_data(as_text=True)
    assert f"In its shipping status since before {day}" in page
    assert "Remittance: Not paid out yet" in page


def test_orders_list_carrier_none(login, orders):
    manager = login("manager")
    assert ids(manager.get("/orders/?carrier=none&ship=created")) == {orders["no_carrier"].id}
    assert orders["no_carrier"].id not in ids(
        manager.get(f"/orders/?carrier={orders['carrier'].id}"))


def test_orders_list_chip_removes_its_filter_only(login, orders):
    manager = login("manager")
    page = manager.get("/orders/?ship=delivered&remittance=short").get_data(as_text=True)
    chip = re.search(r'<a class="chip small outline" role="button" href="([^"]+)"', page).group(1)
    assert chip.replace("&amp;", "&") == "/orders/?ship=delivered"
    # The hidden filter travels with the filter form when another control changes.
    assert '<input type="hidden" name="remittance" value="short">' in page


def test_orders_list_money_filters_keep_paging_and_export(login, make_order, make_carrier,
                                                          monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    carrier = make_carrier()
    short = {make_order(confirmation_status="confirmed", shipping_status="delivered",
                        carrier=carrier, remittance="short").id for _ in range(5)}
    make_order(confirmation_status="confirmed", shipping_status="delivered", carrier=carrier)
    manager = login("manager")
    seen, link = set(), "/orders/?remittance=short"
    while link:
        resp = manager.get(link)
        page_ids = ids(resp)
        assert not page_ids & seen
        seen |= page_ids
        older = re.search(r'<a rel="next" href="([^"]+)"', resp.get_data(as_text=True))
        link = older.group(1).replace("&amp;", "&") if older else None
        assert link is None or "remittance=short" in link
    assert seen == short
    assert exported(manager.get("/orders/export.csv?remittance=short")) == short


@pytest.mark.parametrize("args", [
    "remittance=paidish", "supplier=abc", "supplier=0", "shipped_before=2026-13-40",
    "ship=nowhere"])
def test_orders_list_money_filters_refuse_bad_values(login, args):
    manager = login("manager")
    resp = manager.get(f"/orders/?{args}")
    assert resp.status_code == 422
    assert manager.get(f"/orders/export.csv?{args}").status_code == 422


def test_orders_list_query_args_carry_money_filters(app, orders):
    from werkzeug.datastructures import MultiDict

    from blueprints.orders.listing import Lookups, filter_form

    with app.test_request_context():
        args = MultiDict({"remittance": "disputed", "supplier": str(orders["supplier"].id),
                          "shipped_before": "2026-11-01", "ship": "none"})
        form = filter_form(args, Lookups.load())
        assert form.validate()
        assert query_args(form) == {"remittance": "disputed",
                                    "supplier": str(orders["supplier"].id),
                                    "shipped_before": "2026-11-01", "ship": "none"}
