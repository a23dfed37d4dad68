"""WooCommerce adapter against a local peer playing a store's REST API v3 over real HTTP.

Fixtures in tests/fixtures/woocommerce/ follow the documented shapes with invented
values. order.json and webhook_headers.json are the shared fixtures byte for byte: the
signature in the headers is valid for order.json's exact bytes with SECRET.
"""

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from models.intake.incoming import Catalogue, CatalogueItem, IncomingLine, check_order
from tests.blueprints.test_sandbox_carrier import closed_port_url
from tests.workers.carriers.peer import Peer, Reply
from workers.channels import ChannelConfig, ChannelError, ChannelRefused, Fulfilment
from workers.channels.woocommerce import WooCommerceChannel

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "woocommerce"
API = "/wp-json/wc/v3"
SECRET = "test_wc_webhook_secret"
ORDER = f"{API}/orders/4821"
TRACKED_NOTE = ("Shipped with Aramex, tracking 35467891234 "
                "https://www.aramex.com/ma/en/track/results?ShipmentNumber=35467891234 "
                "[ref news-4821-1]")


def fixture(name: str):
    """A fixture file decoded."""
    return json.loads((FIXTURES / name).read_text())


def raw(name: str) -> bytes:
    """A fixture file's exact bytes (what a signature covers)."""
    return (FIXTURES / name).read_bytes()


def pages(total: int) -> tuple[tuple[str, str], ...]:
    """WooCommerce's paging headers."""
    return (("X-WP-Total", str(total * 2)), ("X-WP-TotalPages", str(total)))


@pytest.fixture
def peer():
    """A local WooCommerce store on 127.0.0.1."""
    with Peer.running() as running:
        yield running


@pytest.fixture
def http():
    """One HTTP session per test, closed so no socket outlives it."""
    with requests.Session() as session:
        yield session


def make(peer=None, http=None, **changes) -> WooCommerceChannel:
    """A WooCommerce adapter pointed at the peer (at nothing, for offline checks)."""
    values = dict(id=2, code="atlas-wc", name="Boutique Atlas WC", kind="woocommerce",
                  base_url=peer.url if peer else closed_port_url(), api_key="ck_test_key",
                  api_secret="cs_test_secret", webhook_secret=SECRET, timeout=5.0)
    values.update(changes)
    return WooCommerceChannel(ChannelConfig(**values), http)


def news(**changes) -> Fulfilment:
    """Order 4821 shipped with Aramex."""
    values = dict(external_id="4821", idempotency_key="news-4821-1",
                  tracking_number="35467891234", carrier_name="Aramex",
                  tracking_url="https://www.aramex.com/ma/en/track/results?ShipmentNumber=35467891234")
    values.update(changes)
    return Fulfilment(**values)


def delivery_headers(**changes) -> dict:
    """The headers of the fixture's order.created delivery, with changes (None drops one)."""
    values = {**fixture("webhook_headers.json"), **changes}
    return {k: v for k, v in values.items() if v is not None}


def store(peer, *, notes=None, status="processing") -> None:
    """Order 4821's notes, the order itself, and the answers to a note and to completing."""
    peer.on("GET", f"{ORDER}/notes", Reply(200, json=fixture("notes.json") if notes is None
                                           else notes))
    peer.on("GET", ORDER, Reply(200, json={**fixture("order.json"), "status": status}))
    peer.on("POST", f"{ORDER}/notes", Reply(201, json=fixture("note_created.json")))
    peer.on("PUT", ORDER, Reply(200, json={**fixture("order.json"), "status": "completed"}))


