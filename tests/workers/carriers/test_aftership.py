"""AfterShip adapter against a local peer playing api.aftership.com over real HTTP.

Fixtures in tests/fixtures/aftership/ follow the 2025-01 shapes (envelope, tracking,
checkpoints, webhook body) with invented values. WEBHOOK_SIGNATURE was computed
outside Python (openssl dgst -sha256 -hmac ... -binary | base64) over the exact bytes
of webhook_delivered.json: reformatting that file changes it.
"""

import hashlib
import json
import socket
from datetime import datetime
from pathlib import Path

import pytest
import requests

from tests.workers.carriers.peer import Peer, Reply
from workers.carriers import (
    CarrierConfig,
    CarrierError,
    CarrierRefused,
    ParcelRequest,
    Registration,
    adapter_for,
)
from workers.carriers.aftership import AfterShipCarrier

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "aftership"
API = "/tracking/2025-01"
SECRET = "whsec_codboard_test_7f3a"
WEBHOOK_SIGNATURE = "ZM04ZJs2SpFVxY4Uat4a13zXhjyY+Cbg/iyEUlN7O1I="
NUMBER_A = "RR482100735MA"
NUMBER_B = "RR482100912MA"


def fixture(name: str):
    """A fixture file decoded."""
    return json.loads((FIXTURES / name).read_text())


def raw(name: str) -> bytes:
    """A fixture file's exact bytes (what a signature covers)."""
    return (FIXTURES / name).read_bytes()


def parcel(**changes) -> ParcelRequest:
    """The parcel of order #2051, with its courier's tracking number."""
    values = dict(order_id=2051, reference="#2051", idempotency_key="parcel-2051-1",
                  customer_name="Salma Benjelloun", phone="+212600000101",
                  address="12 rue Talaa Kebira", city="Fes", cod_amount_cents=24900,
                  currency="MAD", items=(("TAJ-01", "Tajine", 1),), tracking_number=NUMBER_A)
    values.update(changes)
    return ParcelRequest(**values)


@pytest.fixture
def peer():
    """A local AfterShip on 127.0.0.1."""
    with Peer.running() as running:
        yield running


@pytest.fixture
def http():
    """One HTTP session per test, closed so no socket outlives it."""
    with requests.Session() as session:
        yield session


def make(peer=None, http=None, *, timeout=5.0, **changes) -> AfterShipCarrier:
    """An AfterShip adapter pointed at the peer (at nothing, for offline checks)."""
    values = dict(id=1, code="amana", name="Amana via AfterShip", kind="aftership",
                  base_url=peer.url + API if peer else None, api_key="asak_test_key",
                  webhook_secret=SECRET, settings={"slug": "amana"}, timeout=timeout)
    values.update(changes)
    return adapter_for(CarrierConfig(**values), http)


# -- register -------------------------------------------------------------------
def test_register_posts_the_tracking_with_slug_order_and_customer(peer, http):
    """A new number is POSTed flat with slug, order and customer; its number comes back."""
    peer.on("POST", f"{API}/trackings", Reply(201, json=fixture("create_tracking.json")))
    registration = make(peer, http).register(parcel())
    assert registration == Registration(tracking_number=NUMBER_A, label_url=None)
    [sent] = peer.seen("POST", f"{API}/trackings")
    assert sent.headers["as-api-key"] == "asak_test_key"
    assert sent.headers["Idempotency-Key"] == "parcel-2051-1"
    body = sent.json()
    assert body["tracking_number"] == NUMBER_A and body["slug"] == "amana"
    assert body["order_id"] == "2051" and body["order_number"] == "#2051"
    assert body["customers"] == [{"name": "Salma Benjelloun", "phone_number": "+212600000101"}]


def test_register_without_slug_lets_aftership_detect_the_courier(peer, http):
    """No slug configured: none is sent."""
    peer.on("POST", f"{API}/trackings", Reply(201, json=fixture("create_tracking.json")))
    make(peer, http, settings={}).register(parcel())
    assert "slug" not in peer.seen("POST")[0].json()


