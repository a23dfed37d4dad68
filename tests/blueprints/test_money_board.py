"""The money board page: roles, figures, links that list exactly the orders counted, the
overdue setting, the CSV, and fetching the sandbox carrier's statement over HTTP."""

import codecs
import csv
import io
import re
import socket

import pytest
import requests
from sqlalchemy import func, select

from blueprints.sandbox.carrier import _create_parcel
from blueprints.sandbox.statements import is_short
from extensions import db
from models import RemittanceLine, RemittanceStatement
from models.base import utcnow
from models.money.remittances import saved_mapping
from models.money.settings import MoneySettings
from tests.models.test_money_board import at_local_noon

URL = "/boards/money"
FIGURE = re.compile(r'data-figure="(\w+)">(?:<a href="([^"]+)">(\d+)</a>|0)')
ORDER_LINK = re.compile(r'<a href="/orders/(\d+)">#\d+</a>')


@pytest.fixture
def cash(make_order, make_carrier):
    """cash(status, cod=10000, carrier=..., days_ago=0, remittance="", collected=0)."""
    default = make_carrier(name="Amana")

    def make(status, cod=10000, carrier=default, days_ago=0, remittance="", collected=0):
        return make_order(confirmation_status="confirmed", shipping_status=status,
                          cod_amount_cents=cod, shipping_changed_at=at_local_noon(days_ago),
                          remittance=remittance, remitted_cents=collected,
                          remittance_fees_cents=1500 if remittance else 0, carrier=carrier)

    make.carrier = default
    return make


