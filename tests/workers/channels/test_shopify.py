"""Shopify adapter against a local peer playing a shop's REST Admin API over real HTTP.

Fixtures in tests/fixtures/shopify/ follow Shopify's documented shapes with invented
values. order_webhook.json is the shared fixture byte for byte: WEBHOOK_SIGNATURE is
its base64 HMAC-SHA256 with SECRET (reformatting the file changes it).
"""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from models.intake.incoming import Catalogue, CatalogueItem, IncomingLine, check_order
from tests.blueprints.test_sandbox_carrier import closed_port_url
from tests.workers.carriers.peer import Peer, Reply
from workers.channels import ChannelConfig, ChannelError, ChannelRefused, Fulfilment, adapter_for
from workers.channels.shopify import ShopifyChannel

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "shopify"
API = "/admin/api/2026-07"
SECRET = "test_shopify_client_secret"
WEBHOOK_SIGNATURE = "F1DS1Xg6SNXOoZ9/gNw/LNdNgIPeFM6VxUQg/1Z76NE="
ORDER_ID = "5832145698871"
PAGE_INFO = "eyJsYXN0X2lkIjo1ODMyMTQ1NzMxNjM5LCJkaXJlY3Rpb24iOiJuZXh0In0"


def fixture(name: str):
    """A fixture file decoded."""
    return json.loads((FIXTURES / name).read_text())


def raw(name: str) -> bytes:
    """A fixture file's exact bytes (what a signature covers)."""
    return (FIXTURES / name).read_bytes()


def link(peer, page_info: str, rel: str = "next") -> tuple[tuple[str, str], ...]:
    """A Link header as Shopify sends it, pointing at the peer."""
    return (("Link", f'<{peer.url}{API}/orders.json?limit=250&page_info={page_info}>; '
                     f'rel="{rel}"'),)


@pytest.fixture
def peer():
    """A local Shopify shop on 127.0.0.1."""
    with Peer.running() as running:
        yield running


@pytest.fixture
def http():
    """One HTTP session per test, closed so no socket outlives it."""
    with requests.Session() as session:
        yield session


def make(peer=None, http=None, **changes) -> ShopifyChannel:
    """A Shopify adapter pointed at the peer (at nothing, for offline checks)."""
    values = dict(id=1, code="atlas", name="Boutique Atlas", kind="shopify",
                  base_url=peer.url if peer else closed_port_url(), api_key="shpat_test_token",
                  webhook_secret=SECRET, settings={}, timeout=5.0)
    values.update(changes)
    return ShopifyChannel(ChannelConfig(**values), http)


def news(**changes) -> Fulfilment:
    """Order #1042 shipped with Aramex."""
    values = dict(external_id=ORDER_ID, idempotency_key="news-1042-1",
                  tracking_number="35467891234", carrier_name="Aramex",
                  tracking_url="https://www.aramex.com/ma/en/track/results?ShipmentNumber=35467891234")
    values.update(changes)
    return Fulfilment(**values)


def headers(**changes) -> dict:
    """The headers of an orders/create delivery of order_webhook.json."""
    values = {"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": WEBHOOK_SIGNATURE,
              "X-Shopify-Shop-Domain": "boutique-atlas.myshopify.com",
              "X-Shopify-API-Version": "2025-07",
              "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
              "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
              "X-Shopify-Triggered-At": "2025-03-10T07:47:14.000000Z"}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


# -- polling --------------------------------------------------------------------------
def test_fetch_first_page_asks_for_the_last_week_of_changes(peer, http):
    """No cursor: every status, changed in the last 7 days, 250 a page, with the token."""
    peer.on("GET", f"{API}/orders.json", Reply(200, json=fixture("orders_page_1.json")))
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(days=7)
    page = make(peer, http).fetch_orders(None)
    after = datetime.now(UTC) - timedelta(days=7)
    [sent] = peer.seen("GET", f"{API}/orders.json")
    assert sent.headers["X-Shopify-Access-Token"] == "shpat_test_token"
    assert sent.query["status"] == "any" and sent.query["limit"] == "250"
    asked = datetime.fromisoformat(sent.query["updated_at_min"].replace("Z", "+00:00"))
    assert before <= asked <= after
    assert [o.external_id for o in page.orders] == [ORDER_ID, "5832145731639"]
    assert page.more is False


