"""The generic http_json adapter against a local peer playing a small REST courier.

"Rapido" is invented: a typical Moroccan last-mile API with an X-Api-Key header,
one GET per parcel and a history list, local times without an offset.
"""

import hashlib
import hmac
import json
from datetime import datetime

import pytest
import requests

from tests.workers.carriers.peer import Peer, Reply
from workers.carriers import (
    CarrierConfig,
    CarrierError,
    CarrierRefused,
    NotSupported,
    ParcelRequest,
    Registration,
    adapter_for,
    http_json,
)
from workers.carriers.http_json import HttpJsonCarrier

SECRET = "rapido_hook_secret_51c2"
SETTINGS = {
    "create_url": "{base_url}/api/v1/parcels",
    "tracking_path": "data.tracking_number",
    "label_path": "data.label_url",
    "track_url": "{base_url}/api/v1/parcels/{tracking_number}",
    "events_path": "data.history",
    "event_status_path": "status",
    "event_text_path": "comment",
    "event_time_path": "date",
    "event_location_path": "city",
    "event_id_path": "id",
    "timezone": "Africa/Casablanca",
    "auth_header": "X-Api-Key",
    "auth_scheme": "",
    "signature_header": "X-Rapido-Signature",
    "webhook_tracking_path": "parcel.code",
    "delivery_id_header": "X-Rapido-Delivery",
    "cancel_url": "{base_url}/api/v1/parcels/{tracking_number}/cancel",
}
STATUS_MAP = {"PICKED_UP": "shipped", "DELIVERED": "delivered", "REFUSED": "package_issue",
              "Retour expéditeur": "in_return", "NEW": "ignore"}


def history(*rows) -> dict:
    """A Rapido tracking answer with these history rows."""
    return {"success": True, "data": {"tracking_number": "RPD-88120", "history": list(rows)}}


PICKED = {"id": 9101, "status": "PICKED_UP", "comment": "Colis ramassé", "city": "Casablanca",
          "date": "2025-06-10 16:20:00"}
DELIVERED = {"id": 9140, "status": "DELIVERED", "comment": "Livré, montant encaissé",
             "city": "Rabat", "date": "2025-06-11T11:05:00"}


def parcel(**changes) -> ParcelRequest:
    """The parcel of order #3107."""
    values = dict(order_id=3107, reference="#3107", idempotency_key="parcel-3107-1",
                  customer_name="Youness Alaoui", phone="+212600000404",
                  address="Appt 4, 7 avenue Fal Ould Oumeir, Agdal", city="Rabat",
                  cod_amount_cents=34950, currency="MAD",
                  items=(("BRB-02", "Babouches", 2), ("THE-10", "Thé vert", 1)))
    values.update(changes)
    return ParcelRequest(**values)


@pytest.fixture
def peer():
    """A local Rapido on 127.0.0.1."""
    with Peer.running() as running:
        yield running


@pytest.fixture
def http():
    """One HTTP session per test, closed so no socket outlives it."""
    with requests.Session() as session:
        yield session


def make(peer=None, http=None, *, timeout=5.0, settings=None, **changes) -> HttpJsonCarrier:
    """A Rapido adapter pointed at the peer (at nothing, for offline checks)."""
    values = dict(id=2, code="rapido", name="Rapido", kind="http_json",
                  base_url=peer.url + "/" if peer else None, api_key="rpd_live_key",
                  webhook_secret=SECRET, settings=SETTINGS if settings is None else settings,
                  status_map=STATUS_MAP, timeout=timeout)
    values.update(changes)
    return adapter_for(CarrierConfig(**values), http)


def created(number="RPD-88120") -> Reply:
    """Rapido's answer to a created parcel."""
    return Reply(201, json={"success": True, "data": {
        "tracking_number": number, "label_url": f"https://labels.rapido.example/{number}.pdf"}})