def row_html(page: str, carrier) -> str:
    """The board's row of one carrier ("all": the total row)."""
    match = re.search(rf'<tr data-carrier="{carrier}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, f"no row for {carrier}"
    return match.group(1)


def linked_figures(row: str) -> dict[str, tuple[int, str | None]]:
    """A row's figures: name -> (count, link to the orders list)."""
    return {name: (int(n) if n else 0, link.replace("&amp;", "&") if link else None)
            for name, link, n in FIGURE.findall(row)}


def listed(client, link: str) -> set[int]:
    """The order ids the orders list shows at a link (every page followed)."""
    ids: set[int] = set()
    while link:
        page = client.get(link).get_data(as_text=True)
        ids |= {int(i) for i in ORDER_LINK.findall(page)}
        older = re.search(r'<a rel="next" href="([^"]+)"', page)
        link = older.group(1).replace("&amp;", "&") if older else None
    return ids


@pytest.mark.parametrize("role", ["agent", "operator"])
def test_money_board_forbidden_to_agents_and_operators(login, role):
    user = login(role)
    assert user.get(URL).status_code == 403
    assert user.get(f"{URL}.csv").status_code == 403
    assert user.post(f"{URL}/settings", data={"overdue_days": "3"}).status_code == 403


def test_money_board_needs_login(client):
    assert client.get(URL).status_code in (302, 303)


def test_money_board_empty_states_say_what_to_do(login, make_carrier):
    manager = login("manager")
    page = manager.get(URL).get_data(as_text=True)
    assert "No carriers yet." in page and "Add a carrier" in page
    make_carrier(name="Amana")
    page = manager.get(URL).get_data(as_text=True)
    assert "No confirmed orders yet." in page


def test_money_board_figures_and_links_list_exactly_those_orders(login, cash, make_carrier,
                                                                  make_order):
    other = make_carrier(name="Zed Courier")
    made = {
        "created": [cash("created", 1000), cash("created", 1100, carrier=None)],
        "fulfilled": [cash("fulfilled", 2000)],
        "shipped": [cash("shipped", 3000), cash("shipped", 3500),
                    cash("shipped", 10, carrier=other)],
        "package_issue": [cash("package_issue", 4000)],
        "awaiting": [cash("delivered", 5000, days_ago=14), cash("delivered", 6000, days_ago=15),
                     cash("delivered", 6500, carrier=other, days_ago=40)],
        "remitted": [cash("delivered", 7000, remittance="remitted", collected=7000)],
        "short": [cash("delivered", 8000, remittance="short", collected=7000)],
        "over": [cash("delivered", 9000, remittance="over", collected=9500)],
        "in_return": [cash("in_return", 11000)],
        "returned": [cash("returned", 12000)],
    }
    make_order(confirmation_status="new", carrier=cash.carrier)
    manager = login("manager")
    page = manager.get(URL).get_data(as_text=True)
    assert "<html" in page and 'hx-trigger="every 5s' in page and "Last updated" in page
    amana = row_html(page, cash.carrier.id)
    assert "<small>110.00</small>" in amana  # awaiting payout: 50.00 + 60.00 (money filter)
    figures = linked_figures(amana)
    ids = {name: {o.id for o in orders if o.carrier_id == cash.carrier.id}
           for name, orders in made.items()}
    expected = {
        "created": ids["created"], "fulfilled": ids["fulfilled"], "shipped": ids["shipped"],
        "package_issue": ids["package_issue"], "awaiting": ids["awaiting"],
        "overdue": {made["awaiting"][1].id},
        "paid": ids["remitted"] | ids["short"] | ids["over"],
        "short": ids["short"], "over": ids["over"], "in_return": ids["in_return"],
        "returned": ids["returned"]}
    for name, wanted in expected.items():
        count, link = figures[name]
        assert count == len(wanted), name
        assert listed(manager, link) == wanted, name
    total = linked_figures(row_html(page, "all"))
    assert total["shipped"][0] == 3 and listed(manager, total["shipped"][1]) == {
        o.id for o in made["shipped"]}
    assert total["overdue"][0] == 2 and listed(manager, total["overdue"][1]) == {
        made["awaiting"][1].id, made["awaiting"][2].id}
    none_row = linked_figures(row_html(page, 0))
    assert listed(manager, none_row["created"][1]) == {made["created"][1].id}
    assert 'data-figure="short">' in amana and "-10.00" in amana and "5.00" in amana


def test_money_board_refresh_is_the_live_block(login, cash):
    cash("shipped", 3000)
    page = login("manager").hx_get(URL).get_data(as_text=True)
    assert "<html" not in page and page.lstrip().startswith('<div id="money-live"')
    assert 'data-figure="shipped"><a href=' in page


@pytest.mark.parametrize("typed", ["abc", "0", "366", "1.5", ""])
def test_money_board_overdue_setting_refused_with_422(login, typed):
    resp = login("manager").post(f"{URL}/settings", data={"overdue_days": typed}, htmx=True)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "<html" not in page
    assert "whole number of days from 1 to 365" in page
    assert MoneySettings.load().overdue_days == 14


def test_money_board_overdue_setting_saved_moves_the_overdue_figure(login, cash):
    cash("delivered", 5000, days_ago=5)
    manager = login("manager")
    assert linked_figures(row_html(manager.get(URL).get_data(as_text=True), "all"))[
        "overdue"][0] == 0
    resp = manager.post(f"{URL}/settings", data={"overdue_days": "4"}, htmx=True)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "overdue after 4 days" in page
    assert linked_figures(row_html(page, "all"))["overdue"][0] == 1
    assert MoneySettings.load().overdue_days == 4
    resp = manager.post(f"{URL}/settings", data={"overdue_days": "5"})
    assert resp.status_code == 303 and MoneySettings.load().overdue_days == 5


def test_money_board_overdue_setting_needs_csrf(login):
    resp = login("manager").post(f"{URL}/settings", data={"overdue_days": "3"}, csrf=False)
    assert resp.status_code in (400, 422) and MoneySettings.load().overdue_days == 14


def test_money_board_csv(login, cash, make_carrier):
    other = make_carrier(name="=HYPERLINK(1)")
    cash("shipped", 3000)
    cash("delivered", 8000, remittance="short", collected=7000)
    cash("delivered", 500, carrier=other)
    resp = login("manager").get(f"{URL}.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"), newline="")))
    header, *body = rows
    assert header[0] == "Carrier" and [r[0] for r in body] == ["'=HYPERLINK(1)", "Amana",
                                                                "All carriers"]
    amana = dict(zip(header, body[1], strict=True))
    assert amana["In transit"] == "1" and amana["In transit COD"] == "30.00"
    assert amana["Paid out"] == "1" and amana["Collected"] == "70.00"
    assert amana["Short total"] == "-10.00" and amana["Net paid out"] == "55.00"
    total = dict(zip(header, body[2], strict=True))
    assert total["Delivered awaiting payout"] == "1" and total["Awaiting payout COD"] == "5.00"