def test_fetch_follows_the_next_link_and_resumes_from_the_cursor(peer, http):
    """Page 1 says more; its cursor asks page 2 by page_info alone; the end cursor is a time."""
    peer.on("GET", f"{API}/orders.json",
            Reply(200, json=fixture("orders_page_1.json"), headers=link(peer, PAGE_INFO)),
            Reply(200, json=fixture("orders_page_2.json"),
                  headers=link(peer, "cHJldg", "previous")),
            Reply(200, json={"orders": []}))
    channel = make(peer, http)
    first = channel.fetch_orders(json.dumps({"since": "2025-03-09T00:00:00Z"}))
    assert first.more is True and len(first.orders) == 2
    # A new adapter (the next job run) goes on from the stored cursor alone.
    second = make(peer, http).fetch_orders(first.cursor)
    assert second.more is False
    assert [o.external_id for o in second.orders] == ["5832145764407"]
    third = make(peer, http).fetch_orders(second.cursor)
    assert third.orders == [] and third.more is False
    asked = peer.seen("GET", f"{API}/orders.json")
    assert asked[0].query == {"status": "any", "updated_at_min": "2025-03-09T00:00:00Z",
                              "limit": "250"}
    assert asked[1].query == {"page_info": PAGE_INFO, "limit": "250"}
    # #1044, updated 2025-03-11T10:05:00+01:00, is the latest change seen.
    assert asked[2].query["updated_at_min"] == "2025-03-11T09:05:00Z"
    assert json.loads(third.cursor) == {"since": "2025-03-11T09:05:00Z"}


def test_fetch_cursor_keeps_the_latest_change_of_every_page(peer, http):
    """A later page of older changes does not move the cursor back."""
    late = fixture("orders_page_2.json")
    late["orders"][0]["updated_at"] = "2025-03-10T09:00:00+01:00"
    peer.on("GET", f"{API}/orders.json",
            Reply(200, json=fixture("orders_page_1.json"), headers=link(peer, PAGE_INFO)),
            Reply(200, json=late))
    channel = make(peer, http)
    second = channel.fetch_orders(channel.fetch_orders("2025-03-09T00:00:00Z").cursor)
    # #1043, updated 2025-03-10T15:20:02+01:00 on page 1, stays the latest.
    assert json.loads(second.cursor) == {"since": "2025-03-10T14:20:02Z"}


def test_fetch_without_changes_keeps_the_cursor(peer, http):
    """An empty answer leaves the time where it was."""
    peer.on("GET", f"{API}/orders.json", Reply(200, json={"orders": []}))
    page = make(peer, http).fetch_orders(json.dumps({"since": "2025-03-11T09:05:00Z"}))
    assert page.orders == [] and json.loads(page.cursor) == {"since": "2025-03-11T09:05:00Z"}


def test_fetch_uses_the_configured_api_version(peer, http):
    """The API version is a setting, since Shopify retires old ones."""
    peer.on("GET", "/admin/api/2025-10/orders.json", Reply(200, json={"orders": []}))
    make(peer, http, settings={"api_version": "2025-10"}).fetch_orders(None)
    assert len(peer.seen("GET", "/admin/api/2025-10/orders.json")) == 1


# -- mapping --------------------------------------------------------------------------
def test_mapping_of_a_cod_order_field_by_field():
    """#1042: shipping address, lines in cents, what is still owed, the name in the note."""
    order = make().parse_webhook(headers(), raw("order_webhook.json")).orders[0]
    assert order.external_id == ORDER_ID
    assert order.customer_name == "Youssef El Amrani"
    assert order.phone == "+212 661-234567"
    assert order.address == "27 Rue Ibn Toumert, Gueliz, Appartement 4"
    assert order.city == "Marrakech" and order.region == ""
    assert order.lines == [IncomingLine("CAF-BRD-M", 1, 39900, "Caftan brode"),
                           IncomingLine("SAV-NOIR-200", 2, 7500, "Savon noir beldi 200g")]
    assert order.cod_amount_cents == 57800 and order.currency == "MAD"
    assert order.paid is False and order.canceled is False
    assert order.shipping_method == "Livraison standard (2-4 jours)"
    assert order.placed_at == datetime(2025, 3, 10, 7, 47, 11)
    assert order.note == "Appeler avant la livraison SVP (Shopify #1042)"


