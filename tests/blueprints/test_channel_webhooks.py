"""Channel webhooks: signed on the raw body (401 and nothing stored otherwise), stored once
per delivery and per merchant action, answered before anything is applied."""

import base64
import hashlib
import hmac
import json
from pathlib import Path

from sqlalchemy import func, select

from models import ChannelWebhook, Order, db
from tests.channel_support import ORDER, SECRET, shopify_order

URL = "/api/v1/channels/boutique/webhook"


def signed(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(body: bytes, delivery: str = "d-1", event: str = "e-1",
            topic: str = "orders/create", signature: str | None = None) -> dict:
    return {"X-Shopify-Hmac-Sha256": signature or signed(body), "X-Shopify-Webhook-Id": delivery,
            "X-Shopify-Event-Id": event, "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": "boutique.myshopify.com", "Content-Type": "application/json"}


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(ChannelWebhook))


def test_a_signed_delivery_is_stored_answered_202_and_applied_by_the_job(
        app, client, shopify, run_jobs):
    body = ORDER.read_bytes()  # the documented bytes and signature, untouched
    response = client.post(URL, data=body, headers=headers(
        body, signature="F1DS1Xg6SNXOoZ9/gNw/LNdNgIPeFM6VxUQg/1Z76NE="))
    assert response.status_code == 202
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0  # not applied yet

    run_jobs()
    order = db.session.scalar(select(Order))
    sent = json.loads(body)
    assert order.external_id == str(sent["id"])
    assert order.city == sent["shipping_address"]["city"]
    assert [line.sku for line in order.lines] == [i["sku"] for i in sent["line_items"]]
    assert order.confirmation_status == "new" and order.push_status == "sent"
    hook = db.session.scalar(select(ChannelWebhook))
    assert hook.processed_at is not None and hook.result.startswith("1 new")


def test_a_bad_signature_is_401_and_writes_nothing(app, client, shopify):
    body = ORDER.read_bytes()
    tampered = body.replace(b"#1042", b"#1043")
    assert tampered != body
    for sent, signature in ((tampered, signed(body)), (body, signed(body, "wrong-secret")),
                            (body, "")):
        response = client.post(URL, data=sent, headers=headers(body, signature=signature or "x"))
        assert response.status_code == 401
        assert response.json["error"] == "Missing or invalid signature."
    no_header = headers(body)
    del no_header["X-Shopify-Hmac-Sha256"]
    assert client.post(URL, data=body, headers=no_header).status_code == 401
    assert stored() == 0


def test_redeliveries_are_recognised_by_delivery_id_and_by_event_id(
        app, client, shopify, run_jobs):
    body = json.dumps(shopify_order(7)).encode()
    assert client.post(URL, data=body, headers=headers(body, "d-1", "e-1")).status_code == 202
    again = client.post(URL, data=body, headers=headers(body, "d-1", "e-1"))
    assert (again.status_code, again.json["status"]) == (200, "duplicate")
    # Shopify's other duplicate: the same merchant action under a new delivery id.
    same_event = client.post(URL, data=body, headers=headers(body, "d-2", "e-1"))
    assert (same_event.status_code, same_event.json["status"]) == (200, "duplicate")
    assert stored() == 1
    run_jobs()
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1


def test_a_later_cancellation_webhook_cancels_the_unconfirmed_order(
        app, client, shopify, run_jobs):
    created = json.dumps(shopify_order(8)).encode()
    canceled = json.dumps(shopify_order(8, cancelled_at="2026-11-28T12:00:00+01:00")).encode()
    client.post(URL, data=created, headers=headers(created, "d-1", "e-1"))
    client.post(URL, data=canceled, headers=headers(canceled, "d-2", "e-2", "orders/cancelled"))
    run_jobs()
    assert db.session.scalar(select(Order.confirmation_status)) == "canceled"


def test_unknown_channels_and_bodies_get_a_clear_json_error(app, client, shopify):
    body = b"{}"
    response = client.post("/api/v1/channels/nope/webhook", data=body, headers=headers(body))
    assert response.status_code == 404 and "nope" in response.json["error"]
    garbage = b"not json at all"
    response = client.post(URL, data=garbage, headers=headers(garbage))
    assert response.status_code == 400
    assert stored() == 0


def test_a_channel_people_feed_takes_no_webhooks(app, client, make_channel):
    make_channel(kind="csv", code="leads")
    body = b"{}"
    response = client.post("/api/v1/channels/leads/webhook", data=body, headers=headers(body))
    assert response.status_code == 404


WOO = Path(__file__).resolve().parent.parent / "fixtures" / "woocommerce"


def test_woocommerce_deliveries_are_verified_stored_once_and_applied(
        app, client, make_channel, make_product, run_jobs):
    body = (WOO / "order.json").read_bytes()
    sent = json.loads(body)
    for item in sent["line_items"]:
        make_product(stock=10, sku=item["sku"])
    make_channel(kind="woocommerce", code="woo", base_url="http://127.0.0.1:9",
                 api_key="ck", api_secret="cs", webhook_secret="test_wc_webhook_secret")
    documented = json.loads((WOO / "webhook_headers.json").read_text())
    url = "/api/v1/channels/woo/webhook"

    forged = dict(documented, **{"X-WC-Webhook-Signature": signed(body, "not-the-secret")})
    assert client.post(url, data=body, headers=forged).status_code == 401
    assert stored() == 0
    assert client.post(url, data=body, headers=documented).status_code == 202
    assert client.post(url, data=body, headers=documented).json["status"] == "duplicate"
    run_jobs()
    order = db.session.scalar(select(Order))
    assert order.external_id == str(sent["id"]) and stored() == 1
    assert [line.sku for line in order.lines] == [i["sku"] for i in sent["line_items"]]