def signed(body: bytes, secret: str = SECRET) -> str:
    """The hex HMAC-SHA256 Rapido sends for a body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- register ---------------------------------------------------------------------
def test_register_posts_the_fixed_body_and_reads_the_paths(peer, http):
    """The body has the fixed keys, COD in decimal units; number and label come from paths."""
    peer.on("POST", "/api/v1/parcels", created())
    registration = make(peer, http).register(parcel())
    assert registration == Registration(tracking_number="RPD-88120",
                                        label_url="https://labels.rapido.example/RPD-88120.pdf")
    [sent] = peer.seen("POST", "/api/v1/parcels")
    assert sent.json() == {
        "reference": "#3107", "customer_name": "Youness Alaoui", "phone": "+212600000404",
        "address": "Appt 4, 7 avenue Fal Ould Oumeir, Agdal", "city": "Rabat",
        "cod_amount": "349.50", "currency": "MAD",
        "items": [{"sku": "BRB-02", "name": "Babouches", "quantity": 2},
                  {"sku": "THE-10", "name": "Thé vert", "quantity": 1}]}
    assert sent.headers["Idempotency-Key"] == "parcel-3107-1"
    assert sent.headers["X-Api-Key"] == "rpd_live_key"  # empty auth_scheme: the raw key
    assert "Authorization" not in sent.headers


def test_register_retry_sends_the_same_idempotency_key(peer, http):
    """A 500 then a retry: the peer sees the same Idempotency-Key twice, one parcel results."""
    peer.on("POST", "/api/v1/parcels", Reply(500, body=b"upstream down"), created())
    carrier = make(peer, http)
    with pytest.raises(CarrierError) as raised:
        carrier.register(parcel())
    assert raised.value.transient
    assert carrier.register(parcel()).tracking_number == "RPD-88120"
    keys = [s.headers["Idempotency-Key"] for s in peer.seen("POST", "/api/v1/parcels")]
    assert keys == ["parcel-3107-1", "parcel-3107-1"]


def test_register_default_auth_is_a_bearer_authorization(peer, http):
    """Without auth settings the key goes in Authorization: Bearer."""
    settings = {k: v for k, v in SETTINGS.items() if k not in ("auth_header", "auth_scheme")}
    peer.on("POST", "/api/v1/parcels", created())
    make(peer, http, settings=settings).register(parcel())
    assert peer.seen("POST")[0].headers["Authorization"] == "Bearer rpd_live_key"


def test_register_without_label_path_gives_no_label(peer, http):
    """label_path is optional."""
    settings = {k: v for k, v in SETTINGS.items() if k != "label_path"}
    peer.on("POST", "/api/v1/parcels", created())
    assert make(peer, http, settings=settings).register(parcel()).label_url is None


def test_register_answer_without_tracking_number_is_not_transient(peer, http):
    """A 2xx without a number at tracking_path names the path; retrying will not help."""
    peer.on("POST", "/api/v1/parcels", Reply(201, json={"success": True, "data": {}}))
    with pytest.raises(CarrierError, match="data.tracking_number") as raised:
        make(peer, http).register(parcel())
    assert not raised.value.transient


def test_register_without_create_url_is_not_supported():
    """A courier with no create URL configured cannot register parcels."""
    with pytest.raises(NotSupported):
        make(settings={"track_url": "{base_url}/t/{tracking_number}"}).register(parcel())


def test_register_client_error_is_refused_with_the_courier_message(peer, http):
    """A 422 is refused with the courier's own message."""
    peer.on("POST", "/api/v1/parcels", Reply(422, json={
        "success": False, "error": {"code": "CITY", "message": "Ville non desservie: Rabat"}}))
    with pytest.raises(CarrierRefused, match="Ville non desservie: Rabat") as raised:
        make(peer, http).register(parcel())
    assert not raised.value.transient


