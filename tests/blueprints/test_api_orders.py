"""The orders API: keys, idempotent creation, refusals as JSON, one channel's orders, paging."""

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update

from extensions import db
from models import Actor, AuditEvent, Order, utcnow
from models.intake.api_keys import issue_key, revoke_key
from models.status import Confirmation, Shipping

ORDERS = "/api/v1/orders"


class Api:
    """A test client that speaks for one channel with its bearer key."""

    def __init__(self, client, token: str):
        self.client, self.token = client, token

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def post(self, body=None, *, headers=None, **kwargs):
        """POST an order (as JSON unless data= is given)."""
        if body is not None:
            kwargs["json"] = body
        return self.client.post(ORDERS, headers=self._headers(headers), csrf=False, **kwargs)

    def get(self, url: str, *, headers=None, **kwargs):
        return self.client.get(url, headers=self._headers(headers), **kwargs)


@pytest.fixture
def connect(app):
    """connect(channel) -> an Api client holding a fresh key of that channel."""

    def make(channel) -> Api:
        key, token = issue_key(channel, "Shop backend", Actor.system("test"))
        db.session.commit()
        client = app.test_client()
        api = Api(client, token)
        api.key = key
        return api

    return make


@pytest.fixture
def shop(make_channel):
    """The channel the key belongs to."""
    return make_channel(name="Argan Store", code="argan", kind="api")


@pytest.fixture
def api(connect, shop) -> Api:
    return connect(shop)


@pytest.fixture
def mug(make_product):
    """A product the orders can name."""
    return make_product(sku="MUG-1", name="Atlas mug", price_cents=6450, stock=20)


def order_body(**overrides) -> dict:
    """A valid order for the MUG-1 product."""
    body = {
        "external_id": "1042",
        "customer": {"name": "Salma Idrissi", "phone": "0612345678",
                     "address": "12 rue Ibn Battouta", "city": "Casablanca"},
        "lines": [{"sku": "MUG-1", "quantity": 2}],
        "cod_amount": "129.00",
    }
    for path, value in overrides.items():
        *parents, leaf = path.split("__")
        target = body
        for name in parents:
            target = target[name]
        target[leaf] = value
    return body


def orders_in_db() -> list[Order]:
    db.session.rollback()
    return list(db.session.execute(select(Order).order_by(Order.id)).scalars())


# --- creating -------------------------------------------------------------------------


def test_post_creates_the_order_and_answers_201_with_it(api, shop, mug):
    resp = api.post(order_body())

    assert resp.status_code == 201, resp.json
    [order] = orders_in_db()
    assert resp.headers["Location"] == f"/api/v1/orders/{order.id}"
    document = resp.json
    assert document["id"] == order.id
    assert document["external_id"] == "1042" and document["channel"] == "argan"
    assert document["customer"] == {"name": "Salma Idrissi", "phone": "0612345678",
                                     "address": "12 rue Ibn Battouta", "city": "Casablanca",
                                     "region": ""}
    assert document["lines"] == [{"sku": "MUG-1", "name": "Atlas mug", "quantity": 2,
                                  "unit_price": "64.50"}]
    assert document["cod_amount"] == "129.00" and document["currency"] == "MAD"
    assert document["confirmation_status"] == "new"
    assert document["shipping_status"] is None and document["push_status"] == "sent"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["created_at"])
    assert order.cod_amount_cents == 12900 and order.phone_normalized == "+212612345678"
    event = db.session.execute(select(AuditEvent).where(AuditEvent.order_id == order.id)
                               ).scalar_one()
    assert event.actor_name == "channel:argan"


def test_post_without_amount_or_prices_takes_the_catalogues(api, mug):
    body = order_body(cod_amount=None)
    del body["cod_amount"]
    resp = api.post(body)
    assert resp.status_code == 201
    assert resp.json["cod_amount"] == "129.00"


def test_post_takes_amounts_as_numbers_too(api, mug):
    resp = api.post(order_body(cod_amount=99.5, lines=[{"sku": "MUG-1", "quantity": 1,
                                                        "unit_price": 80}]))
    assert resp.status_code == 201
    assert resp.json["cod_amount"] == "99.50"
    assert resp.json["lines"][0]["unit_price"] == "80.00"


def test_post_same_order_again_answers_200_with_the_first_order(api, mug):
    first = api.post(order_body())
    again = api.post(order_body())

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert "Location" not in again.headers
    assert len(orders_in_db()) == 1


TWO_LINES = [{"sku": "MUG-1", "quantity": 1}, {"sku": "CUP-2", "quantity": 3}]


