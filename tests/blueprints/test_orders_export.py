"""The orders list as CSV: the list's filters, every row across chunks, safe cells, roles."""

import codecs
import csv
import io
from datetime import datetime

import pytest

from blueprints.orders import export
from extensions import db
from models import Actor
from models.orders.operations import change_confirmation


def rows_of(resp) -> list[list[str]]:
    """The CSV body as rows, header first (the byte order mark checked and dropped)."""
    assert resp.data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"), newline="")))


def ids_of(resp) -> list[int]:
    """The order ids of the CSV, in file order."""
    return [int(row[0]) for row in rows_of(resp)[1:]]


@pytest.mark.parametrize(("role", "status"), [
    ("operator", 200), ("manager", 200), ("admin", 200), ("agent", 403)])
def test_export_role_access(login, role, status):
    assert login(role).get("/orders/export.csv").status_code == status


def test_export_needs_login(client):
    resp = client.get("/orders/export.csv")
    assert resp.status_code in (302, 303) and "/login" in resp.headers["Location"]


def test_export_columns_and_values(login, make_order, make_user, make_carrier, app):
    app.config["DISPLAY_TIMEZONE"] = "Asia/Dubai"  # UTC+4 all year
    agent = make_user("agent", name="Salma Idrissi")
    carrier = make_carrier(name="Amana")
    order = make_order(external_id="SHOP-9", customer_name="Nadia", phone="0612345678",
                       city="Rabat", cod_amount_cents=34850, carrier=carrier,
                       tracking_number="AM123", created_at=datetime(2026, 3, 1, 23, 30),
                       claimed_by_id=agent.id)
    change_confirmation(order, "confirmed", Actor.of(agent))
    db.session.commit()
    resp = login("manager").get("/orders/export.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="orders-')
    header, row = rows_of(resp)
    assert header == list(export.HEADER)
    assert row == [str(order.id), "SHOP-9", "2026-03-02 03:30:00", order.channel.name, "Nadia",
                   "0612345678", "Rabat", "confirmed", "created", "Amana", "AM123", "348.50",
                   "MAD", "Salma Idrissi"]


def test_export_honours_the_list_filters(login, make_order, make_channel):
    shop = make_channel()
    wanted = make_order(city="Tanger", channel=shop)
    make_order(city="Tanger")  # another channel
    make_order(city="Fès", channel=shop)
    old = make_order(city="Tanger", channel=shop, created_at=datetime(2025, 1, 1, 12))
    client = login("operator")
    assert ids_of(client.get(f"/orders/export.csv?city=Tanger&channel={shop.id}")) == [
        wanted.id, old.id]
    assert ids_of(client.get(f"/orders/export.csv?city=Tanger&channel={shop.id}"
                             "&from=2026-01-01")) == [wanted.id]
    assert ids_of(client.get("/orders/export.csv?conf=confirmed")) == []
    assert ids_of(client.get(f"/orders/export.csv?q=%23{old.id}")) == [old.id]


def test_export_bad_filter_is_a_message_not_an_error(login):
    resp = login("operator").get("/orders/export.csv?from=yesterday&channel=x")
    assert resp.status_code == 422
    assert "cannot be exported" in resp.get_data(as_text=True)


def test_export_every_row_across_chunk_boundaries(login, make_order, make_channel,
                                                  monkeypatch):
    monkeypatch.setattr(export, "EXPORT_CHUNK", 3)
    shop = make_channel()
    same_time = datetime(2026, 2, 1, 10)
    # Ties on created_at straddle a chunk boundary: the id breaks them.
    orders = [make_order(channel=shop, created_at=same_time) for _ in range(4)]
    orders += [make_order(channel=shop, created_at=datetime(2026, 2, 1, 9, i))
               for i in range(5)]
    resp = login("manager").get("/orders/export.csv")
    assert resp.is_streamed
    expected = sorted(orders, key=lambda o: (o.created_at, o.id), reverse=True)
    assert ids_of(resp) == [o.id for o in expected]
    assert resp.data.count(codecs.BOM_UTF8) == 1


def test_export_neutralises_formula_cells(login, make_order):
    names = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1", "-2", "@x", "\tx", "\rx"]
    for name in names:
        make_order(customer_name=name, city="=1+1")
    rows = rows_of(login("manager").get("/orders/export.csv"))[1:]
    assert sorted(row[4] for row in rows) == sorted("'" + name for name in names)
    assert {row[6] for row in rows} == {"'=1+1"}


def test_export_keeps_arabic_text(login, make_order):
    make_order(customer_name="فاطمة الزهراء", city="الدار البيضاء")
    [row] = rows_of(login("manager").get("/orders/export.csv"))[1:]
    assert (row[4], row[6]) == ("فاطمة الزهراء", "الدار البيضاء")


def test_orders_list_links_to_export_with_its_filters(login, make_order, make_channel):
    shop = make_channel()
    make_order(channel=shop, city="Rabat")
    client = login("manager")
    html = client.hx_get(f"/orders/?city=Rabat&channel={shop.id}").get_data(as_text=True)
    assert f'href="/orders/export.csv?channel={shop.id}&amp;city=Rabat"' in html
    assert "Export CSV" in client.get("/orders/").get_data(as_text=True)