def test_register_client_error_message_from_error_message_path(peer, http):
    """error_message_path points at a message where habit would not look."""
    peer.on("POST", "/api/v1/parcels", Reply(400, json={"errors": [{"msg": "Téléphone invalide"}]}))
    carrier = make(peer, http, settings={**SETTINGS, "error_message_path": "errors.0.msg"})
    with pytest.raises(CarrierRefused, match="Téléphone invalide"):
        carrier.register(parcel())


def test_register_timeout_is_transient(peer, http):
    """A peer slower than config.timeout gives a transient error naming the carrier."""
    peer.on("POST", "/api/v1/parcels", Reply(201, json={}, delay=30))
    with pytest.raises(CarrierError, match="Rapido did not answer") as raised:
        make(peer, http, timeout=1.5).register(parcel())
    assert raised.value.transient


@pytest.mark.parametrize("status", [500, 503, 429])
def test_register_server_error_or_rate_limit_is_transient(peer, http, status):
    """5xx and 429 are retried later."""
    peer.on("POST", "/api/v1/parcels", Reply(status, json={"message": "busy"}))
    with pytest.raises(CarrierError) as raised:
        make(peer, http).register(parcel())
    assert raised.value.transient and not isinstance(raised.value, CarrierRefused)


@pytest.mark.parametrize("body", [b"<html>502</html>", b'{"data": {"tracking_number": "RP'])
def test_register_malformed_json_is_transient(peer, http, body):
    """A 2xx that is not JSON is a transient 'malformed JSON'."""
    peer.on("POST", "/api/v1/parcels", Reply(201, body=body))
    with pytest.raises(CarrierError, match="malformed JSON") as raised:
        make(peer, http).register(parcel())
    assert raised.value.transient


# -- track ------------------------------------------------------------------------------
def test_track_gets_each_parcel_and_reads_the_event_paths(peer, http):
    """One GET per number; events carry status, text, place, id and UTC times."""
    peer.on("GET", "/api/v1/parcels/RPD-88120", Reply(200, json=history(PICKED, DELIVERED)))
    peer.on("GET", "/api/v1/parcels/RPD 88121", Reply(200, json=history(
        {"id": 9150, "status": "NEW", "comment": "", "date": "2025-06-11T09:00:00Z"})))
    carrier = make(peer, http)
    events = carrier.track(["RPD-88120", "RPD 88121"])
    assert [s.path for s in peer.seen("GET")] == ["/api/v1/parcels/RPD-88120",
                                                  "/api/v1/parcels/RPD 88121"]
    assert peer.seen("GET")[0].headers["X-Api-Key"] == "rpd_live_key"
    picked, delivered, new = events
    assert (picked.tracking_number, picked.code, picked.text, picked.location) == (
        "RPD-88120", "PICKED_UP", "Colis ramassé", "Casablanca")
    assert picked.occurred_at == datetime(2025, 6, 10, 15, 20)  # Casablanca is UTC+1 in June
    assert picked.dedupe_key() == "id:9101"
    assert delivered.occurred_at == datetime(2025, 6, 11, 10, 5)
    assert new.tracking_number == "RPD 88121" and new.occurred_at == datetime(2025, 6, 11, 9)
    assert [carrier.map_status(e.code, e.text) for e in events] == [
        "shipped", "delivered", "ignore"]


def test_track_current_status_only_when_events_path_is_empty(peer, http):
    """No events_path: one event from status_path and time_path (unix seconds here)."""
    settings = {**SETTINGS, "events_path": "", "status_path": "data.state",
                "time_path": "data.updated_at"}
    peer.on("GET", "/api/v1/parcels/RPD-88120", Reply(200, json={
        "data": {"state": "Retour expéditeur", "updated_at": 1749650400}}))
    carrier = make(peer, http, settings=settings)
    [event] = carrier.track(["RPD-88120"])
    assert event.code == "Retour expéditeur"
    assert event.occurred_at == datetime(2025, 6, 11, 14, 0)
    assert carrier.map_status(event.code, event.text) == "in_return"