@pytest.mark.parametrize(("first", "again"), [
    ({}, {"customer__phone": "+212 6 12 34 56 78"}),  # the same phone, spelled otherwise
    ({}, {"cod_amount": 129}),  # the same amount as a number
    ({}, {"customer__name": "  Salma Idrissi "}),  # the door stores text stripped
    ({"lines": TWO_LINES}, {"lines": TWO_LINES[::-1]}),  # lines in another order
])
def test_post_same_content_written_otherwise_is_still_the_same_order(
        api, mug, make_product, first, again):
    make_product(sku="CUP-2")
    assert api.post(order_body(**first)).status_code == 201
    resp = api.post(order_body(**{**first, **again}))
    assert resp.status_code == 200, resp.json


def test_post_different_content_under_a_used_id_answers_409_naming_the_fields(api, mug):
    first = api.post(order_body())
    resp = api.post(order_body(customer__phone="0661223344", customer__city="Rabat",
                               lines=[{"sku": "MUG-1", "quantity": 3}], cod_amount="150"))

    assert resp.status_code == 409
    assert resp.json == {
        "error": "Order 1042 was already received with different content",
        "fields": ["customer.phone", "customer.city", "cod_amount", "lines"]}
    [order] = orders_in_db()
    assert order.id == first.json["id"] and order.city == "Casablanca"


def test_post_same_order_at_once_from_many_connections_makes_one_order(
        live_server, api, mug):
    def send(_n):
        return requests.post(f"{live_server}{ORDERS}", json=order_body(), timeout=30,
                             headers={"Authorization": f"Bearer {api.token}"})

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(send, range(6)))

    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    [order] = orders_in_db()
    assert {a.json()["id"] for a in answers} == {order.id}


def test_post_same_external_id_on_another_channel_is_another_order(
        api, connect, make_channel, mug):
    other = connect(make_channel(code="other-shop"))
    assert api.post(order_body()).status_code == 201
    assert other.post(order_body(customer__city="Rabat")).status_code == 201
    assert len(orders_in_db()) == 2


# --- refusals -------------------------------------------------------------------------


def test_post_unknown_sku_answers_422_naming_the_line(api, mug):
    resp = api.post(order_body(lines=[{"sku": "MUG-1", "quantity": 1},
                                      {"sku": "NOPE-9", "quantity": 1}]))
    assert resp.status_code == 422
    assert resp.json["fields"] == ["lines[1].sku"]
    assert "Unknown SKU “NOPE-9”" in resp.json["error"]
    assert orders_in_db() == []


@pytest.mark.parametrize(("overrides", "fields"), [
    ({"customer__phone": "12"}, ["customer.phone"]),
    ({"customer__name": "   "}, ["customer.name"]),
    ({"external_id": ""}, ["external_id"]),
    ({"lines": []}, ["lines"]),
    ({"lines": [{"sku": "MUG-1", "quantity": 0}]}, ["lines[0].quantity"]),
    ({"lines": [{"sku": "MUG-1", "quantity": "2"}]}, ["lines[0].quantity"]),
    ({"lines": [{"sku": "MUG-1", "quantity": 1, "colour": "red"}]}, ["lines[0].colour"]),
    ({"cod_amount": "12.345"}, ["cod_amount"]),
    ({"cod_amount": "-5"}, ["cod_amount"]),
    ({"cod_amount": 1e12}, ["cod_amount"]),
    ({"currency": "mad"}, ["currency"]),
    ({"paid": "yes"}, ["paid"]),
    ({"customer__address": "12 rue\x00"}, ["customer.address"]),
    ({"surprise": 1}, ["surprise"]),
])
def test_post_invalid_order_answers_422_naming_the_fields(api, mug, overrides, fields):
    resp = api.post(order_body(**overrides))
    assert resp.status_code == 422, resp.json
    assert resp.json["fields"] == fields
    assert resp.json["error"].startswith("The order was refused: ")
    assert orders_in_db() == []


def test_post_missing_fields_are_each_named(api, mug):
    body = order_body()
    del body["customer"]["phone"], body["lines"][0]["quantity"]
    resp = api.post(body)
    assert resp.status_code == 422
    assert resp.json["fields"] == ["customer.phone", "lines[0].quantity"]


def test_post_json_that_is_not_an_object_answers_422(api):
    resp = api.post([order_body()])
    assert resp.status_code == 422
    assert resp.json["fields"] == []


@pytest.mark.parametrize(("data", "content_type", "message"), [
    ('{"external_id": "1042",', "application/json", "not valid JSON"),
    ("", "application/json", "not valid JSON"),
    (b"\xff\xfe{}", "application/json", "not valid JSON"),
    ("external_id=1042", "application/x-www-form-urlencoded", "Content-Type: application/json"),
])
def test_post_unreadable_body_answers_400(api, data, content_type, message):
    resp = api.post(data=data, content_type=content_type)
    assert resp.status_code == 400
    assert message in resp.json["error"] and resp.json["fields"] == []


