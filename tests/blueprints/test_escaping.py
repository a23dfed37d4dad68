"""Hostile text in customers' and partners' names never becomes markup, and a right-to-left
override cannot flip what a page shows; every CSV cell that a spreadsheet would run as a
formula is handed out as text."""

import csv
import html
import io
from datetime import timedelta

import pytest

from extensions import db
from models import Actor, utcnow
from models.calls.queue import claim_next
from models.settings import CallSettings
from tests.blueprints.dom import parse
from tests.browser.screens import PASSWORD, SCREENS, Screen, Seeded

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
QUOTE = "' onmouseover='x"
RLO = "Amina \u202egpj.exe"  # shows as "Amina exe.jpg" when the override is obeyed
PAYLOADS = (SCRIPT, IMG, QUOTE)
# Bidirectional embeddings, overrides and isolates a stored value could carry.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Screens that show the seeded customers' own words (names, addresses, cities).
SHOWS_CUSTOMERS = {"call card", "orders list", "order detail", "shipping desk",
                   "dropship orders"}


@pytest.fixture
def hostile(app, make_user, make_warehouse, make_product, make_channel, make_carrier,
            make_order, make_supplier, parcel_order, routed_order, confirm,
            make_dropship_product) -> Seeded:
    """Every main screen's data, with hostile text in each name, address and note."""
    data = Seeded()
    warehouse = make_warehouse(code="WH-X", name=f"Depot {IMG}")
    channel = make_channel(name=f"Shop {SCRIPT}", code="hostile")
    carrier = make_carrier(name=f"Courier {QUOTE}", code="courier")
    argan = make_product(sku="ARG-1", name=f"Argan {SCRIPT} {RLO}", warehouse=warehouse,
                         stock=40)
    soap = make_product(sku="SOAP-1", name=f"Soap {IMG}", warehouse=warehouse, stock=3)
    customer = {"channel": channel, "address": f"12 {IMG} {RLO}", "city": f"Fes {QUOTE}",
                "note": f"call after 6 {SCRIPT}"}
    for n, name in enumerate((f"Salma {SCRIPT}", f"Karim {IMG}", f"Souad {QUOTE} {RLO}")):
        make_order(lines=[(argan, 1 + n)], customer_name=name, phone=f"061234567{n}",
                   phone_normalized=f"+21261234567{n}",
                   created_at=utcnow() - timedelta(minutes=60 - n), **customer)
    order, _parcel = parcel_order("fulfilled", carrier=carrier, lines=[(soap, 1)],
                                  customer_name=f"Youssef {SCRIPT} {RLO}", **customer)
    data.order_id = order.id
    supplier = make_supplier(name=f"Supplier {IMG} {RLO}")
    dropped = make_dropship_product(supplier, supplier_sku="N-77", sku="DS-77",
                                    name=f"Teapot {QUOTE}")
    confirm(routed_order([(dropped, 2)], customer_name=f"Nadia {IMG}", **customer))
    for key, role in (("agent-held", "agent"), ("agent", "agent"), ("operator", "operator"),
                      ("manager", "manager"), ("admin", "admin")):
        data.users[key] = make_user(role=role, password=PASSWORD, name=f"{role} {SCRIPT} {RLO}")
    claim_next(Actor.of(data.users["agent-held"]), CallSettings.load())
    db.session.commit()
    return data


def page(screen: Screen, data: Seeded, login, client) -> str:
    """The screen's markup as its user gets it."""
    user = data.user_for(screen)
    who = client if user is None else login(user, password=PASSWORD)
    resp = who.get(screen.url(data))
    assert resp.status_code == 200, f"{screen.name}: {resp.status_code}"
    return resp.get_data(as_text=True)


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: s.name)
def test_hostile_text_never_becomes_markup(screen, hostile, login, client):
    markup = page(screen, hostile, login, client)
    for payload in PAYLOADS:
        assert payload not in markup, f"{screen.name} prints {payload!r} unescaped"
    root = parse(markup)
    for element in root.iter():
        assert not any(name.startswith("on") for name in element.attrs), (
            f"{screen.name}: <{element.tag} {element.attrs}> carries an event handler")
        assert element.attrs.get("src") != "x", f"{screen.name}: an injected <img>"
        if element.tag == "script":
            assert "alert(1)" not in element.text(), f"{screen.name}: an injected <script>"
    if screen.name in SHOWS_CUSTOMERS:
        # Shown as the text it is, not dropped.
        assert any(p in html.unescape(markup) for p in PAYLOADS), screen.name


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: s.name)
def test_right_to_left_override_cannot_flip_a_page(screen, hostile, login, client):
    markup = page(screen, hostile, login, client)
    leaked = sorted({f"U+{ord(c):04X}" for c in markup if c in BIDI_CONTROLS})
    assert not leaked, f"{screen.name} prints bidirectional controls {leaked}"
    if screen.name in SHOWS_CUSTOMERS:
        assert "Amina gpj.exe" in html.unescape(markup), screen.name


def test_override_is_kept_out_of_an_edit_form(hostile, login):
    """The value a form shows (and sends back) has the override removed too."""
    markup = login(hostile.users["operator"], password=PASSWORD).get(
        f"/orders/{hostile.order_id}").get_data(as_text=True)
    assert "\u202e" not in markup
    assert "Youssef" in markup


# --- CSV files: formula cells become text ---------------------------------------------

FORMULAS = ("=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR")


def cells(body: str) -> list[str]:
    """Every cell of a CSV file (BOM removed)."""
    return [c for row in csv.reader(io.StringIO(body.removeprefix("\ufeff"), newline=""))
            for c in row]


def assert_no_formula(body: str, where: str) -> None:
    dangerous = [c for c in cells(body) if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    # A negative amount is a number, not text a user typed.
    dangerous = [c for c in dangerous if not _number(c)]
    assert not dangerous, f"{where}: formula cells {dangerous[:5]}"


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.fixture
def formula_orders(make_order, make_channel, make_user, make_carrier):
    """Orders whose customer-typed fields (and partners' names) start like formulas."""
    channel = make_channel(name="=cmd|' /C calc'!A0", code="formula")
    carrier = make_carrier(name="@carrier", code="at-carrier")
    agent = make_user(role="agent", name="+agent")
    for n, formula in enumerate(FORMULAS):
        make_order(channel=channel, carrier=carrier, agent_id=agent.id,
                   customer_name=formula, city=formula, phone=formula,
                   external_id=f"{formula}-{n}", tracking_number=f"-{n}TRK",
                   confirmation_status="confirmed", shipping_status="delivered")
    return FORMULAS


def test_orders_export_neutralises_formula_cells(login, formula_orders):
    resp = login("operator").get("/orders/export.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    body = resp.get_data(as_text=True)
    assert_no_formula(body, "orders export")
    shown = cells(body)
    for formula in formula_orders:
        assert "'" + formula in shown


@pytest.mark.parametrize("table", ["status", "rates", "funnel", "trends", "agents", "speed"])
def test_board_exports_neutralise_formula_cells(login, formula_orders, table):
    resp = login("manager").get(f"/boards/export/{table}.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert_no_formula(resp.get_data(as_text=True), f"board {table}")


def test_money_export_neutralises_formula_cells(login, formula_orders):
    resp = login("manager").get("/boards/money.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    body = resp.get_data(as_text=True)
    assert_no_formula(body, "money board")
    assert "'@carrier" in cells(body)