def test_track_time_format_reads_local_day_first_times(peer, http):
    """time_format reads "11/06/2025 12:05" as Casablanca time."""
    settings = {**SETTINGS, "time_format": "%d/%m/%Y %H:%M"}
    peer.on("GET", "/api/v1/parcels/RPD-88120", Reply(200, json=history(
        {**DELIVERED, "date": "11/06/2025 12:05"})))
    [event] = make(peer, http, settings=settings).track(["RPD-88120"])
    assert event.occurred_at == datetime(2025, 6, 11, 11, 5)


def test_track_stops_at_the_first_transient_error(peer, http):
    """A 500 on the second parcel is raised; the third is never asked for."""
    peer.on("GET", "/api/v1/parcels/A1", Reply(200, json=history(PICKED)))
    peer.on("GET", "/api/v1/parcels/A2", Reply(500, json={"message": "oops"}))
    peer.on("GET", "/api/v1/parcels/A3", Reply(200, json=history(DELIVERED)))
    with pytest.raises(CarrierError) as raised:
        make(peer, http).track(["A1", "A2", "A3"])
    assert raised.value.transient
    assert [s.path for s in peer.seen("GET")] == ["/api/v1/parcels/A1", "/api/v1/parcels/A2"]


def test_track_timeout_is_transient(peer, http):
    """A slow parcel answer raises a transient error."""
    peer.on("GET", "/api/v1/parcels/A1", Reply(200, json=history(PICKED), delay=30))
    with pytest.raises(CarrierError, match="Rapido") as raised:
        make(peer, http, timeout=1.5).track(["A1"])
    assert raised.value.transient


def test_track_malformed_json_is_transient(peer, http):
    """A tracking answer that is not JSON is transient."""
    peer.on("GET", "/api/v1/parcels/A1", Reply(200, body=b"Service Unavailable"))
    with pytest.raises(CarrierError, match="malformed JSON") as raised:
        make(peer, http).track(["A1"])
    assert raised.value.transient


def test_track_skips_a_parcel_the_courier_does_not_know(peer, http):
    """A 404 for one parcel does not starve the others."""
    peer.on("GET", "/api/v1/parcels/A1", Reply(404, json={"message": "Colis introuvable"}))
    peer.on("GET", "/api/v1/parcels/A2", Reply(200, json=history(DELIVERED)))
    [event] = make(peer, http).track(["A1", "A2"])
    assert event.tracking_number == "A2"


def test_track_every_parcel_refused_raises_the_first_refusal(peer, http):
    """When no parcel answers, the refusal is raised with the courier's message."""
    peer.on("GET", "/api/v1/parcels/A1", Reply(404, json={"message": "Colis introuvable"}))
    peer.on("GET", "/api/v1/parcels/A2", Reply(404, json={"message": "Colis introuvable"}))
    with pytest.raises(CarrierRefused, match="Colis introuvable"):
        make(peer, http).track(["A1", "A2"])


def test_track_unauthorized_raises_at_once(peer, http):
    """A refused key stops the batch on the first parcel."""
    peer.on("GET", "/api/v1/parcels/A1", Reply(401, json={"message": "Clé API invalide"}))
    with pytest.raises(CarrierRefused, match="Clé API invalide"):
        make(peer, http).track(["A1", "A2"])
    assert len(peer.seen("GET")) == 1


def test_track_unreadable_time_names_the_path(peer, http):
    """An event time the settings cannot read is refused with the value and path."""
    peer.on("GET", "/api/v1/parcels/A1", Reply(200, json=history({**PICKED, "date": "hier"})))
    with pytest.raises(CarrierRefused, match="unreadable time 'hier' at \"date\""):
        make(peer, http).track(["A1"])


