"""The sandbox supplier's own side: its JSON API, its decisions, shipping and cancelation."""

import re
import threading
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select, update

from extensions import db
from models.base import utcnow
from models.sandbox import SandboxParcel, SandboxSupplierOrder

API = "/sandbox/supplier"
KEY = {"Authorization": "Bearer shop-key"}
ORDER = {
    "reference": "#1204-31",
    "customer": {"name": "Salma Idrissi", "phone": "+212612345678",
                 "address": "12 rue des Fleurs, Agdal", "city": "Rabat",
                 "region": "Rabat-Salé-Kénitra"},
    "shipping_method": "Standard",
    "currency": "MAD",
    "lines": [{"sku": "ATL-SW-X8U", "quantity": 2}, {"sku": "ATL-MG-PRO", "quantity": 1}],
}


def submit(client, key="so-31-1", headers=KEY, **changes):
    """POST an order to the sandbox supplier with the test client."""
    body = {**ORDER, **changes}
    return client.post(f"{API}/orders", json=body, csrf=False,
                       headers={**headers, "Idempotency-Key": key})


def with_customer(**changes) -> dict:
    """The customer block with some fields changed."""
    return {**ORDER["customer"], **changes}


def count(model) -> int:
    """Rows in one of the sandbox's own tables."""
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def ship_now(app) -> None:
    """Accepted orders leave the warehouse as soon as they are read."""
    app.config["SANDBOX_SUPPLIER_SHIP_SECONDS"] = 0