# -- the sandbox carrier's statement, fetched over HTTP --------------------------------

ACCOUNT = "shop-statement-key"


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/sandbox/carrier"


def numbers(short: bool, how_many: int) -> list[str]:
    """Sandbox-style tracking numbers the statement pays short (or in full)."""
    found = [f"SBX{n:010d}" for n in range(1, 2000) if is_short(f"SBX{n:010d}") == short]
    return found[:how_many]


@pytest.fixture
def api_carrier(make_carrier, live_server):
    """The sandbox carrier as codboard configures it, reached at the live server."""
    return make_carrier(name="Sandbox Express", kind="sandbox",
                        base_url=f"{live_server}/sandbox/carrier", api_key=ACCOUNT)


@pytest.fixture
def delivered_at_sandbox(parcel_order, api_carrier):
    """delivered_at_sandbox(tracking, cod): an order delivered with its parcel, and the
    sandbox's own parcel delivered for the same account."""

    def make(tracking: str, cod: int = 12900, journey: str = "delivered"):
        order, parcel = parcel_order("delivered", tracking=tracking, carrier=api_carrier,
                                     cod_amount_cents=cod)
        theirs, _ = _create_parcel(ACCOUNT, f"key-{tracking}", {
            "reference": f"#{order.id}", "customer_name": "x", "phone": "x", "address": "x",
            "city": "Rabat", "currency": "MAD", "cod_amount_cents": cod,
            "journey": journey})
        theirs.tracking_number = tracking
        theirs.picked_up_at = utcnow()
        db.session.commit()
        return order

    return make


def fetch(manager, carrier):
    return manager.post(f"{URL}/remittances/fetch", data={"carrier_id": str(carrier.id)},
                        htmx=True)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_sandbox_statement_is_the_delivered_parcels(delivered_at_sandbox, live_server):
    full, = numbers(short=False, how_many=1)
    short, = numbers(short=True, how_many=1)
    delivered_at_sandbox(full, 12900)
    delivered_at_sandbox(short, 20000)
    delivered_at_sandbox("SBX9999999999", 5000, journey="refused_return")
    answer = requests.get(f"{live_server}/sandbox/carrier/statement", timeout=10,
                          headers={"Authorization": f"Bearer {ACCOUNT}"})
    assert answer.status_code == 200
    lines = {line["tracking_number"]: line for line in answer.json()["lines"]}
    assert set(lines) == {full, short}  # the returned parcel brings no cash
    assert lines[full]["amount_collected_cents"] == 12900
    assert lines[short]["amount_collected_cents"] == 19000
    assert lines[full]["fees_cents"] == 1500 and lines[full]["payout_date"]
    other = requests.get(f"{live_server}/sandbox/carrier/statement", timeout=10,
                         headers={"Authorization": "Bearer someone-else"})
    assert other.json()["lines"] == []
    assert requests.get(f"{live_server}/sandbox/carrier/statement", timeout=10).status_code == 401


def test_fetch_statement_imports_its_lines_once(login, api_carrier, delivered_at_sandbox):
    full = numbers(short=False, how_many=2)
    short, = numbers(short=True, how_many=1)
    orders = {tn: delivered_at_sandbox(tn, 12900) for tn in [*full, short]}
    manager = login("manager")
    page = manager.get(f"/boards/money/remittances?carrier_id={api_carrier.id}").get_data(
        as_text=True)
    assert "Fetch statement from the carrier's API" in page
    resp = fetch(manager, api_carrier)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in page
    assert "sandbox-api-" in page and 'data-total="disputed">-10.00<' in page
    lines = {line.tracking_number: line for line in db.session.scalars(select(RemittanceLine))}
    assert {tn: line.outcome for tn, line in lines.items()} == {
        full[0]: "remitted", full[1]: "remitted", short: "short"}
    assert lines[short].order_id == orders[short].id and lines[short].difference_cents == -1000
    assert lines[full[0]].fees_cents == 1500
    assert saved_mapping(api_carrier.id) is None  # uploads still recognise common headers
    again = fetch(manager, api_carrier)
    assert again.status_code == 200
    assert "This file was already imported" in again.get_data(as_text=True)
    assert count(RemittanceStatement) == 1 and count(RemittanceLine) == 3


