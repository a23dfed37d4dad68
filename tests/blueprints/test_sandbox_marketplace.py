"""The sandbox marketplace's own side: its order API, misbehaviour, page and demo producer."""

import pytest
from sqlalchemy import func, select

from extensions import db
from models.intake.incoming import Catalogue, IncomingOrder, check_order
from models.phones import normalize_phone
from models.sandbox import SandboxShopOrder
from workers.channels.sandbox import incoming_order
from workers.sandbox_jobs import produce_sandbox_orders

API = "/sandbox/marketplace"
KEY = {"Authorization": "Bearer shop-key"}
ORDER = {
    "customer": {"name": "Salma Benjelloun", "phone": "0662457890"},
    "shipping": {"address": "45 Bd Zerktouni", "city": "Casablanca",
                 "region": "Casablanca-Settat", "method": "Livraison standard"},
    "items": [{"sku": "ARG-BIO-100", "name": "Huile d'argan", "quantity": 2,
               "unit_price_cents": 12000}],
    "note": "Livraison après 18h",
}


def create(client, headers=KEY, **fields):
    """POST an order to the marketplace with the test client."""
    return client.post(f"{API}/orders", json={**ORDER, **fields}, csrf=False, headers=headers)


def post(client, path, body=None, headers=KEY):
    """POST a JSON body to the marketplace API."""
    return client.post(f"{API}{path}", json=body or {}, csrf=False, headers=headers)


def fulfil(client, number, key="news-1", headers=KEY, **told):
    """POST a fulfilment with an Idempotency-Key."""
    body = {"tracking_number": "SBX0000000001", "carrier": "Sandbox Express", **told}
    return post(client, f"/orders/{number}/fulfilment", body,
                headers={**headers, "Idempotency-Key": key})


def listed(client, headers=KEY, **params):
    """GET the changes feed."""
    return client.get(f"{API}/orders", query_string=params, headers=headers)


def misbehave(client, mode, **options):
    """Ask the marketplace to misbehave."""
    resp = post(client, "/misbehave", {"mode": mode, **options}, headers={})
    assert resp.status_code == 200, resp.get_json()


def order_count() -> int:
    """Rows in the marketplace's own table."""
    return db.session.execute(select(func.count()).select_from(SandboxShopOrder)).scalar_one()


# -- auth and creation ----------------------------------------------------------------
def test_every_api_call_needs_a_bearer_key(client):
    """Without a key: 401 in JSON, for reading and writing alike."""
    for resp in (listed(client, headers={}), create(client, headers={}),
                 post(client, "/orders/SB-1/cancel", headers={})):
        assert resp.status_code == 401 and "API key" in resp.get_json()["error"]
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert order_count() == 0


def test_create_returns_the_order_in_the_shops_shape(client):
    """A new order gets a number, is open, and totals its items."""
    resp = create(client)
    assert resp.status_code == 201
    order = resp.get_json()
    assert order["number"].startswith("SB-") and order["status"] == "open"
    assert order["total_cents"] == 24000 and order["currency"] == "MAD"
    assert order["payment"] == "cod" and order["fulfilment"] is None
    assert order["customer"] == ORDER["customer"] and order["note"] == "Livraison après 18h"
    assert order["created_at"].endswith("Z")


def test_create_with_a_number_again_returns_the_same_order(client):
    """A client retrying with its own number gets the first order back."""
    first = create(client, number="WEB-1042")
    again = create(client, number="WEB-1042")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["created_at"] == first.get_json()["created_at"]
    assert order_count() == 1


def test_create_with_another_accounts_number_is_a_conflict(client):
    """Numbers are the shop's: another account cannot take or read one."""
    create(client, number="WEB-1042")
    resp = create(client, headers={"Authorization": "Bearer other-key"}, number="WEB-1042")
    assert resp.status_code == 409 and order_count() == 1


@pytest.mark.parametrize("changes, field", [
    ({"customer": {"name": "", "phone": "0662457890"}}, "customer.name"),
    ({"shipping": {"address": "1 rue", "city": ""}}, "shipping.city"),
    ({"items": []}, "items"),
    ({"items": [{"sku": "A", "quantity": 0, "unit_price_cents": 1}]}, "items"),
    ({"items": [{"sku": "A", "quantity": 1, "unit_price_cents": -5}]}, "items"),
    ({"currency": "dirham"}, "currency"),
    ({"payment": "cheque"}, "payment"),
    ({"number": "has spaces"}, "number"),
    ({"note": "x" * 1001}, "note"),
])
def test_create_invalid_order_names_the_field(client, changes, field):
    """422 with the fields to fix, and nothing stored."""
    resp = create(client, **changes)
    assert resp.status_code == 422 and field in resp.get_json()["fields"]
    assert order_count() == 0