def test_mapping_of_a_canceled_arabic_order_falls_back_to_the_billing_phone(peer, http):
    """#1043: Arabic text kept as written, no shipping phone, canceled, nothing owed."""
    peer.on("GET", f"{API}/orders.json", Reply(200, json=fixture("orders_page_1.json")))
    order = make(peer, http).fetch_orders(None).orders[1]
    assert order.customer_name == "خديجة بناني"
    assert order.address == "حي الرياض، زنقة 14 رقم 7" and order.city == "الرباط"
    assert order.phone == "0612 34 56 78"
    assert order.lines == [IncomingLine("ARG-COS-50", 1, 22000, "زيت الأركان التجميلي 50 مل")]
    assert order.canceled is True and order.paid is False and order.cod_amount_cents == 0
    assert order.shipping_method == "Livraison express 24h"
    assert order.note == "(Shopify #1043)"


def test_mapping_of_a_paid_order_without_shipping_address_uses_billing(peer, http):
    """#1044: billing address and province, paid, the total when nothing says what is owed."""
    peer.on("GET", f"{API}/orders.json", Reply(200, json=fixture("orders_page_2.json")))
    order = make(peer, http).fetch_orders(None).orders[0]
    assert order.customer_name == "Zineb Lahlou"
    assert order.address == "Hôtel Atlas Médina, Av. Hassan II, Réception"
    assert order.city == "Fès" and order.region == "Fès-Meknès"
    assert order.phone == "+212 7 01 23 45 67"
    assert order.paid is True and order.cod_amount_cents == 34400
    assert order.note == "Livrer à la réception de l'hôtel, demander Réda (Shopify #1044)"


def test_mapped_order_passes_intake_checks_when_its_skus_are_known():
    """What the adapter hands over is an order intake takes as it is."""
    order = make().parse_webhook(headers(), raw("order_webhook.json")).orders[0]
    catalogue = Catalogue({"CAF-BRD-M": CatalogueItem(1, "Caftan", 39900, None),
                           "SAV-NOIR-200": CatalogueItem(2, "Savon", 7500, None)})
    assert check_order(order, catalogue, "MA") == []


def test_mapping_keeps_the_order_name_when_the_note_is_too_long():
    """A note longer than intake takes is cut, never the Shopify reference."""
    body = fixture("order_webhook.json")
    body["note"] = "é" * 1500
    order = make().parse_webhook(headers(), json.dumps(body).encode()).orders[0]
    assert len(order.note) == 1000 and order.note.endswith("… (Shopify #1042)")


# -- webhooks -------------------------------------------------------------------------
def test_verify_webhook_accepts_the_fixture_signature():
    """Shopify's base64 HMAC of the exact bytes with the client secret verifies."""
    assert make().verify_webhook(headers(), raw("order_webhook.json")) is True


def test_verify_webhook_refuses_a_tampered_body():
    """One byte changed (the amount) and the signature no longer matches."""
    body = raw("order_webhook.json").replace(b'"578.00"', b'"1.00"', 1)
    assert make().verify_webhook(headers(), body) is False


def test_verify_webhook_refuses_the_wrong_secret_or_no_signature():
    """Another secret, or a delivery without the header, is not Shopify."""
    assert make(webhook_secret="another-secret").verify_webhook(
        headers(), raw("order_webhook.json")) is False
    assert make().verify_webhook(headers(**{"X-Shopify-Hmac-Sha256": None}),
                                 raw("order_webhook.json")) is False
    assert make(webhook_secret=None).verify_webhook(headers(), raw("order_webhook.json")) is False


def test_verify_webhook_accepts_the_previous_secret_after_a_rotation():
    """For an hour after a rotation Shopify still signs with the old secret."""
    rotated = make(webhook_secret="new-secret", settings={"previous_webhook_secret": SECRET})
    assert rotated.verify_webhook(headers(), raw("order_webhook.json")) is True


def test_verify_webhook_reads_lowercase_header_names():
    """HTTP/2 delivers header names in lowercase."""
    lowered = {k.lower(): v for k, v in headers().items()}
    assert make().verify_webhook(lowered, raw("order_webhook.json")) is True


def test_parse_webhook_reads_the_delivery_event_and_topic():
    """The ids that make a redelivery recognisable, and the order."""
    delivery = make().parse_webhook(headers(), raw("order_webhook.json"))
    assert delivery.delivery_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert delivery.event_id == "98880550-7158-44d4-b7cd-2c97c8a091b5"
    assert delivery.topic == "orders/create"
    assert [o.external_id for o in delivery.orders] == [ORDER_ID]