def test_post_body_over_a_megabyte_answers_413(api, mug):
    resp = api.post(order_body(note="x" * 1_000_001))
    assert resp.status_code == 413
    assert resp.json["error"] == "The body is larger than 1,000,000 bytes."
    assert orders_in_db() == []


# --- keys -----------------------------------------------------------------------------


def without_key(client, method: str, url: str, headers: dict):
    if method == "POST":
        return client.post(url, json=order_body(), headers=headers, csrf=False)
    return client.get(url, headers=headers)


@pytest.mark.parametrize(("method", "url"), [("POST", ORDERS), ("GET", ORDERS),
                                             ("GET", f"{ORDERS}/1")])
@pytest.mark.parametrize(("authorization", "message"), [
    (None, "Send your API key"),
    ("Basic dXNlcjpwdw==", "Send your API key"),
    ("Bearer ", "Send your API key"),
    ("Bearer cb_not-a-key-at-all", "unknown or was revoked"),
])
def test_requests_without_a_valid_key_answer_401(client, api, mug, method, url,
                                                 authorization, message):
    headers = {"Authorization": authorization} if authorization else {}
    resp = without_key(client, method, url, headers)
    assert resp.status_code == 401
    assert message in resp.json["error"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert orders_in_db() == []


def test_revoked_key_answers_401_at_once(api, mug):
    assert api.post(order_body()).status_code == 201
    revoke_key(api.key, Actor.system("test"))
    db.session.commit()

    resp = api.get(ORDERS)
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


# --- reading one ----------------------------------------------------------------------


def test_get_order_shows_where_it_is(api, shop, make_order, make_carrier, mug):
    carrier = make_carrier(name="Amana Express")
    order = make_order(channel=shop, lines=[(mug, 1)], carrier=carrier,
                       confirmation_status="confirmed", shipping_status="shipped",
                       tracking_number="AM123456789MA")
    resp = api.get(f"{ORDERS}/{order.id}")
    assert resp.status_code == 200
    assert resp.json["confirmation_status"] == "confirmed"
    assert resp.json["shipping_status"] == "shipped"
    assert resp.json["tracking_number"] == "AM123456789MA"
    assert resp.json["carrier"] == "Amana Express"
    assert resp.json["lines"] == [{"sku": "MUG-1", "name": "Atlas mug", "quantity": 1,
                                   "unit_price": "64.50"}]


@pytest.mark.parametrize("which", ["other channel", "unknown", "not a number", "too big"])
def test_get_order_of_another_channel_is_as_unknown_as_a_missing_one(
        api, make_order, make_channel, which):
    stranger = make_order(channel=make_channel())
    order_id = {"other channel": stranger.id, "unknown": stranger.id + 1000,
                "not a number": "abc", "too big": 2**40}[which]
    resp = api.get(f"{ORDERS}/{order_id}")
    assert resp.status_code == 404
    assert resp.json == {"error": f"There is no order {order_id} for this channel.",
                         "fields": []}


# --- listing --------------------------------------------------------------------------


@pytest.fixture
def aged(shop, make_order, mug):
    """aged(minutes_ago, **overrides): an order of the shop last changed that long ago."""

    def make(minutes_ago: float, **overrides) -> Order:
        order = make_order(**{"channel": shop, "lines": [(mug, 1)], **overrides})
        set_updated(order, minutes_ago)
        return order

    return make


def set_updated(order: Order, minutes_ago: float) -> None:
    """Stamp the order's last change (without the ORM, which stamps now)."""
    db.session.execute(update(Order).where(Order.id == order.id)
                       .values(updated_at=utcnow() - timedelta(minutes=minutes_ago)))
    db.session.commit()


def ids(resp) -> list[int]:
    assert resp.status_code == 200, resp.json
    return [o["id"] for o in resp.json["orders"]]


def test_list_shows_the_channels_orders_oldest_change_first(
        api, aged, make_order, make_channel):
    newer, older = aged(5), aged(50)
    stranger = make_order(channel=make_channel())
    set_updated(stranger, 30)

    resp = api.get(ORDERS)
    assert ids(resp) == [older.id, newer.id]
    assert resp.json["next_cursor"] is None
    assert resp.json["orders"][0]["channel"] == "argan"


def test_list_filters_by_status(api, aged):
    new = aged(30)
    confirmed = aged(20, confirmation_status=Confirmation.CONFIRMED.value,
                     shipping_status=Shipping.CREATED.value)
    shipped = aged(10, confirmation_status=Confirmation.CONFIRMED.value,
                   shipping_status=Shipping.SHIPPED.value)

    assert ids(api.get(ORDERS, query_string={"confirmation": "new"})) == [new.id]
    assert ids(api.get(ORDERS, query_string={"confirmation": "confirmed"})) == [
        confirmed.id, shipped.id]
    assert ids(api.get(ORDERS, query_string={"shipping": "shipped"})) == [shipped.id]


def test_list_updated_since_leaves_out_older_changes(api, aged):
    aged(120)
    recent = aged(10)
    since = (utcnow() - timedelta(hours=1)).replace(microsecond=0)
    assert ids(api.get(ORDERS, query_string={"updated_since": since.isoformat() + "Z"})) == [
        recent.id]
    # The same moment in another zone.
    local = (since + timedelta(hours=1)).isoformat() + "+01:00"
    assert ids(api.get(ORDERS, query_string={"updated_since": local})) == [recent.id]


def test_list_leaves_a_change_out_until_it_has_settled(api, aged):
    # A change stamped just now may belong to a transaction still saving: it is listed
    # on a later call (its cursor position is after everything listed), never skipped.
    settled = aged(10)
    fresh = aged(0)
    assert ids(api.get(ORDERS)) == [settled.id]
    set_updated(fresh, 1)
    assert ids(api.get(ORDERS)) == [settled.id, fresh.id]


def test_list_pages_by_cursor_without_skipping_orders_changed_meanwhile(api, aged):
    orders = [aged(60 - n) for n in range(4)]
    # Two orders changed at the same moment are told apart by id.
    twins = [aged(50), aged(50)]
    expected = sorted(orders + twins, key=lambda o: (o.updated_at, o.id))

    first = api.get(ORDERS, query_string={"limit": 2})
    assert ids(first) == [o.id for o in expected[:2]]
    # While the client pages, an order it has not read yet and one it has read change.
    set_updated(expected[3], 2)
    set_updated(expected[0], 1)
    seen = ids(first)
    cursor = first.json["next_cursor"]
    while cursor:
        page = api.get(ORDERS, query_string={"limit": 2, "cursor": cursor})
        seen += ids(page)
        cursor = page.json["next_cursor"]

    assert set(seen) == {o.id for o in expected}
    assert seen[-2:] == [expected[3].id, expected[0].id]  # the changes, at the end


@pytest.mark.parametrize(("query", "field"), [
    ({"confirmation": "maybe"}, "confirmation"),
    ({"shipping": "lost"}, "shipping"),
    ({"limit": "0"}, "limit"),
    ({"limit": "201"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"updated_since": "yesterday"}, "updated_since"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"cursor": "MjAyNi0wMS0wMVQwMDowMDowMA=="}, "cursor"),  # a time without an id
    ({"cursor": "MjAyNi0wMS0wMVQwMDowMDowMHx4"}, "cursor"),  # an id that is no number
])
def test_list_invalid_query_answers_422_naming_the_parameter(api, query, field):
    resp = api.get(ORDERS, query_string=query)
    assert resp.status_code == 422
    assert resp.json["fields"] == [field]
    assert resp.json["error"].startswith("The query was refused: ")