# -- polling --------------------------------------------------------------------------
def test_fetch_first_page_asks_for_the_last_week_oldest_change_first(peer, http):
    """No cursor: changes of the last 7 days in UTC, by modification, 100 a page, Basic auth."""
    peer.on("GET", f"{API}/orders", Reply(200, json=fixture("orders_page_1.json"),
                                          headers=pages(2)))
    before = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(days=7, seconds=1)
    page = make(peer, http).fetch_orders(None)
    after = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=7)
    [sent] = peer.seen("GET", f"{API}/orders")
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(
        b"ck_test_key:cs_test_secret").decode()
    asked = datetime.fromisoformat(sent.query.pop("modified_after"))
    assert before <= asked <= after
    assert sent.query == {"dates_are_gmt": "true", "orderby": "modified", "order": "asc",
                          "per_page": "100", "page": "1"}
    assert [o.external_id for o in page.orders] == ["4821", "4822"]
    assert page.more is True


def test_fetch_pages_on_and_resumes_from_the_latest_change(peer, http):
    """Page 2 of the same run, then a new run from the latest date_modified_gmt seen."""
    peer.on("GET", f"{API}/orders",
            Reply(200, json=fixture("orders_page_1.json"), headers=pages(2)),
            Reply(200, json=fixture("orders_page_2.json"), headers=pages(2)),
            Reply(200, json=[], headers=pages(0)))
    first = make(peer, http).fetch_orders(json.dumps({"after": "2025-03-09T00:00:00"}))
    second = make(peer, http).fetch_orders(first.cursor)
    third = make(peer, http).fetch_orders(second.cursor)
    asked = [(s.query["modified_after"], s.query["page"]) for s in peer.seen("GET")]
    # One second of overlap: WooCommerce compares modified_after strictly, to the second.
    assert asked == [("2025-03-08T23:59:59", "1"), ("2025-03-08T23:59:59", "2"),
                     ("2025-03-11T09:22:30", "1")]
    assert (first.more, second.more, third.more) == (True, False, False)
    assert [o.external_id for o in second.orders] == ["4823"]
    assert json.loads(second.cursor) == {"after": "2025-03-11T09:22:31"}
    assert json.loads(third.cursor) == {"after": "2025-03-11T09:22:31"}


def test_fetch_cursor_keeps_the_latest_change_of_every_page(peer, http):
    """A last page of older changes does not move the cursor back."""
    older = fixture("orders_page_2.json")
    older[0]["date_modified_gmt"] = "2025-03-10T00:00:00"
    peer.on("GET", f"{API}/orders",
            Reply(200, json=fixture("orders_page_1.json"), headers=pages(2)),
            Reply(200, json=older, headers=pages(2)))
    channel = make(peer, http)
    second = channel.fetch_orders(channel.fetch_orders("2025-03-09T00:00:00").cursor)
    assert json.loads(second.cursor) == {"after": "2025-03-10T15:03:19"}


def test_fetch_without_total_pages_goes_on_after_a_full_page(peer, http):
    """A host that strips X-WP-TotalPages: a full page means there may be more."""
    full = [dict(fixture("order.json"), id=5000 + n) for n in range(100)]
    peer.on("GET", f"{API}/orders", Reply(200, json=full), Reply(200, json=full[:3]))
    channel = make(peer, http)
    first = channel.fetch_orders(None)
    assert first.more is True and len(first.orders) == 100
    assert channel.fetch_orders(first.cursor).more is False


# -- mapping --------------------------------------------------------------------------
def test_mapping_of_a_cod_order_field_by_field():
    """4821: shipping name and phone, lines at their price, the total to collect."""
    order = make().parse_webhook(delivery_headers(), raw("order.json")).orders[0]
    assert order.external_id == "4821"
    assert order.customer_name == "Salma Benjelloun"
    assert order.phone == "0662457890"
    assert order.address == "45 Boulevard Zerktouni, Residence Al Amal, Etage 3"
    assert order.city == "Casablanca" and order.region == ""
    assert order.lines == [IncomingLine("ARG-BIO-100", 2, 12000, "Huile d'argan bio 100ml"),
                           IncomingLine("TAJ-TC-GR", 1, 21000, "Tajine en terre cuite - Grand")]
    assert order.cod_amount_cents == 48000 and order.currency == "MAD"
    assert order.paid is False and order.canceled is False
    assert order.shipping_method == "Livraison Casablanca"
    assert order.placed_at == datetime(2025, 3, 10, 8, 12, 44)
    assert order.note == "Livraison apres 18h (WooCommerce #4821)"