def test_parse_webhook_redelivery_has_the_same_ids():
    """Shopify's retry carries the same webhook and event ids."""
    channel = make()
    first = channel.parse_webhook(headers(), raw("order_webhook.json"))
    again = channel.parse_webhook(headers(**{"X-Shopify-Triggered-At": "later"}),
                                  raw("order_webhook.json"))
    assert (again.delivery_id, again.event_id) == (first.delivery_id, first.event_id)


@pytest.mark.parametrize("topic", ["orders/updated", "orders/cancelled", "orders/paid"])
def test_parse_webhook_other_order_topics_carry_the_order(topic):
    """Updates, cancellations and payments are read as the order in its new state."""
    delivery = make().parse_webhook(headers(**{"X-Shopify-Topic": topic}),
                                    raw("order_webhook.json"))
    assert delivery.topic == topic and len(delivery.orders) == 1


def test_parse_webhook_other_topics_carry_no_order():
    """A topic that is not about an order's state is stored and leaves orders alone."""
    delivery = make().parse_webhook(headers(**{"X-Shopify-Topic": "products/update"}),
                                    b'{"id": 1, "title": "Caftan"}')
    assert delivery.orders == [] and delivery.topic == "products/update"


def test_parse_webhook_without_delivery_id_is_refused_for_good():
    """No X-Shopify-Webhook-Id: nothing to dedupe on, and retrying will not add one."""
    with pytest.raises(ChannelError) as missing:
        make().parse_webhook(headers(**{"X-Shopify-Webhook-Id": None}),
                             raw("order_webhook.json"))
    assert missing.value.transient is False and "X-Shopify-Webhook-Id" in missing.value.message


@pytest.mark.parametrize("body", [b"not json", b'["a list"]', b'{"name": "#1042"}'])
def test_parse_webhook_unreadable_order_is_refused_for_good(body):
    """A body that is not an order with an id cannot become one later."""
    with pytest.raises(ChannelError) as unreadable:
        make().parse_webhook(headers(), body)
    assert unreadable.value.transient is False


# -- fulfilment -----------------------------------------------------------------------
def open_shop(peer) -> None:
    """Order #1042 has one open fulfillment order, and Shopify fulfils it when asked."""
    peer.on("GET", f"{API}/orders/{ORDER_ID}/fulfillment_orders.json",
            Reply(200, json=fixture("fulfillment_orders_open.json")))
    peer.on("POST", f"{API}/fulfillments.json",
            Reply(201, json=fixture("fulfillment_created.json")))


def test_push_fulfils_the_open_fulfillment_order_with_tracking(peer, http):
    """The fulfillment order is read, then fulfilled with tracking_info and a notification."""
    open_shop(peer)
    make(peer, http).push_fulfilment(news())
    [sent] = peer.seen("POST", f"{API}/fulfillments.json")
    assert sent.headers["X-Shopify-Access-Token"] == "shpat_test_token"
    assert sent.headers["Idempotency-Key"] == "news-1042-1"
    documented = fixture("fulfillment_request.json")["fulfillment"]
    body = sent.json()["fulfillment"]
    assert body["tracking_info"] == documented["tracking_info"]
    assert body["notify_customer"] is True
    # Without fulfillment_order_line_items the whole fulfillment order is fulfilled.
    assert body["line_items_by_fulfillment_order"] == [
        {"fulfillment_order_id": documented["line_items_by_fulfillment_order"][0][
            "fulfillment_order_id"]}]


def test_push_without_tracking_number_sends_no_tracking_info(peer, http):
    """Shipped without a code: fulfilled all the same, with no tracking_info at all."""
    open_shop(peer)
    make(peer, http).push_fulfilment(news(tracking_number=None, carrier_name="Livreur maison",
                                          tracking_url=None))
    body = peer.seen("POST", f"{API}/fulfillments.json")[0].json()["fulfillment"]
    assert "tracking_info" not in body and body["notify_customer"] is True


def test_push_tracking_without_url_sends_number_and_company(peer, http):
    """Only what is known goes in tracking_info."""
    open_shop(peer)
    make(peer, http).push_fulfilment(news(tracking_url=None))
    body = peer.seen("POST", f"{API}/fulfillments.json")[0].json()["fulfillment"]
    assert body["tracking_info"] == {"number": "35467891234", "company": "Aramex"}


def test_push_already_fulfilled_is_success_without_a_post(peer, http):
    """Nothing open any more: the order was fulfilled, and nothing is sent."""
    peer.on("GET", f"{API}/orders/{ORDER_ID}/fulfillment_orders.json",
            Reply(200, json=fixture("fulfillment_orders_closed.json")))
    make(peer, http).push_fulfilment(news())
    assert peer.seen("POST") == []