def test_list_reads_a_page_in_two_queries(api, aged, count_queries, make_product):
    for n in range(5):
        aged(10 + n, lines=[(make_product(stock=0), 1), (make_product(stock=0), 2)])
    api.get(ORDERS)  # the key's lookup is now cached
    with count_queries() as counted:
        resp = api.get(ORDERS)
    assert len(ids(resp)) == 5 and all(len(o["lines"]) == 2 for o in resp.json["orders"])
    assert counted.n == 2, counted.statements


# --- the document and its page ------------------------------------------------------


def test_openapi_document_is_served(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    document = resp.json
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    new_order = document["components"]["schemas"]["NewOrder"]
    assert new_order["additionalProperties"] is False
    assert set(new_order["required"]) == {"external_id", "customer", "lines"}


def test_every_api_route_is_documented_and_every_documented_route_exists(app, client):
    document = client.get("/api/v1/openapi.json").json
    documented = {(path, method.upper()) for path, item in document["paths"].items()
                  for method in item}
    routed = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed


def test_every_operation_documents_its_errors_with_the_error_schema(client):
    document = client.get("/api/v1/openapi.json").json
    for path, item in document["paths"].items():
        for method, operation in item.items():
            keyed = operation.get("security") != []
            statuses = set(operation["responses"])
            assert not keyed or "401" in statuses, (method, path)
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]["$ref"]
                    assert schema.rsplit("/", 1)[1] in {"Error", "WebhookError"}


def test_docs_page_loads_only_vendored_files_and_no_inline_script(client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        served.close()
    assert 'data-spec-url="/api/v1/openapi.json"' in page


@pytest.mark.browser
def test_docs_page_shows_the_operations_in_a_browser(page, live_server):
    from playwright.sync_api import expect

    page.set_default_timeout(10_000)
    page.goto(f"{live_server}/api/v1/docs")
    expect(page.get_by_text("codboard API").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/orders").first
           ).to_be_visible()