def test_mapping_of_a_canceled_arabic_order_takes_the_billing_phone(peer, http):
    """4822: Arabic text as written, no shipping phone, canceled."""
    peer.on("GET", f"{API}/orders", Reply(200, json=fixture("orders_page_1.json"),
                                          headers=pages(1)))
    order = make(peer, http).fetch_orders(None).orders[1]
    assert order.customer_name == "محمد التازي"
    assert order.address == "درب السلطان، زنقة 22 رقم 5" and order.city == "الدار البيضاء"
    assert order.phone == "0708 11 22 33"
    assert order.lines == [IncomingLine("SAV-EUC-250", 2, 8000, "Savon noir à l'eucalyptus")]
    assert order.canceled is True and order.cod_amount_cents == 19000


def test_mapping_of_a_card_paid_order_with_accents(peer, http):
    """4823: paid by card (date_paid set), state as region, French note kept."""
    peer.on("GET", f"{API}/orders", Reply(200, json=fixture("orders_page_2.json"),
                                          headers=pages(1)))
    order = make(peer, http).fetch_orders(None).orders[0]
    assert order.customer_name == "Hélène Benchekroun"
    assert order.address == "Résidence Yasmine, Bd Mohammed VI, Appt 12"
    assert order.region == "Tanger-Tétouan-Al Hoceïma"
    assert order.phone == "+212 6 98 76 54 32"
    assert order.paid is True
    assert order.shipping_method == "Livraison gratuite"
    assert order.note == ("Cadeau : merci de ne pas mettre la facture dans le colis "
                          "(WooCommerce #4823)")


def test_mapping_cod_order_with_date_paid_is_not_paid():
    """WooCommerce stamps date_paid on reaching processing; cash is collected on delivery."""
    body = {**fixture("order.json"), "date_paid": "2025-03-10T09:12:47",
            "date_paid_gmt": "2025-03-10T08:12:47"}
    order = make().parse_webhook(delivery_headers(), json.dumps(body).encode()).orders[0]
    assert order.paid is False


@pytest.mark.parametrize("status, canceled", [
    ("cancelled", True), ("refunded", True), ("failed", True), ("processing", False),
    ("on-hold", False), ("completed", False)])
def test_mapping_canceled_statuses(status, canceled):
    """Cancelled, refunded and failed orders are not to be shipped."""
    body = {**fixture("order.json"), "status": status}
    order = make().parse_webhook(delivery_headers(), json.dumps(body).encode()).orders[0]
    assert order.canceled is canceled


def test_mapping_reads_an_older_stores_shipping_phone_from_meta_data():
    """Before WooCommerce 5.6 the shipping phone lived in meta_data."""
    body = fixture("order.json")
    body["shipping"].pop("phone")
    body["billing"]["phone"] = ""
    body["meta_data"].append({"id": 91400, "key": "_shipping_phone", "value": "0661 00 11 22"})
    order = make().parse_webhook(delivery_headers(), json.dumps(body).encode()).orders[0]
    assert order.phone == "0661 00 11 22"


def test_mapped_order_passes_intake_checks_when_its_skus_are_known():
    """What the adapter hands over is an order intake takes as it is."""
    order = make().parse_webhook(delivery_headers(), raw("order.json")).orders[0]
    catalogue = Catalogue({"ARG-BIO-100": CatalogueItem(1, "Argan", 12000, None),
                           "TAJ-TC-GR": CatalogueItem(2, "Tajine", 21000, None)})
    assert check_order(order, catalogue, "MA") == []


# -- webhooks -------------------------------------------------------------------------
def test_verify_webhook_accepts_the_fixture_signature():
    """WooCommerce's base64 HMAC of the exact bytes with the webhook secret verifies."""
    assert make().verify_webhook(delivery_headers(), raw("order.json")) is True