def test_push_retried_after_a_timeout_fulfils_once(peer, http):
    """Shopify fulfilled but answered too late: the retry finds nothing open and stops."""
    peer.on("GET", f"{API}/orders/{ORDER_ID}/fulfillment_orders.json",
            Reply(200, json=fixture("fulfillment_orders_open.json")),
            Reply(200, json=fixture("fulfillment_orders_closed.json")))
    peer.on("POST", f"{API}/fulfillments.json",
            Reply(201, json=fixture("fulfillment_created.json"), delay=5))
    channel = make(peer, http, timeout=1.5)
    with pytest.raises(ChannelError) as slow:
        channel.push_fulfilment(news())
    assert slow.value.transient and "did not answer within 1.5 s" in slow.value.message
    channel.push_fulfilment(news())
    assert len(peer.seen("POST", f"{API}/fulfillments.json")) == 1


def test_push_on_hold_is_refused_with_the_reason(peer, http):
    """A fulfillment order on hold cannot be fulfilled until someone releases it."""
    held = fixture("fulfillment_orders_open.json")
    held["fulfillment_orders"][0]["status"] = "on_hold"
    peer.on("GET", f"{API}/orders/{ORDER_ID}/fulfillment_orders.json", Reply(200, json=held))
    with pytest.raises(ChannelRefused, match="on hold"):
        make(peer, http).push_fulfilment(news())
    assert peer.seen("POST") == []


# -- failures -------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(peer, http, status):
    """Shopify failing is retried later."""
    peer.on("GET", f"{API}/orders.json", Reply(status, json={"errors": "Internal"}))
    with pytest.raises(ChannelError) as failed:
        make(peer, http).fetch_orders(None)
    assert failed.value.transient and str(status) in failed.value.message


def test_rate_limit_is_transient_and_says_when_to_retry(peer, http):
    """429 with Retry-After: retried, and the message says how long Shopify asked to wait."""
    peer.on("GET", f"{API}/orders.json",
            Reply(429, json={"errors": "Exceeded 2 calls per second for api client."},
                  headers=(("Retry-After", "2.0"),)))
    with pytest.raises(ChannelError) as limited:
        make(peer, http).fetch_orders(None)
    assert limited.value.transient and "retry after 2.0 s" in limited.value.message


def test_timeout_is_transient(peer, http):
    """A shop slower than our timeout is retried later."""
    peer.on("GET", f"{API}/orders.json", Reply(200, json={"orders": []}, delay=5))
    with pytest.raises(ChannelError) as slow:
        make(peer, http, timeout=1.5).fetch_orders(None)
    assert slow.value.transient and "did not answer" in slow.value.message


def test_unreachable_shop_is_transient():
    """Nothing listening: a transient error naming the channel."""
    with pytest.raises(ChannelError) as down:
        make().fetch_orders(None)
    assert down.value.transient and "Could not reach Boutique Atlas" in down.value.message


@pytest.mark.parametrize("status", [401, 403, 404, 422])
def test_refusals_are_not_retried(peer, http, status):
    """A wrong token, a missing scope or order, a refused body: ChannelRefused."""
    peer.on("GET", f"{API}/orders.json",
            Reply(status, json={"errors": "[API] Invalid API key or access token"}))
    with pytest.raises(ChannelRefused) as refused:
        make(peer, http).fetch_orders(None)
    assert not refused.value.transient and str(status) in refused.value.message
    assert "shpat_test_token" not in refused.value.message


def test_malformed_json_is_an_error(peer, http):
    """An answer cut short (or a proxy's HTML page) is a ChannelError."""
    peer.on("GET", f"{API}/orders.json", Reply(200, body=b'{"orders": [{"id": 58'))
    with pytest.raises(ChannelError, match="malformed JSON"):
        make(peer, http).fetch_orders(None)


def test_no_shop_address_is_refused():
    """A channel saved without its address says so instead of calling nowhere."""
    with pytest.raises(ChannelRefused, match="no shop address"):
        make(base_url=None).fetch_orders(None)


def test_adapter_for_shopify_kind_is_the_shopify_channel():
    """The registry hands Shopify channels to this adapter."""
    config = ChannelConfig(id=1, code="s", name="S", kind="shopify")
    assert isinstance(adapter_for(config), ShopifyChannel)
    assert adapter_for(replace(config, kind="manual")) is None
