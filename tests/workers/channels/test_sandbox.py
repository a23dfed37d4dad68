"""The sandbox adapter against the sandbox marketplace served over real HTTP by the live server."""

import hashlib
import hmac
import json
from dataclasses import replace

import pytest
import requests
from sqlalchemy import select

from extensions import db
from models.intake.incoming import IncomingLine
from models.sandbox import SandboxShopOrder
from tests.blueprints.test_sandbox_carrier import closed_port_url
from workers.channels import ChannelConfig, ChannelError, ChannelRefused, Fulfilment, adapter_for
from workers.channels.sandbox import SandboxChannel

SECRET = "sandbox-webhook-secret"
ORDER = {
    "customer": {"name": "خديجة بناني", "phone": "0612345678"},
    "shipping": {"address": "Résidence Al Manar, Bd Ghandi", "city": "Casablanca",
                 "region": "Casablanca-Settat", "method": "Livraison express 24h"},
    "items": [{"sku": "CAF-BRD-M", "name": "Caftan brodé", "quantity": 1,
               "unit_price_cents": 39900},
              {"sku": "SAV-NOIR-200", "name": "Savon noir", "quantity": 2,
               "unit_price_cents": 7500}],
    "note": "Appeler avant la livraison",
}


@pytest.fixture
def config(live_server) -> ChannelConfig:
    """The sandbox marketplace as a manager would configure it."""
    return ChannelConfig(id=1, code="sandbox", name="Sandbox Market", kind="sandbox",
                         base_url=f"{live_server}/sandbox/marketplace", api_key="shop-key",
                         webhook_secret=SECRET, timeout=2.0)


@pytest.fixture
def shop(config):
    """The adapter with its own HTTP session, closed afterwards."""
    with requests.Session() as http:
        yield SandboxChannel(config, http)


@pytest.fixture
def place(live_server):
    """place(**fields) -> the number of a new order placed in the marketplace over HTTP."""

    def place_order(**fields) -> str:
        """POST the order as the shop's storefront would."""
        resp = requests.post(f"{live_server}/sandbox/marketplace/orders",
                             json={**ORDER, **fields}, timeout=5,
                             headers={"Authorization": "Bearer shop-key"})
        assert resp.status_code == 201, resp.text
        return resp.json()["number"]

    return place_order


@pytest.fixture
def misbehave(live_server):
    """misbehave(mode, **options): make the marketplace's next calls misbehave."""

    def set_mode(mode: str, **options) -> None:
        """POST the switch to the live server."""
        resp = requests.post(f"{live_server}/sandbox/marketplace/misbehave",
                             json={"mode": mode, **options}, timeout=5)
        assert resp.status_code == 200, resp.text

    return set_mode


def news(number: str, key: str = "news-1", **changes) -> Fulfilment:
    """The order shipped with the sandbox carrier."""
    values = dict(external_id=number, idempotency_key=key, tracking_number="SBX0000000042",
                  carrier_name="Sandbox Express", tracking_url=None)
    values.update(changes)
    return Fulfilment(**values)


def stored(number: str) -> SandboxShopOrder:
    """The marketplace's record of an order, fresh from the database."""
    db.session.expire_all()
    return db.session.execute(select(SandboxShopOrder).filter_by(number=number)).scalar_one()