def test_verify_webhook_refuses_a_tampered_body_or_another_secret():
    """One byte changed, another secret, or no signature: not this store."""
    body = raw("order.json").replace(b'"480.00"', b'"48.00"', 1)
    assert make().verify_webhook(delivery_headers(), body) is False
    assert make(webhook_secret="other").verify_webhook(delivery_headers(),
                                                       raw("order.json")) is False
    assert make().verify_webhook(delivery_headers(**{"X-WC-Webhook-Signature": None}),
                                 raw("order.json")) is False


def test_ping_is_accepted_and_carries_nothing():
    """Saving a webhook sends an unsigned form ping that must get a 200."""
    ping_headers = {"Content-Type": "application/x-www-form-urlencoded",
                    "User-Agent": "WooCommerce/9.3.3 Hookshot (WordPress/6.6.2)"}
    channel = make()
    assert channel.verify_webhook(ping_headers, b"webhook_id=7") is True
    delivery = channel.parse_webhook(ping_headers, b"webhook_id=7")
    assert (delivery.delivery_id, delivery.topic, delivery.orders) == ("ping:7", "ping", [])


def test_an_unsigned_body_that_is_not_a_ping_is_refused():
    """Only the exact ping form passes unsigned."""
    assert make().verify_webhook({}, b"webhook_id=7&status=completed") is False
    assert make().verify_webhook({}, raw("order.json")) is False


def test_parse_webhook_reads_delivery_topic_event_and_order():
    """The delivery id names the order too; the event id is the order's state."""
    delivery = make().parse_webhook(delivery_headers(), raw("order.json"))
    assert delivery.delivery_id == "4e2b9c0d8a7f61e3b5c2d9f0a1e7b3c6:4821"
    assert delivery.topic == "order.created"
    assert delivery.event_id == "4821@2025-03-10T08:12:47"
    assert [o.external_id for o in delivery.orders] == ["4821"]


def test_parse_webhook_two_orders_in_one_second_are_two_deliveries():
    """WooCommerce's delivery id is the webhook id and the second: the order tells them apart."""
    other = json.dumps({**fixture("order.json"), "id": 4830}).encode()
    channel = make()
    first = channel.parse_webhook(delivery_headers(), raw("order.json"))
    second = channel.parse_webhook(delivery_headers(), other)
    assert first.delivery_id != second.delivery_id


def test_parse_webhook_redelivery_has_the_same_ids():
    """The same delivery parsed twice is recognisable as one."""
    channel = make()
    first = channel.parse_webhook(delivery_headers(), raw("order.json"))
    again = channel.parse_webhook(delivery_headers(), raw("order.json"))
    assert (again.delivery_id, again.event_id) == (first.delivery_id, first.event_id)


def test_parse_webhook_order_deleted_carries_no_order():
    """order.deleted has only the id: nothing to make or update an order from."""
    delivery = make().parse_webhook(
        delivery_headers(**{"X-WC-Webhook-Topic": "order.deleted"}), b'{"id":4821}')
    assert delivery.orders == [] and delivery.topic == "order.deleted"


def test_parse_webhook_without_delivery_id_or_json_is_refused_for_good():
    """No delivery id, or a body that is not JSON: retrying will not change it."""
    with pytest.raises(ChannelError) as missing:
        make().parse_webhook(delivery_headers(**{"X-WC-Webhook-Delivery-ID": None}),
                             raw("order.json"))
    assert missing.value.transient is False
    with pytest.raises(ChannelError) as garbled:
        make().parse_webhook(delivery_headers(), b"{not json")
    assert garbled.value.transient is False


# -- fulfilment -----------------------------------------------------------------------
def test_push_adds_a_customer_note_with_tracking_then_completes(peer, http):
    """The note names carrier, number, link and our key; then the order is completed."""
    store(peer)
    make(peer, http).push_fulfilment(news())
    [note] = peer.seen("POST", f"{ORDER}/notes")
    assert note.json() == {"note": TRACKED_NOTE, "customer_note": True}
    [put] = peer.seen("PUT", ORDER)
    assert put.json() == {"status": "completed"}
    assert put.headers["Authorization"].startswith("Basic ")