def test_register_already_exists_reads_the_existing_tracking(peer, http):
    """Meta 4003 on a second try is success: the existing tracking is read back."""
    peer.on("POST", f"{API}/trackings",
            Reply(201, json=fixture("create_tracking.json")),
            Reply(400, json=fixture("create_already_exists.json")))
    listed = fixture("trackings_page_1.json")
    listed["data"]["pagination"] = {"total": 1, "next_cursor": None, "has_next_page": False}
    peer.on("GET", f"{API}/trackings", Reply(200, json=listed))
    carrier = make(peer, http)
    first = carrier.register(parcel())
    again = carrier.register(parcel())
    assert first == again == Registration(tracking_number=NUMBER_A)
    [lookup] = peer.seen("GET", f"{API}/trackings")
    assert lookup.query["tracking_numbers"] == NUMBER_A and lookup.query["slug"] == "amana"


def test_register_already_exists_but_not_listed_is_transient(peer, http):
    """4003 while the list does not show the number yet: retried later, not refused."""
    peer.on("POST", f"{API}/trackings", Reply(400, json=fixture("create_already_exists.json")))
    peer.on("GET", f"{API}/trackings", Reply(200, json={
        "meta": {"code": 200}, "data": {"pagination": {"has_next_page": False},
                                        "trackings": []}}))
    with pytest.raises(CarrierError) as raised:
        make(peer, http).register(parcel())
    assert raised.value.transient


def test_register_without_tracking_number_is_refused(peer, http):
    """AfterShip only follows numbers: without one nothing is sent."""
    with pytest.raises(CarrierRefused, match="AfterShip needs a tracking number"):
        make(peer, http).register(parcel(tracking_number=None))
    assert peer.seen() == []


def test_register_client_error_is_refused_with_aftership_message(peer, http):
    """A 4xx other than 4003 is refused with AfterShip's meta message."""
    peer.on("POST", f"{API}/trackings", Reply(400, json=fixture("create_invalid_number.json")))
    with pytest.raises(CarrierRefused, match="The value of `tracking_number` is invalid") as raised:
        make(peer, http).register(parcel())
    assert not raised.value.transient


# -- track ------------------------------------------------------------------------
def test_track_follows_the_cursor_and_returns_one_event_per_checkpoint(peer, http):
    """Both pages are read; each checkpoint becomes an event with subtag, text, place, UTC."""
    peer.on("GET", f"{API}/trackings",
            Reply(200, json=fixture("trackings_page_1.json")),
            Reply(200, json=fixture("trackings_page_2.json")))
    events = make(peer, http).track([NUMBER_A, NUMBER_B])
    first, second = peer.seen("GET", f"{API}/trackings")
    assert first.query["tracking_numbers"] == f"{NUMBER_A},{NUMBER_B}"
    assert "cursor" not in first.query and second.query["cursor"] == "eyJwYWdlIjoyfQ"
    assert [(e.tracking_number, e.code) for e in events] == [
        (NUMBER_A, "InfoReceived_001"), (NUMBER_A, "InTransit_007"),
        (NUMBER_A, "InTransit_003"), (NUMBER_B, "Exception_003"), (NUMBER_B, "Exception_010")]
    departed = events[1]
    assert departed.occurred_at == datetime(2025, 6, 3, 6, 40)  # 07:40+01:00
    assert departed.text == "Depart du centre de tri" and departed.location == "Tanger, MA"
    assert departed.event_id is None
    assert events[0].occurred_at == datetime(2025, 6, 2, 10, 14)  # no offset: as written
    carrier = make(peer, http)
    assert [carrier.map_status(e.code, e.text) for e in events] == [
        "created", "shipped", "shipped", "package_issue", "in_return"]