def test_create_body_that_is_not_a_json_object_is_refused(client):
    """400 for a list or plain text."""
    resp = client.post(f"{API}/orders", data="hello", csrf=False, headers=KEY)
    assert resp.status_code == 400 and order_count() == 0


# -- the changes feed -----------------------------------------------------------------
def test_list_pages_by_cursor_without_repeating_or_skipping(client):
    """Three orders, two a page: every order once, then an empty page with the same cursor."""
    numbers = [create(client, number=f"WEB-{n}").get_json()["number"] for n in range(3)]
    first = listed(client, limit=2).get_json()
    second = listed(client, limit=2, after=first["next"]).get_json()
    assert first["more"] is True and second["more"] is False
    assert [o["number"] for o in first["orders"] + second["orders"]] == numbers
    third = listed(client, limit=2, after=second["next"]).get_json()
    assert third == {"orders": [], "next": second["next"], "more": False}


def test_list_shows_an_order_again_once_it_changes(client):
    """A cancellation moves the order to the end of the feed."""
    number = create(client).get_json()["number"]
    cursor = listed(client).get_json()["next"]
    post(client, f"/orders/{number}/cancel")
    changed = listed(client, after=cursor).get_json()["orders"]
    assert [(o["number"], o["status"]) for o in changed] == [(number, "canceled")]


def test_list_shows_only_the_accounts_own_orders(client):
    """Another key sees nothing of this account."""
    create(client)
    assert listed(client, headers={"Authorization": "Bearer other-key"}).get_json()[
        "orders"] == []


@pytest.mark.parametrize("params", [{"after": "yesterday"}, {"limit": "0"},
                                    {"limit": "101"}, {"limit": "ten"}])
def test_list_bad_cursor_or_limit_is_refused(client, params):
    """A cursor the API did not give, or a limit out of range: 400."""
    assert listed(client, **params).status_code == 400


# -- cancel and fulfil ----------------------------------------------------------------
def test_cancel_then_fulfil_is_refused(client):
    """A canceled order cannot ship."""
    number = create(client).get_json()["number"]
    assert post(client, f"/orders/{number}/cancel").get_json()["status"] == "canceled"
    assert post(client, f"/orders/{number}/cancel").status_code == 200
    resp = fulfil(client, number)
    assert resp.status_code == 409 and resp.get_json()["code"] == "canceled"


def test_fulfil_stores_what_the_shop_was_told(client):
    """201 with the tracking; the order is fulfilled."""
    number = create(client).get_json()["number"]
    resp = fulfil(client, number, tracking_url="https://track.example/SBX0000000001")
    assert resp.status_code == 201
    told = resp.get_json()["fulfilment"]
    assert told["tracking_number"] == "SBX0000000001" and told["carrier"] == "Sandbox Express"
    assert told["tracking_url"] == "https://track.example/SBX0000000001"
    assert resp.get_json()["status"] == "fulfilled"


def test_fulfil_same_key_again_returns_the_first_result(client):
    """A retry with the same key changes nothing and answers as the first time."""
    number = create(client).get_json()["number"]
    first = fulfil(client, number)
    again = fulfil(client, number, tracking_number="OTHER")
    assert again.status_code == 200 and again.get_json() == first.get_json()


def test_fulfil_with_another_key_is_a_conflict(client):
    """A second, different fulfilment of a fulfilled order: 409 already_fulfilled."""
    number = create(client).get_json()["number"]
    fulfil(client, number)
    resp = fulfil(client, number, key="news-2")
    assert resp.status_code == 409 and resp.get_json()["code"] == "already_fulfilled"


def test_fulfil_then_cancel_is_refused(client):
    """A shipped order can no longer be canceled."""
    number = create(client).get_json()["number"]
    fulfil(client, number)
    resp = post(client, f"/orders/{number}/cancel")
    assert resp.status_code == 409 and resp.get_json()["code"] == "fulfilled"


def test_fulfil_needs_an_idempotency_key_and_a_known_order(client):
    """No key: 400; an order of another account: 404."""
    number = create(client).get_json()["number"]
    no_key = post(client, f"/orders/{number}/fulfilment", {"tracking_number": "X"})
    assert no_key.status_code == 400 and "Idempotency-Key" in no_key.get_json()["error"]
    other = fulfil(client, number, headers={"Authorization": "Bearer other-key"})
    assert other.status_code == 404