def test_track_duplicated_and_out_of_order_events_keep_their_own_times(peer, http):
    """Without event ids, a repeated event gives an equal dedupe key; order is left as sent."""
    rows = [{k: v for k, v in row.items() if k != "id"} for row in (DELIVERED, PICKED, DELIVERED)]
    peer.on("GET", "/api/v1/parcels/A1", Reply(200, json=history(*rows)))
    delivered, picked, delivered_again = make(peer, http).track(["A1"])
    assert delivered.dedupe_key() == delivered_again.dedupe_key() != picked.dedupe_key()
    assert picked.occurred_at < delivered.occurred_at


def test_track_without_track_url_is_not_supported():
    """No track URL configured: tracking is not supported."""
    with pytest.raises(NotSupported):
        make(settings={}).track(["A1"])


# -- webhooks ------------------------------------------------------------------------------
WEBHOOK = json.dumps({"event": "status_changed", "parcel": {"code": "RPD-88120", "history": [
    DELIVERED]}, "data": {"history": [PICKED, DELIVERED]}}).encode()


def test_verify_webhook_accepts_a_good_signature():
    """The hex HMAC-SHA256 of the raw body passes, with or without a sha256= prefix."""
    carrier = make()
    assert carrier.verify_webhook({"X-Rapido-Signature": signed(WEBHOOK)}, WEBHOOK)
    assert carrier.verify_webhook({"x-rapido-signature": "sha256=" + signed(WEBHOOK)}, WEBHOOK)


def test_verify_webhook_reads_headers_as_received_over_http(peer, http):
    """The headers and bytes a real delivery arrives with verify as they are."""
    peer.on("POST", "/hooks/rapido", Reply(204))
    http.post(peer.url + "/hooks/rapido", data=WEBHOOK, timeout=5,
              headers={"X-Rapido-Signature": signed(WEBHOOK), "X-Rapido-Delivery": "dlv-77"})
    [delivery] = peer.seen("POST", "/hooks/rapido")
    carrier = make(peer, http)
    assert carrier.verify_webhook(delivery.headers, delivery.body)
    assert carrier.parse_webhook(delivery.headers, delivery.body).delivery_id == "dlv-77"


@pytest.mark.parametrize("case", ["tampered", "wrong_secret", "missing_header", "no_secret",
                                  "default_header_name"])
def test_verify_webhook_rejects_a_bad_signature(case):
    """Tampered body, wrong secret, missing header, no secret or the wrong header: rejected."""
    body, headers, carrier = WEBHOOK, {"X-Rapido-Signature": signed(WEBHOOK)}, make()
    if case == "tampered":
        body = WEBHOOK.replace(b"DELIVERED", b"REFUSED")
    elif case == "wrong_secret":
        headers = {"X-Rapido-Signature": signed(WEBHOOK, "guessed")}
    elif case == "missing_header":
        headers = {}
    elif case == "no_secret":
        carrier = make(webhook_secret=None)
    else:
        headers = {"X-Signature": signed(WEBHOOK)}  # Rapido's header is configured
    assert carrier.verify_webhook(headers, body) is False


def test_verify_webhook_default_header_is_x_signature():
    """Without signature_header the default X-Signature is read."""
    settings = {k: v for k, v in SETTINGS.items() if k != "signature_header"}
    assert make(settings=settings).verify_webhook({"X-Signature": signed(WEBHOOK)}, WEBHOOK)


def test_parse_webhook_reads_the_number_and_events_with_the_same_paths():
    """The number comes from webhook_tracking_path, events from the tracking paths."""
    webhook = make().parse_webhook({"X-Rapido-Delivery": "dlv-77"}, WEBHOOK)
    assert webhook.delivery_id == "dlv-77"
    assert [(e.tracking_number, e.code) for e in webhook.events] == [
        ("RPD-88120", "PICKED_UP"), ("RPD-88120", "DELIVERED")]


def test_parse_webhook_without_delivery_header_uses_the_body_hash():
    """No delivery id header: the SHA-256 of the body, same for a redelivery."""
    carrier = make()
    first = carrier.parse_webhook({}, WEBHOOK)
    assert first.delivery_id == hashlib.sha256(WEBHOOK).hexdigest()
    assert carrier.parse_webhook({}, WEBHOOK).delivery_id == first.delivery_id