def test_track_matches_numbers_as_asked(peer, http):
    """AfterShip's spelling of a number maps back to the one we asked for."""
    peer.on("GET", f"{API}/trackings", Reply(200, json=fixture("trackings_page_2.json")))
    events = make(peer, http).track([NUMBER_B.lower()])
    assert {e.tracking_number for e in events} == {NUMBER_B.lower()}


def test_track_ignores_trackings_not_asked_for(peer, http):
    """A tracking the filter let through that we did not ask for brings no events."""
    peer.on("GET", f"{API}/trackings", Reply(200, json=fixture("trackings_page_2.json")))
    assert make(peer, http).track([NUMBER_A]) == []


def test_track_splits_numbers_into_batches(peer, http):
    """More numbers than batch_size take one list call per batch."""
    empty = {"meta": {"code": 200}, "data": {"pagination": {"has_next_page": False},
                                             "trackings": []}}
    peer.on("GET", f"{API}/trackings", Reply(200, json=empty))
    numbers = [f"RR{n:09d}MA" for n in range(AfterShipCarrier.batch_size + 1)]
    make(peer, http).track(numbers)
    calls = peer.seen("GET", f"{API}/trackings")
    assert [len(c.query["tracking_numbers"].split(",")) for c in calls] == [
        AfterShipCarrier.batch_size, 1]


def test_track_duplicated_and_out_of_order_checkpoints_keep_their_own_times(peer, http):
    """A repeated checkpoint gives an equal dedupe key; order is left as sent."""
    peer.on("GET", f"{API}/trackings", Reply(200, json=fixture("trackings_repeats.json")))
    arrived, received, departed, arrived_again = make(peer, http).track([NUMBER_A])
    assert arrived.dedupe_key() == arrived_again.dedupe_key()
    assert len({arrived.dedupe_key(), received.dedupe_key(), departed.dedupe_key()}) == 3
    assert arrived.occurred_at == datetime(2025, 6, 3, 17, 5)
    assert received.occurred_at < departed.occurred_at < arrived.occurred_at


def test_track_timeout_is_transient(peer, http):
    """A peer slower than config.timeout gives a transient error naming the carrier."""
    peer.on("GET", f"{API}/trackings",
            Reply(200, json=fixture("trackings_page_2.json"), delay=30))
    with pytest.raises(CarrierError, match="Amana via AfterShip") as raised:
        make(peer, http, timeout=1.5).track([NUMBER_B])
    assert raised.value.transient


def test_track_unreachable_is_transient(http):
    """Nothing listening on the port: a transient error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = CarrierConfig(id=1, code="a", name="AfterShip", kind="aftership",
                           base_url=f"http://127.0.0.1:{port}{API}", api_key="k")
    with pytest.raises(CarrierError, match="Could not reach AfterShip") as raised:
        AfterShipCarrier(config, http).track([NUMBER_A])
    assert raised.value.transient


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_track_server_error_or_rate_limit_is_transient(peer, http, status):
    """5xx and 429 are retried later."""
    peer.on("GET", f"{API}/trackings", Reply(status, json={
        "meta": {"code": status, "message": "Try again", "type": "InternalError"}, "data": {}}))
    with pytest.raises(CarrierError) as raised:
        make(peer, http).track([NUMBER_A])
    assert raised.value.transient and not isinstance(raised.value, CarrierRefused)


@pytest.mark.parametrize("body", [b"<html>Bad gateway</html>", b'{"meta": {"code": 200}, "da',
                                  b'["not", "an", "envelope"]'])
def test_track_malformed_json_is_transient(peer, http, body):
    """An answer that is not an AfterShip envelope is a transient 'malformed JSON'."""
    peer.on("GET", f"{API}/trackings", Reply(200, body=body))
    with pytest.raises(CarrierError, match="malformed JSON") as raised:
        make(peer, http).track([NUMBER_A])
    assert raised.value.transient


def test_track_bad_api_key_is_refused(peer, http):
    """401 is refused with AfterShip's message, not retried."""
    peer.on("GET", f"{API}/trackings", Reply(401, json={
        "meta": {"code": 401, "message": "Invalid API key.", "type": "Unauthorized"},
        "data": {}}))
    with pytest.raises(CarrierRefused, match="Invalid API key"):
        make(peer, http).track([NUMBER_A])


