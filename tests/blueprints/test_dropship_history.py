"""Order History over HTTP: outcomes, filters, local dates, keyset pages that neither skip
nor repeat a row, and a page that costs the same whatever it shows."""

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy import text as sql

from extensions import db
from models import Supplier, SupplierOrder
from models.dropship.queries import Filters, page_query

from .dropship_support import listed, make_supplier_order_fixture, stored, words  # noqa: F401

HISTORY_ROW = re.compile(r'<tr data-so="(\d+)"')


def history(resp) -> list[int]:
    """The supplier order ids of a History page, in page order."""
    return [int(i) for i in HISTORY_ROW.findall(resp.get_data(as_text=True))]


def next_link(resp) -> str | None:
    """The "Next page" link of a History page."""
    found = re.search(r'<a rel="next" href="([^"]+)"', resp.get_data(as_text=True))
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.fixture
def outcomes(make_supplier_order) -> dict[str, SupplierOrder]:
    """One supplier order of each status, oldest first."""
    return {status: make_supplier_order(status) for status in
            ("pending", "submitted", "accepted", "error", "shipped", "canceled")}


def test_each_outcome_lists_its_supplier_orders_newest_first(login, outcomes):
    c = login("operator")
    ids = {k: so.id for k, so in outcomes.items()}
    page = c.get("/dropship/history")
    assert page.status_code == 200 and history(page) == sorted(ids.values(), reverse=True)
    assert history(c.get("/dropship/history?status=processed")) == [ids["accepted"],
                                                                    ids["submitted"]]
    assert history(c.get("/dropship/history?status=failed")) == [ids["error"]]
    assert history(c.get("/dropship/history?status=shipped")) == [ids["shipped"]]
    assert history(c.get("/dropship/history?status=canceled")) == [ids["canceled"]]


def test_a_row_shows_status_supplier_ref_tracking_cost_and_message(login, outcomes):
    c = login("operator")
    shipped = outcomes["shipped"]
    body = c.get("/dropship/history?status=shipped").get_data(as_text=True)
    assert (f'href="/orders/{shipped.order_id}#supplier-order-{shipped.id}">'
            '<code dir="ltr">SBX0000000042</code></a>') in body
    assert "Sandbox Express" in body and f"SUP-{shipped.id:05d}" in body
    assert 'data-status="shipped"' in body and "91.00 MAD" in body
    failed = words(c.get("/dropship/history?status=failed"))
    assert "Error" in failed and "Out of stock: the supplier has none." in failed
    canceled = words(c.get("/dropship/history?status=canceled"))
    assert "the customer changed their mind" in canceled


def test_filters_by_supplier_and_channel(login, make_supplier_order, make_supplier,
                                         make_channel):
    atlas, souk = make_supplier(name="Atlas", kind="csv"), make_channel(name="Souk")
    mine = make_supplier_order("shipped", supplier=atlas)
    theirs = make_supplier_order("shipped", channel=souk)
    c = login("manager")
    assert history(c.get(f"/dropship/history?supplier={atlas.id}")) == [mine.id]
    assert history(c.get(f"/dropship/history?channel={souk.id}&status=shipped")) == [theirs.id]
    body = c.get(f"/dropship/history?channel={souk.id}").get_data(as_text=True)
    assert "Souk" in body
    resp = c.get(f"/dropship/history?supplier={atlas.id}&channel={souk.id}")
    assert history(resp) == [] and "No supplier order matches these filters." in words(resp)