def test_push_without_tracking_says_so(peer, http):
    """Shipped without a code: the customer is told so, and the order completed."""
    store(peer)
    make(peer, http).push_fulfilment(news(tracking_number=None, carrier_name=None,
                                          tracking_url=None))
    assert peer.seen("POST", f"{ORDER}/notes")[0].json()["note"] == (
        "Shipped (no tracking number) [ref news-4821-1]")
    assert len(peer.seen("PUT", ORDER)) == 1


def test_push_retried_after_a_timeout_writes_one_note(peer, http):
    """The store saved the note but answered late: the retry finds it and only completes."""
    store(peer)
    saved = [*fixture("notes.json"), fixture("note_created.json")]
    peer.on("GET", f"{ORDER}/notes", Reply(200, json=fixture("notes.json")),
            Reply(200, json=saved))
    peer.on("POST", f"{ORDER}/notes", Reply(201, json=fixture("note_created.json"), delay=5))
    channel = make(peer, http, timeout=1.5)
    with pytest.raises(ChannelError) as slow:
        channel.push_fulfilment(news())
    assert slow.value.transient
    channel.push_fulfilment(news())
    assert len(peer.seen("POST", f"{ORDER}/notes")) == 1
    assert len(peer.seen("PUT", ORDER)) == 1


def test_push_already_told_and_completed_sends_nothing(peer, http):
    """A retry after everything went through: nothing is written again."""
    store(peer, notes=[fixture("note_created.json")], status="completed")
    make(peer, http).push_fulfilment(news())
    assert peer.seen("POST") == [] and peer.seen("PUT") == []


def test_push_already_told_leaves_an_order_the_shop_moved_on(peer, http):
    """The shop refunded the order since our note: our "completed" must not undo that."""
    store(peer, notes=[fixture("note_created.json")], status="refunded")
    make(peer, http).push_fulfilment(news())
    assert peer.seen("PUT") == []


# -- failures -------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_transient(peer, http, status):
    """The store failing is retried later."""
    peer.on("GET", f"{API}/orders", Reply(status, body=b"<html>Error establishing a database"))
    with pytest.raises(ChannelError) as failed:
        make(peer, http).fetch_orders(None)
    assert failed.value.transient and str(status) in failed.value.message


def test_timeout_is_transient(peer, http):
    """A store slower than our timeout is retried later."""
    peer.on("GET", f"{API}/orders", Reply(200, json=[], delay=5))
    with pytest.raises(ChannelError) as slow:
        make(peer, http, timeout=1.5).fetch_orders(None)
    assert slow.value.transient and "did not answer" in slow.value.message


def test_wrong_keys_are_refused(peer, http):
    """401 with WooCommerce's error: refused, in its words, without our secret."""
    peer.on("GET", f"{API}/orders", Reply(401, json={
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.", "data": {"status": 401}}))
    with pytest.raises(ChannelRefused) as refused:
        make(peer, http).fetch_orders(None)
    assert "401" in refused.value.message and "cannot list resources" in refused.value.message
    assert "cs_test_secret" not in refused.value.message


def test_unknown_order_on_push_is_refused(peer, http):
    """404 for the order's notes: the same push will not succeed later."""
    peer.on("GET", f"{ORDER}/notes", Reply(404, json={
        "code": "woocommerce_rest_order_invalid_id", "message": "Invalid order ID."}))
    with pytest.raises(ChannelRefused, match="Invalid order ID"):
        make(peer, http).push_fulfilment(news())


def test_malformed_answer_is_an_error(peer, http):
    """A page of HTML where JSON was due (a caching plugin, a login page) is an error."""
    peer.on("GET", f"{API}/orders", Reply(200, body=b"<!doctype html><title>Log in</title>"))
    with pytest.raises(ChannelError, match="malformed JSON") as garbled:
        make(peer, http).fetch_orders(None)
    assert garbled.value.transient