def test_fulfil_refuses_a_tracking_url_that_is_not_http(client):
    """The URL is shown as a link on the page: only http(s)."""
    number = create(client).get_json()["number"]
    resp = fulfil(client, number, tracking_url="javascript:alert(1)")
    assert resp.status_code == 422 and resp.get_json()["fields"] == ["tracking_url"]


# -- misbehaviour ---------------------------------------------------------------------
def test_misbehave_500_then_back_to_normal(client):
    """The next call answers 500, the one after works."""
    misbehave(client, "500")
    assert listed(client).status_code == 500
    assert listed(client).status_code == 200


def test_misbehave_429_says_when_to_retry(client):
    """Rate limited, with a Retry-After header."""
    misbehave(client, "429", seconds=7)
    resp = listed(client)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"


def test_misbehave_malformed_does_the_work_but_cuts_the_answer(client):
    """The order is made; its answer is not JSON any more."""
    misbehave(client, "malformed")
    resp = create(client)
    assert resp.status_code == 200 and resp.get_json(silent=True) is None
    assert order_count() == 1


def test_misbehave_times_counts_and_off_clears(client):
    """times=2 fails two calls; off clears whatever is left."""
    misbehave(client, "500", times=2)
    assert listed(client).status_code == 500
    misbehave(client, "off")
    assert listed(client).status_code == 200


def test_misbehave_refuses_unknown_modes(client):
    """An unknown mode is named in a 422."""
    resp = post(client, "/misbehave", {"mode": "explode"}, headers={})
    assert resp.status_code == 422 and resp.get_json()["fields"] == ["mode"]


# -- the page -------------------------------------------------------------------------
def test_page_lists_orders_with_status_and_what_was_told(client):
    """People check the demo here: status, carrier and tracking number of each order."""
    shipped = create(client, number="WEB-1").get_json()["number"]
    create(client, number="WEB-2")
    fulfil(client, shipped, tracking_url="https://track.example/SBX0000000001")
    page = client.get(f"{API}/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-status="fulfilled"' in html and 'data-status="open"' in html
    assert "Sandbox Express" in html and "SBX0000000001" in html
    assert 'href="https://track.example/SBX0000000001"' in html
    assert "****-key" in html and "shop-key" not in html


def test_page_escapes_customer_text(client):
    """Customer data is untrusted: markup is shown, never run."""
    create(client, customer={"name": "<script>alert(1)</script>", "phone": "0662457890"})
    html = client.get(f"{API}/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_page_without_orders_says_how_they_arrive(client):
    """An empty marketplace explains itself."""
    assert "No orders yet" in client.get(f"{API}/").get_data(as_text=True)


# -- the demo producer ----------------------------------------------------------------
def test_produce_sandbox_orders_places_valid_moroccan_orders_of_active_products(
        client, make_product, run_jobs):
    """A few orders of 1 to 3 active products, with phones and cities intake accepts."""
    active = [make_product(sku=f"DEMO-{n}", stock=0) for n in range(4)]
    make_product(sku="RETIRED", active=False, stock=0)
    produce_sandbox_orders.enqueue(count=3)
    run_jobs()
    orders = listed(client, headers={"Authorization": "Bearer sandbox-demo-key"}).get_json()[
        "orders"]
    assert len(orders) == 3
    catalogue = Catalogue.load(p.sku for p in active)
    for order in orders:
        incoming: IncomingOrder = incoming_order(order)
        assert 1 <= len(incoming.lines) <= 3
        assert {line.sku for line in incoming.lines} <= {p.sku for p in active}
        assert normalize_phone(incoming.phone, "MA")[:5] in ("+2126", "+2127")
        assert check_order(incoming, catalogue, "MA") == []
        assert incoming.currency == "MAD" and incoming.paid is False


def test_produce_sandbox_orders_without_products_places_nothing(app):
    """An empty catalogue: nothing to sell, nothing placed."""
    assert produce_sandbox_orders() == 0 and order_count() == 0


def test_produce_sandbox_orders_off_when_the_sandbox_is(app, make_product):
    """No sandbox in this instance: the job does nothing."""
    make_product(sku="DEMO-1", stock=0)
    app.config["SANDBOX_ENABLED"] = False
    assert produce_sandbox_orders(count=2) == 0 and order_count() == 0