def test_dates_are_whole_local_days(app, login, make_supplier_order):
    """Lagos is UTC+1 all year: 23:30 UTC on the 9th is already the 10th there."""
    app.config["DISPLAY_TIMEZONE"] = "Africa/Lagos"
    late, next_day = make_supplier_order("accepted"), make_supplier_order("accepted")
    late.created_at = datetime(2026, 3, 9, 22, 30)  # 23:30 in Lagos: the 9th
    next_day.created_at = datetime(2026, 3, 9, 23, 30)  # 00:30 on the 10th there
    db.session.commit()
    c = login("operator")
    assert history(c.get("/dropship/history?from=2026-03-10&to=2026-03-10")) == [next_day.id]
    assert history(c.get("/dropship/history?to=2026-03-09")) == [late.id]
    resp = c.hx_get("/dropship/history?from=2026-03-10&to=2026-03-09")
    assert resp.status_code == 422 and "The end date is before the start date." in words(resp)


def test_a_made_up_outcome_or_cursor_is_refused(login):
    c = login("operator")
    assert c.hx_get("/dropship/history?status=lost").status_code == 422
    assert c.hx_get("/dropship/history?before=99-x").status_code == 422


def many(make_supplier_order, count: int, status: str = "accepted") -> list[int]:
    """`count` more supplier orders of one real order, half of them created at the same
    instant (pages must still break between them), newest first by (created_at, id)."""
    base = make_supplier_order(status)
    suppliers = [Supplier(name=f"Bulk supplier {base.id}-{n}", kind="csv")
                 for n in range(count)]
    db.session.add_all(suppliers)
    db.session.flush()
    same = datetime(2026, 5, 1, 12, 0)
    rows = [{"order_id": base.order_id, "supplier_id": s.id, "channel_id": base.channel_id,
             "status": status, "idempotency_key": f"bulk-{base.id}-{n}", "customer_name": "Bulk",
             "phone": "0612345678", "address": "12 Rue Ibn Battouta", "city": "Casablanca",
             "created_at": same if n % 2 else same - timedelta(minutes=n),
             "updated_at": same, "version": 1}
            for n, s in enumerate(suppliers)]
    db.session.execute(insert(SupplierOrder), rows)
    db.session.commit()
    everything = db.session.execute(select(SupplierOrder.id, SupplierOrder.created_at)).all()
    return [i for i, _ in sorted(everything, key=lambda r: (r[1], r[0]), reverse=True)]


def test_next_page_continues_without_gap_or_overlap(login, make_supplier_order):
    expected = many(make_supplier_order, 64)
    c = login("operator")
    first = c.get("/dropship/history?status=processed")
    link = next_link(first)
    assert len(history(first)) == 50 and "status=processed" in link and "before=" in link
    second = c.get(link)
    assert history(first) + history(second) == expected
    assert next_link(second) is None
    assert "« Newest" in words(second)


def test_a_page_costs_the_same_queries_with_5_or_50_rows(login, make_supplier_order,
                                                         count_queries):
    many(make_supplier_order, 4)
    c = login("operator")
    c.get("/dropship/history")  # warm the login and the name caches
    with count_queries() as few:
        assert len(history(c.get("/dropship/history"))) == 5
    many(make_supplier_order, 60)
    c.get("/dropship/history")
    with count_queries() as full:
        assert len(history(c.get("/dropship/history"))) == 50
    assert full.n == few.n


def plan(query) -> str:
    """The database's plan for a query (PostgreSQL planning as if the table were big)."""
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(sql("SET enable_seqscan = off"))
        return " ".join(str(row) for row in conn.execute(sql(prefix + str(compiled))))


@pytest.mark.parametrize("filters, index", [
    (Filters(), "ix_supplier_orders_created"),
    (Filters(statuses=("shipped",)), "ix_supplier_orders_status_created"),
    (Filters(supplier_id=3), "ix_supplier_orders_supplier_created"),
    (Filters(channel_id=2), "ix_supplier_orders_channel_created"),
])
def test_history_pages_read_an_index_in_page_order(app, filters, index):
    """No page sorts or scans the table: each filter walks an index newest first."""
    status = filters.statuses[0] if filters.statuses else None
    found = plan(page_query(filters, status, 51))
    assert index in found
    assert "TEMP B-TREE" not in found and "Sort" not in found