# -- webhooks -------------------------------------------------------------------------
def test_verify_webhook_accepts_a_good_signature():
    """The known base64 HMAC-SHA256 of the raw body passes, header name in any case."""
    carrier = make()
    body = raw("webhook_delivered.json")
    assert carrier.verify_webhook({"aftership-hmac-sha256": WEBHOOK_SIGNATURE}, body)
    assert carrier.verify_webhook({"Aftership-Hmac-Sha256": WEBHOOK_SIGNATURE}, body)


def test_verify_webhook_reads_headers_as_received_over_http(peer, http):
    """The headers and bytes a real delivery arrives with verify as they are."""
    peer.on("POST", "/hooks/aftership", Reply(200))
    http.post(peer.url + "/hooks/aftership", data=raw("webhook_delivered.json"),
              headers={"aftership-hmac-sha256": WEBHOOK_SIGNATURE,
                       "Content-Type": "application/json"}, timeout=5)
    [delivery] = peer.seen("POST", "/hooks/aftership")
    assert make(peer, http).verify_webhook(delivery.headers, delivery.body)


@pytest.mark.parametrize("case", ["tampered", "wrong_secret", "missing_header", "no_secret",
                                  "garbage_header"])
def test_verify_webhook_rejects_a_bad_signature(case):
    """Tampered body, wrong secret, missing or non-ASCII header, no secret: rejected."""
    body = raw("webhook_delivered.json")
    headers = {"aftership-hmac-sha256": WEBHOOK_SIGNATURE}
    carrier = make()
    if case == "tampered":
        body = body.replace(b"Delivered_004", b"Delivered_001")
    elif case == "wrong_secret":
        carrier = make(webhook_secret="another_secret")
    elif case == "missing_header":
        headers = {}
    elif case == "no_secret":
        carrier = make(webhook_secret=None)
    else:
        headers = {"aftership-hmac-sha256": "sig\u00e9"}
    assert carrier.verify_webhook(headers, body) is False


def test_parse_webhook_returns_event_id_and_checkpoint_events():
    """Delivery id is event_id; every checkpoint comes back, the last one Delivered."""
    webhook = make().parse_webhook({}, raw("webhook_delivered.json"))
    assert webhook.delivery_id == "3a9d6e21-7b4c-4f0e-8d15-c2e7a4b90f63"
    assert [e.code for e in webhook.events] == [
        "InfoReceived_001", "InTransit_007", "InTransit_003", "OutForDelivery_001",
        "Delivered_004"]
    delivered = webhook.events[-1]
    assert delivered.tracking_number == NUMBER_A
    assert delivered.occurred_at == datetime(2025, 6, 4, 12, 47)
    assert make().map_status(delivered.code, delivered.text) == "delivered"


def test_parse_webhook_and_track_agree_on_dedupe_keys(peer, http):
    """A checkpoint seen by sync and again by webhook is stored once."""
    peer.on("GET", f"{API}/trackings", Reply(200, json=fixture("trackings_page_1.json")))
    carrier = make(peer, http)
    synced = {e.dedupe_key() for e in carrier.track([NUMBER_A])}
    hooked = {e.dedupe_key() for e in carrier.parse_webhook({}, raw("webhook_delivered.json"))
              .events}
    assert synced < hooked