def leave_warehouse_now() -> None:
    """Move the sandbox supplier's clock on: every order is past its shipping time."""
    db.session.execute(update(SandboxSupplierOrder)
                       .values(ships_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def track(client, tracking_number, key="shop-key"):
    """The sandbox carrier's track answer for one parcel, as that account sees it."""
    resp = client.post("/sandbox/carrier/track", json={"tracking_numbers": [tracking_number]},
                       csrf=False, headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


# --- submitting -------------------------------------------------------------------------


def test_submit_order_is_accepted_with_its_number(client):
    """A sound order is accepted (201) with the supplier's number and nothing shipped yet."""
    resp = submit(client)
    assert resp.status_code == 201
    answer = resp.get_json()
    assert re.fullmatch(r"SUP-\d{8}", answer["number"])
    assert answer | {"number": "-"} == {
        "number": "-", "reference": "#1204-31", "status": "accepted", "error": None,
        "tracking_number": None, "carrier": None}
    assert count(SandboxSupplierOrder) == 1


def test_submit_same_key_twice_returns_the_same_order_and_creates_nothing(client):
    """A repeated Idempotency-Key answers 200 with the order made the first time."""
    first = submit(client)
    again = submit(client)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert count(SandboxSupplierOrder) == 1


def test_submit_same_key_after_a_refusal_keeps_the_refusal(client):
    """The first decision stands: a repeat of a refused order is that refusal, not a new try."""
    first = submit(client, lines=[{"sku": "ATL-RV-S1", "quantity": 3}])
    again = submit(client, lines=[{"sku": "ATL-RV-S1", "quantity": 1}])
    assert (first.status_code, again.status_code) == (422, 200)
    assert again.get_json() == first.get_json()
    assert again.get_json()["status"] == "rejected"
    assert count(SandboxSupplierOrder) == 1


def test_submit_same_key_on_another_account_is_another_order(client):
    """Idempotency keys belong to an account."""
    ours = submit(client).get_json()["number"]
    theirs = submit(client, headers={"Authorization": "Bearer other-shop"})
    assert theirs.status_code == 201 and theirs.get_json()["number"] != ours


def test_submit_same_key_at_once_makes_one_order(live_server):
    """Two workers submitting the same order at the same moment still make one order."""
    start, answers = threading.Barrier(2), []

    def post() -> None:
        """One worker's submission, started together with the other's."""
        start.wait(timeout=5)
        answers.append(requests.post(f"{live_server}{API}/orders", json=ORDER, timeout=10,
                                     headers={**KEY, "Idempotency-Key": "so-race"}))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert sorted(a.status_code for a in answers) == [200, 201]
    assert len({a.json()["number"] for a in answers}) == 1
    db.session.expire_all()
    assert count(SandboxSupplierOrder) == 1


@pytest.mark.parametrize("changes, code, error", [
    ({"lines": [{"sku": "ATL-SW-X8U", "quantity": 1}, {"sku": "ATL-XX", "quantity": 1}]},
     "unknown_sku", "Unknown SKU ATL-XX: not in our catalogue"),
    ({"lines": [{"sku": "ATL-RV-S1", "quantity": 3}]},
     "out_of_stock", "Out of stock: ATL-RV-S1 (2 available, 3 asked)"),
    # Two lines of one SKU draw on the same stock.
    ({"lines": [{"sku": "ATL-MG-PRO", "quantity": 2}, {"sku": "ATL-MG-PRO", "quantity": 2}]},
     "out_of_stock", "Out of stock: ATL-MG-PRO (3 available, 4 asked)"),
    ({"customer": with_customer(city="Dakhla")},
     "not_serviceable", "Address not serviceable: we do not deliver to Dakhla"),
    ({"customer": with_customer(city="  LAAYOUNE ")},
     "not_serviceable", "Address not serviceable: we do not deliver to Laâyoune"),
    ({"customer": with_customer(city="guelmim")},
     "not_serviceable", "Address not serviceable: we do not deliver to Guelmim"),
    ({"customer": with_customer(address="Rue 5")},
     "address_too_short", "Address too short: “Rue 5” needs the street and number "
                          "(at least 8 characters)"),
    # The checks run in a fixed order: the SKU first, the address last.
    ({"customer": with_customer(city="Smara", address="x"),
      "lines": [{"sku": "ATL-XX", "quantity": 9}]},
     "unknown_sku", "Unknown SKU ATL-XX: not in our catalogue"),
    ({"customer": with_customer(city="Smara", address="x"),
      "lines": [{"sku": "ATL-RV-S1", "quantity": 9}]},
     "out_of_stock", "Out of stock: ATL-RV-S1 (2 available, 9 asked)"),
    ({"customer": with_customer(city="Smara", address="x")},
     "not_serviceable", "Address not serviceable: we do not deliver to Smara"),
])
def test_submit_refusal_names_the_reason(client, changes, code, error):
    """Each refusal is a 422 with the supplier's code and words, and is kept as decided."""
    resp = submit(client, **changes)
    assert resp.status_code == 422
    answer = resp.get_json()
    assert (answer["status"], answer["code"], answer["error"]) == ("rejected", code, error)
    assert answer["number"].startswith("SUP-")
    assert db.session.execute(select(SandboxSupplierOrder.reason)).scalar_one() == error


def test_submit_stock_is_enough_at_the_limit(client):
    """Exactly what the warehouse holds can be ordered."""
    assert submit(client, lines=[{"sku": "ATL-RV-S1", "quantity": 2}]).status_code == 201


@pytest.mark.parametrize("body, fields", [
    ({**ORDER, "reference": ""}, ["reference"]),
    ({k: v for k, v in ORDER.items() if k != "customer"},
     ["customer.name", "customer.phone", "customer.address", "customer.city"]),
    ({**ORDER, "customer": with_customer(phone=None, city=7)}, ["customer.phone", "customer.city"]),
    ({**ORDER, "lines": []}, ["lines"]),
    ({**ORDER, "lines": [{"sku": "ATL-SW-X8U", "quantity": 0}]}, ["lines"]),
    ({**ORDER, "lines": [{"sku": "", "quantity": 1}]}, ["lines"]),
    ({**ORDER, "currency": "dirhams"}, ["currency"]),
])
def test_submit_missing_or_invalid_fields_is_400_listing_them(client, body, fields):
    """A body that lacks fields is refused before any decision, naming them."""
    resp = client.post(f"{API}/orders", json=body, csrf=False,
                       headers={**KEY, "Idempotency-Key": "so-bad"})
    assert resp.status_code == 400
    assert resp.get_json()["fields"] == fields
    assert count(SandboxSupplierOrder) == 0


@pytest.mark.parametrize("data", [b"[1, 2]", b"not json", b'"text"'])
def test_submit_body_that_is_not_a_json_object_is_400(client, data):
    """A list, a string or garbage is a 400 in JSON."""
    resp = client.post(f"{API}/orders", data=data, content_type="application/json",
                       csrf=False, headers={**KEY, "Idempotency-Key": "so-bad"})
    assert resp.status_code == 400 and "JSON object" in resp.get_json()["error"]


@pytest.mark.parametrize("key", ["", "k" * 101])
def test_submit_without_a_usable_idempotency_key_is_400(client, key):
    """No key (or one too long): refused, so a retry can never make two orders."""
    resp = submit(client, key=key)
    assert resp.status_code == 400 and "Idempotency-Key" in resp.get_json()["error"]
    assert count(SandboxSupplierOrder) == 0


@pytest.mark.parametrize("method, path", [
    ("POST", "/orders"), ("GET", "/orders/SUP-00000001"), ("POST", "/orders/status"),
    ("POST", "/orders/SUP-00000001/cancel"),
])
def test_every_route_without_an_api_key_is_401_json(client, method, path):
    """No bearer key: a JSON 401 with its challenge, never a page."""
    resp = client.open(f"{API}{path}", method=method, json={},
                       headers={"Idempotency-Key": "so-1"})
    assert resp.status_code == 401
    assert resp.is_json and "API key" in resp.get_json()["error"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


# --- shipping ---------------------------------------------------------------------------


def test_accepted_order_waits_in_the_warehouse_until_its_time(client):
    """Before its shipping time (120 s by default) it is only accepted; after it, shipped."""
    number = submit(client).get_json()["number"]
    order = db.session.execute(select(SandboxSupplierOrder)).scalar_one()
    assert order.ships_at - order.created_at == timedelta(seconds=120)
    shown = client.get(f"{API}/orders/{number}", headers=KEY).get_json()
    assert (shown["status"], shown["tracking_number"]) == ("accepted", None)
    assert count(SandboxParcel) == 0
    leave_warehouse_now()
    shown = client.get(f"{API}/orders/{number}", headers=KEY).get_json()
    assert shown["status"] == "shipped" and count(SandboxParcel) == 1


def test_accepted_order_ships_with_a_parcel_the_sandbox_carrier_tracks(app, client):
    """Read after its time, it is shipped with an SBX number the sandbox carrier follows."""
    ship_now(app)
    number = submit(client).get_json()["number"]
    shown = client.get(f"{API}/orders/{number}", headers=KEY).get_json()
    assert shown["status"] == "shipped" and shown["carrier"] == "Sandbox Express"
    assert re.fullmatch(r"SBX\d{10}", shown["tracking_number"])
    parcel = db.session.execute(select(SandboxParcel)).scalar_one()
    assert (parcel.tracking_number, parcel.reference, parcel.api_key) == (
        shown["tracking_number"], "#1204-31", "shop-key")
    assert parcel.picked_up_at is not None
    assert parcel.payload["city"] == "Rabat"
    [tracked] = track(client, shown["tracking_number"])["parcels"]
    codes = [event["code"] for event in tracked["events"]]
    assert codes[:2] == ["INFO_RECEIVED", "PICKED_UP"]


def test_shipped_order_read_again_keeps_its_one_parcel(app, client):
    """Every later read shows the same tracking number; the carrier has one parcel."""
    ship_now(app)
    number = submit(client).get_json()["number"]
    first = client.get(f"{API}/orders/{number}", headers=KEY).get_json()
    again = client.get(f"{API}/orders/{number}", headers=KEY).get_json()
    repeat = submit(client).get_json()
    assert first["tracking_number"] == again["tracking_number"] == repeat["tracking_number"]
    assert count(SandboxParcel) == 1


def test_shipped_parcel_belongs_to_the_configured_carrier_account(app, client):
    """With SANDBOX_SUPPLIER_CARRIER_KEY set, that carrier account sees the parcel, not the shop."""
    ship_now(app)
    app.config["SANDBOX_SUPPLIER_CARRIER_KEY"] = "carrier-account"
    number = submit(client).get_json()["number"]
    tracking = client.get(f"{API}/orders/{number}", headers=KEY).get_json()["tracking_number"]
    assert track(client, tracking, key="carrier-account")["parcels"][0]["tracking_number"] == (
        tracking)
    assert track(client, tracking, key="shop-key")["unknown"] == [tracking]


def test_refused_order_never_ships(app, client):
    """A refused order stays refused, with no tracking and no parcel."""
    ship_now(app)
    number = submit(client, customer=with_customer(city="Dakhla")).get_json()["number"]
    shown = client.get(f"{API}/orders/{number}", headers=KEY).get_json()
    assert (shown["status"], shown["tracking_number"]) == ("rejected", None)
    assert count(SandboxParcel) == 0


def test_order_of_another_account_is_404(client):
    """Orders belong to the key that sent them."""
    number = submit(client).get_json()["number"]
    resp = client.get(f"{API}/orders/{number}", headers={"Authorization": "Bearer other-shop"})
    assert resp.status_code == 404 and number in resp.get_json()["error"]


# --- batch status -----------------------------------------------------------------------


def test_batch_status_lists_orders_and_unknown_numbers(app, client):
    """Known numbers come back as orders (shipped when due); others are listed as unknown."""
    ship_now(app)
    accepted = submit(client, key="so-1").get_json()["number"]
    refused = submit(client, key="so-2", lines=[{"sku": "ATL-XX", "quantity": 1}]).get_json()[
        "number"]
    theirs = submit(client, key="so-3", headers={"Authorization": "Bearer other-shop"}
                    ).get_json()["number"]
    resp = client.post(f"{API}/orders/status", csrf=False, headers=KEY,
                       json={"numbers": [accepted, refused, theirs, "SUP-00000000"]})
    assert resp.status_code == 200
    orders = {o["number"]: o for o in resp.get_json()["orders"]}
    assert orders[accepted]["status"] == "shipped" and orders[accepted]["tracking_number"]
    assert orders[refused]["status"] == "rejected"
    assert orders[refused]["error"] == "Unknown SKU ATL-XX: not in our catalogue"
    assert resp.get_json()["unknown"] == [theirs, "SUP-00000000"]


@pytest.mark.parametrize("body", [
    {}, {"numbers": []}, {"numbers": "SUP-1"}, {"numbers": [1]},
    {"numbers": [f"SUP-{n:08d}" for n in range(101)]},
])
def test_batch_status_bad_request_is_400(client, body):
    """Not a list of 1 to 100 numbers: a 400 naming the field."""
    resp = client.post(f"{API}/orders/status", json=body, csrf=False, headers=KEY)
    assert resp.status_code == 400 and resp.get_json()["fields"] == ["numbers"]


# --- cancel -----------------------------------------------------------------------------


def test_cancel_before_shipping_cancels_and_it_never_ships(app, client):
    """Canceled while in the warehouse: 200 canceled (again too), and no parcel ever."""
    number = submit(client).get_json()["number"]
    first = client.post(f"{API}/orders/{number}/cancel", csrf=False, headers=KEY)
    again = client.post(f"{API}/orders/{number}/cancel", csrf=False, headers=KEY)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.get_json()["status"] == again.get_json()["status"] == "canceled"
    leave_warehouse_now()
    shown = client.get(f"{API}/orders/{number}", headers=KEY).get_json()
    assert (shown["status"], shown["tracking_number"]) == ("canceled", None)
    assert count(SandboxParcel) == 0


def test_cancel_after_shipping_is_409_already_shipped(app, client):
    """Once it left (its time passed, read or not) the supplier says no, naming the tracking."""
    ship_now(app)
    number = submit(client).get_json()["number"]
    resp = client.post(f"{API}/orders/{number}/cancel", csrf=False, headers=KEY)
    assert resp.status_code == 409
    answer = resp.get_json()
    assert answer["code"] == "shipped" and answer["error"].startswith("Already shipped")
    shown = client.get(f"{API}/orders/{number}", headers=KEY).get_json()
    assert shown["status"] == "shipped" and shown["tracking_number"] in answer["error"]


def test_cancel_refused_order_is_409(client):
    """A refused order has nothing to cancel."""
    number = submit(client, lines=[{"sku": "ATL-XX", "quantity": 1}]).get_json()["number"]
    resp = client.post(f"{API}/orders/{number}/cancel", csrf=False, headers=KEY)
    assert resp.status_code == 409 and resp.get_json()["code"] == "rejected"


def test_cancel_unknown_order_is_404(client):
    """A number this account does not have."""
    resp = client.post(f"{API}/orders/SUP-00000000/cancel", csrf=False, headers=KEY)
    assert resp.status_code == 404 and "SUP-00000000" in resp.get_json()["error"]