@pytest.mark.parametrize("body", [b"not json", b'{"parcel": {}}', b"[]",
                                  b'{"parcel": {"code": "A1"}, "data": {"history": "none"}}'])
def test_parse_webhook_malformed_is_refused(body):
    """A body without a number or an event list is refused."""
    with pytest.raises(CarrierRefused):
        make().parse_webhook({}, body)


# -- statuses, cancel, connection --------------------------------------------------------------
def test_map_status_uses_only_the_manager_table():
    """Codes and texts map through the table; anything else is None, even familiar words."""
    carrier = make()
    assert carrier.uses_status_table
    assert carrier.map_status("DELIVERED") == "delivered"
    assert carrier.map_status("X9", "Retour expéditeur") == "in_return"
    assert carrier.map_status("NEW") == "ignore"
    assert carrier.map_status("Delivered_004") is None
    assert carrier.map_status("EN_COURS", "En cours de livraison") is None
    assert make(status_map={}).map_status("DELIVERED") is None


@pytest.mark.parametrize("reply", [Reply(204), Reply(200, body=b"OK")])
def test_cancel_calls_the_cancel_url(peer, http, reply):
    """cancel POSTs to the filled cancel URL; an empty 204 or a plain "OK" is fine."""
    peer.on("POST", "/api/v1/parcels/RPD-88120/cancel", reply)
    make(peer, http).cancel("RPD-88120")
    assert len(peer.seen("POST", "/api/v1/parcels/RPD-88120/cancel")) == 1


def test_cancel_with_cancel_method(peer, http):
    """cancel_method picks the verb, e.g. DELETE."""
    settings = {**SETTINGS, "cancel_url": "{base_url}/api/v1/parcels/{tracking_number}",
                "cancel_method": "delete"}
    peer.on("DELETE", "/api/v1/parcels/RPD-88120", Reply(200, json={"success": True}))
    make(peer, http, settings=settings).cancel("RPD-88120")
    assert len(peer.seen("DELETE")) == 1


def test_cancel_without_cancel_url_is_not_supported():
    """No cancel URL configured: NotSupported."""
    settings = {k: v for k, v in SETTINGS.items() if k != "cancel_url"}
    with pytest.raises(NotSupported):
        make(settings=settings).cancel("RPD-88120")


def test_cancel_refused_carries_the_message(peer, http):
    """A parcel already picked up cannot be cancelled: refused with the courier's words."""
    peer.on("POST", "/api/v1/parcels/RPD-88120/cancel",
            Reply(409, json={"message": "Colis déjà ramassé"}))
    with pytest.raises(CarrierRefused, match="Colis déjà ramassé"):
        make(peer, http).cancel("RPD-88120")


def test_test_connection_gets_the_test_url(peer, http):
    """test_url is fetched with the key."""
    peer.on("GET", "/api/v1/me", Reply(200, json={"name": "Boutique Atlas"}))
    message = make(peer, http, settings={**SETTINGS, "test_url": "{base_url}/api/v1/me"}
                   ).test_connection()
    assert "Rapido" in message
    assert peer.seen("GET")[0].headers["X-Api-Key"] == "rpd_live_key"


def test_test_connection_without_test_url_is_not_supported():
    """No test URL: NotSupported."""
    with pytest.raises(NotSupported):
        make().test_connection()


def test_settings_fields_document_every_key_used():
    """Every key the tests use is in settings_fields, and every field in the module docstring."""
    keys = {key for key, _label, _help in HttpJsonCarrier.settings_fields}
    used = set(SETTINGS) | {"status_path", "time_path", "time_format", "cancel_method",
                            "test_url", "error_message_path"}
    assert used <= keys
    assert all(key in http_json.__doc__ for key in keys)