def test_parse_webhook_without_checkpoints_reports_the_tag():
    """An Expired tracking with no checkpoints gives one event for its tag, at ts."""
    webhook = make().parse_webhook({}, raw("webhook_expired.json"))
    [event] = webhook.events
    assert event.code == "Expired_001" and event.tracking_number == "RR482100999MA"
    assert event.occurred_at == datetime(2025, 7, 10, 0, 5)
    assert make().map_status(event.code) == "ignore"


def test_parse_webhook_without_event_id_uses_the_body_hash():
    """No event_id: the delivery id is the SHA-256 of the raw body."""
    document = fixture("webhook_delivered.json")
    del document["event_id"]
    body = json.dumps(document).encode()
    assert make().parse_webhook({}, body).delivery_id == hashlib.sha256(
        body).hexdigest()


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"event": "tracking_update"}',
                                  b'{"msg": {"tag": "InTransit"}}', b"\xff\xfe"])
def test_parse_webhook_malformed_is_refused(body):
    """A body without a tracking and its number is refused."""
    with pytest.raises(CarrierRefused, match="AfterShip webhook"):
        make().parse_webhook({}, body)


# -- statuses ---------------------------------------------------------------------------
@pytest.mark.parametrize(("code", "expected"), [
    ("InfoReceived_001", "created"),
    ("InTransit", "shipped"),
    ("InTransit_007", "shipped"),
    ("OutForDelivery_001", "shipped"),
    ("AvailableForPickup_001", "shipped"),
    ("AttemptFail_002", "package_issue"),
    ("Exception_003", "package_issue"),
    ("Exception_021", "package_issue"),  # newer subtag: its tag decides
    ("Delivered_004", "delivered"),
    ("Pending_001", "ignore"),
    ("Expired", "ignore"),
])
def test_map_status_follows_tags(code, expected):
    """Each documented tag maps to its status, with or without a subtag."""
    assert make().map_status(code) == expected


@pytest.mark.parametrize("code", ["Exception_010", "Exception_011"])
def test_map_status_return_to_sender_subtag_is_in_return(code):
    """Returning / returned to sender beat the Exception tag."""
    assert make().map_status(code, "Retour a l'expediteur") == "in_return"


@pytest.mark.parametrize("code", ["Lost", "Lost_001", "", "InTransitX_001"])
def test_map_status_unknown_code_is_none(code):
    """A tag AfterShip might add later stays unmapped, never guessed."""
    assert make().map_status(code) is None


def test_map_status_manager_table_wins():
    """The manager's exact code beats our rules; their tag entry beats our tag rule only."""
    carrier = make(status_map={"Exception_003": "in_return",
                                           "Exception": "ignore", "Lost": "package_issue"})
    assert carrier.map_status("Exception_003") == "in_return"
    assert carrier.map_status("Exception_005") == "ignore"
    assert carrier.map_status("Exception_010") == "in_return"
    assert carrier.map_status("Lost_002") == "package_issue"


# -- connection test and registry ------------------------------------------------------
def test_test_connection_counts_couriers(peer, http):
    """GET /couriers with the key says how many couriers are active."""
    peer.on("GET", f"{API}/couriers", Reply(200, json=fixture("couriers.json")))
    assert "2 couriers active" in make(peer, http).test_connection()
    assert peer.seen("GET")[0].headers["as-api-key"] == "asak_test_key"


def test_test_connection_warns_when_the_slug_is_not_active(peer, http):
    """A slug missing from the account's couriers is pointed out."""
    peer.on("GET", f"{API}/couriers", Reply(200, json=fixture("couriers.json")))
    message = make(peer, http, settings={"slug": "ctm"}).test_connection()
    assert '"ctm" is not among them' in message


def test_adapter_for_kind_aftership_is_this_adapter(peer, http):
    """The registry's "aftership" kind builds AfterShipCarrier with its slug setting."""
    carrier = make(peer, http)
    assert isinstance(carrier, AfterShipCarrier) and not carrier.uses_status_table
    assert [key for key, _label, _help in carrier.settings_fields] == ["slug"]