def test_fetch_statement_keeps_the_upload_mapping(login, api_carrier, delivered_at_sandbox):
    delivered_at_sandbox(numbers(short=False, how_many=1)[0])
    manager = login("manager")
    manager.post("/boards/money/remittances", data={
        "carrier_id": str(api_carrier.id), "tracking_number": "Colis", "amount": "Montant",
        "fees": "", "payout_date": "Date", "action": "save_mapping"}, htmx=True)
    assert fetch(manager, api_carrier).status_code == 200
    assert count(RemittanceLine) == 1
    assert saved_mapping(api_carrier.id).tracking_number == "Colis"


def test_fetch_statement_refused_connection_imports_nothing(login, api_carrier,
                                                            delivered_at_sandbox):
    delivered_at_sandbox(numbers(short=False, how_many=1)[0])
    api_carrier.base_url = closed_port_url()
    db.session.commit()
    resp = fetch(login("manager"), api_carrier)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 502 and "<html" not in page
    assert "Could not reach Sandbox Express" in page and "Nothing was imported." in page
    assert count(RemittanceStatement) == 0 and count(RemittanceLine) == 0


@pytest.mark.parametrize(("mode", "message"), [
    ("500", "Sandbox Express answered 500"),
    ("malformed", "Sandbox Express sent a statement that cannot be read")])
def test_fetch_statement_carrier_failure_imports_nothing(login, api_carrier, live_server,
                                                         delivered_at_sandbox, mode, message):
    delivered_at_sandbox(numbers(short=False, how_many=1)[0])
    requests.post(f"{live_server}/sandbox/carrier/misbehave", json={"mode": mode},
                  timeout=10).raise_for_status()
    resp = fetch(login("manager"), api_carrier)
    assert resp.status_code == 502 and message in resp.get_data(as_text=True)
    assert count(RemittanceStatement) == 0


def test_fetch_statement_only_for_api_carriers(login, make_carrier):
    local = make_carrier(name="Own drivers", kind="local")
    manager = login("manager")
    page = manager.get(f"/boards/money/remittances?carrier_id={local.id}").get_data(as_text=True)
    assert "Fetch statement" not in page
    resp = fetch(manager, local)
    assert resp.status_code == 422 and "has no statement API" in resp.get_data(as_text=True)
    assert manager.post(f"{URL}/remittances/fetch", data={"carrier_id": "999999"},
                        htmx=True).status_code == 404
    assert login("operator").post(f"{URL}/remittances/fetch",
                                  data={"carrier_id": str(local.id)}).status_code == 403


def test_money_board_through_the_real_door(login, api_carrier, delivered_at_sandbox,
                                           parcel_order):
    """Orders confirmed and moved by the door, cash settled by a fetched statement."""
    full = numbers(short=False, how_many=2)
    short, = numbers(short=True, how_many=1)
    paid = [delivered_at_sandbox(tn, 12900) for tn in full]
    disputed = delivered_at_sandbox(short, 20000)
    on_the_road, _ = parcel_order("shipped", carrier=api_carrier, cod_amount_cents=4000)
    coming_back, _ = parcel_order("in_return", carrier=api_carrier, cod_amount_cents=3000)
    waiting, _ = parcel_order("delivered", carrier=api_carrier, cod_amount_cents=5000)
    manager = login("manager")
    before = linked_figures(row_html(manager.get(URL).get_data(as_text=True), api_carrier.id))
    assert before["awaiting"][0] == 4 and before["paid"][0] == 0
    assert fetch(manager, api_carrier).status_code == 200
    page = manager.get(URL).get_data(as_text=True)
    row = row_html(page, api_carrier.id)
    figures = linked_figures(row)
    assert listed(manager, figures["awaiting"][1]) == {waiting.id}
    assert listed(manager, figures["paid"][1]) == {o.id for o in [*paid, disputed]}
    assert listed(manager, figures["short"][1]) == {disputed.id}
    assert listed(manager, figures["shipped"][1]) == {on_the_road.id}
    assert listed(manager, figures["in_return"][1]) == {coming_back.id}
    assert figures["overdue"][0] == 0 and figures["over"][0] == 0
    # Paid out: 129.00 × 2 + 190.00 collected; fees 15.00 a parcel; short by 10.00.
    assert "<small>448.00</small>" in row and "45.00<br><small>net 403.00</small>" in row
    assert "<small>-10.00</small>" in row