def signed(body: bytes, secret: str = SECRET) -> dict:
    """The headers of a sandbox webhook delivery."""
    return {"X-Sandbox-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "X-Sandbox-Delivery": "dlv-42", "Content-Type": "application/json"}


# -- polling --------------------------------------------------------------------------
def test_fetch_maps_an_order_field_by_field(shop, place):
    """Arabic and French text arrive as written; lines, amount and note as sold."""
    number = place()
    [order] = shop.fetch_orders(None).orders
    assert order.external_id == number
    assert order.customer_name == "خديجة بناني" and order.phone == "0612345678"
    assert order.address == "Résidence Al Manar, Bd Ghandi"
    assert (order.city, order.region) == ("Casablanca", "Casablanca-Settat")
    assert order.lines == [IncomingLine("CAF-BRD-M", 1, 39900, "Caftan brodé"),
                           IncomingLine("SAV-NOIR-200", 2, 7500, "Savon noir")]
    assert order.cod_amount_cents == 54900 and order.currency == "MAD"
    assert order.paid is False and order.canceled is False
    assert order.shipping_method == "Livraison express 24h"
    assert order.note == f"Appeler avant la livraison (Sandbox {number})"
    assert order.placed_at == stored(number).created_at


def test_fetch_prepaid_order_has_nothing_to_collect(shop, place):
    """Paid on the shop: nothing to collect on delivery."""
    place(payment="prepaid")
    [order] = shop.fetch_orders(None).orders
    assert order.paid is True and order.cod_amount_cents == 0


def test_fetch_pages_and_resumes_from_the_cursor(config, place):
    """Two a page: every order once across runs, and a later change comes back."""
    numbers = [place(number=f"WEB-{n}") for n in range(3)]
    with requests.Session() as http:
        shop = SandboxChannel(config, http)
        shop.page_limit = 2
        first = shop.fetch_orders(None)
        second = shop.fetch_orders(first.cursor)
        assert (first.more, second.more) == (True, False)
        assert [o.external_id for o in first.orders + second.orders] == numbers
        quiet = shop.fetch_orders(second.cursor)
        assert quiet.orders == [] and quiet.cursor == second.cursor
        requests.post(f"{config.base_url}/orders/WEB-1/cancel", timeout=5,
                      headers={"Authorization": "Bearer shop-key"})
        [canceled] = shop.fetch_orders(quiet.cursor).orders
    assert canceled.external_id == "WEB-1" and canceled.canceled is True


def test_fetch_sees_only_its_own_account(shop, place, config):
    """Another key's adapter reads nothing of this shop."""
    place()
    with requests.Session() as http:
        other = SandboxChannel(replace(config, api_key="other-key"), http)
        assert other.fetch_orders(None).orders == []
    assert len(shop.fetch_orders(None).orders) == 1


# -- fulfilment -----------------------------------------------------------------------
def test_push_fulfilment_tells_the_shop_the_tracking(shop, place):
    """The shop's order is fulfilled with what we sent."""
    number = place()
    shop.push_fulfilment(news(number, tracking_url="https://track.example/SBX0000000042"))
    order = stored(number)
    assert order.status == "fulfilled" and order.fulfilment_key == "news-1"
    assert order.fulfilment["tracking_number"] == "SBX0000000042"
    assert order.fulfilment["carrier"] == "Sandbox Express"
    assert order.fulfilment["tracking_url"] == "https://track.example/SBX0000000042"


def test_push_without_tracking_number_still_fulfils(shop, place):
    """Shipped without a code: fulfilled, nothing invented."""
    number = place()
    shop.push_fulfilment(news(number, tracking_number=None, carrier_name=None))
    order = stored(number)
    assert order.status == "fulfilled" and order.fulfilment["tracking_number"] is None


def test_push_retried_after_a_timeout_fulfils_once(shop, place, misbehave):
    """The shop fulfilled but answered late: the retry with the same key changes nothing."""
    number = place()
    misbehave("timeout", seconds=4.0)
    with pytest.raises(ChannelError) as slow:
        shop.push_fulfilment(news(number))
    assert slow.value.transient and "did not answer within 2 s" in slow.value.message
    first = stored(number).fulfilment
    shop.push_fulfilment(news(number))
    assert stored(number).fulfilment == first


def test_push_already_fulfilled_under_another_key_is_success(shop, place):
    """The news sent again with a new key: the shop knows it shipped, nothing changes."""
    number = place()
    shop.push_fulfilment(news(number))
    shop.push_fulfilment(news(number, key="news-2", tracking_number="SBX0000000099"))
    order = stored(number)
    assert order.fulfilment_key == "news-1" and order.fulfilment["tracking_number"] == (
        "SBX0000000042")


def test_push_to_a_canceled_order_is_refused(shop, place, config):
    """The customer canceled on the shop: the push is refused, with the shop's reason."""
    number = place()
    requests.post(f"{config.base_url}/orders/{number}/cancel", timeout=5,
                  headers={"Authorization": "Bearer shop-key"})
    with pytest.raises(ChannelRefused, match="canceled") as refused:
        shop.push_fulfilment(news(number))
    assert "409" in refused.value.message


def test_push_unknown_order_is_refused(shop):
    """An order the shop does not have: 404, not retried."""
    with pytest.raises(ChannelRefused, match="404"):
        shop.push_fulfilment(news("SB-00000000"))


# -- failures -------------------------------------------------------------------------
def test_server_error_is_transient(shop, misbehave):
    """A 500 is retried later, and the next call works."""
    misbehave("500")
    with pytest.raises(ChannelError) as failed:
        shop.fetch_orders(None)
    assert failed.value.transient and "answered 500" in failed.value.message
    assert shop.fetch_orders(None).orders == []


def test_rate_limit_is_transient_and_says_when(shop, misbehave):
    """429: retried, and the message passes on Retry-After."""
    misbehave("429", seconds=7)
    with pytest.raises(ChannelError) as limited:
        shop.fetch_orders(None)
    assert limited.value.transient and "retry after 7 s" in limited.value.message


def test_malformed_answer_is_an_error(shop, misbehave):
    """An answer cut in half is a ChannelError."""
    misbehave("malformed")
    with pytest.raises(ChannelError, match="malformed JSON"):
        shop.fetch_orders(None)


def test_missing_api_key_is_refused(config):
    """No key configured: the marketplace's 401 is a refusal, not retried."""
    with requests.Session() as http:
        shop = SandboxChannel(replace(config, api_key=None), http)
        with pytest.raises(ChannelRefused) as refused:
            shop.fetch_orders(None)
    assert "401" in refused.value.message and not refused.value.transient


def test_unreachable_marketplace_is_transient(config):
    """Nothing listening: a transient error naming the channel."""
    with requests.Session() as http:
        shop = SandboxChannel(replace(config, base_url=closed_port_url()), http)
        with pytest.raises(ChannelError) as down:
            shop.fetch_orders(None)
    assert down.value.transient and "Could not reach Sandbox Market" in down.value.message


# -- webhooks -------------------------------------------------------------------------
def webhook_body(shop, place, topic="order.created") -> bytes:
    """A delivery body carrying the order as the marketplace's API shows it."""
    place()
    listed = requests.get(f"{shop.config.base_url}/orders", timeout=5,
                          headers={"Authorization": "Bearer shop-key"}).json()["orders"]
    return json.dumps({"topic": topic, "order": listed[0]}).encode()


def test_webhook_signed_with_our_secret_verifies_and_parses(shop, place):
    """Hex HMAC of the body verifies; delivery id, topic and order are read."""
    body = webhook_body(shop, place)
    assert shop.verify_webhook(signed(body), body) is True
    delivery = shop.parse_webhook(signed(body), body)
    assert delivery.delivery_id == "dlv-42" and delivery.topic == "order.created"
    assert delivery.orders[0].customer_name == "خديجة بناني"


def test_webhook_tampered_or_signed_with_another_secret_is_refused(shop, place):
    """A changed body or another secret does not verify."""
    body = webhook_body(shop, place)
    assert shop.verify_webhook(signed(body), body.replace(b"54900", b"100")) is False
    assert shop.verify_webhook(signed(body, "other"), body) is False
    assert shop.verify_webhook({"X-Sandbox-Delivery": "dlv-42"}, body) is False


def test_webhook_canceled_topic_carries_the_canceled_order(shop, place):
    """order.canceled: the order with its new status."""
    body = json.loads(webhook_body(shop, place, "order.canceled"))
    body["order"]["status"] = "canceled"
    raw = json.dumps(body).encode()
    assert shop.parse_webhook(signed(raw), raw).orders[0].canceled is True


def test_webhook_without_delivery_id_or_json_is_refused_for_good(shop):
    """Nothing to dedupe on, or nothing to read: not retried."""
    with pytest.raises(ChannelError) as missing:
        shop.parse_webhook({}, b'{"topic": "order.created"}')
    assert not missing.value.transient
    with pytest.raises(ChannelError) as garbled:
        shop.parse_webhook({"X-Sandbox-Delivery": "dlv-1"}, b"{oops")
    assert not garbled.value.transient


def test_adapter_for_sandbox_kind_is_the_sandbox_channel(config):
    """The registry hands sandbox channels to this adapter."""
    assert isinstance(adapter_for(config), SandboxChannel)
