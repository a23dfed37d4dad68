"""The sandbox adapter against the sandbox carrier served over real HTTP by the live server."""

import threading
from dataclasses import replace

import pytest
import requests
from sqlalchemy import select

from blueprints.sandbox.journeys import JOURNEYS, push_due_webhooks
from extensions import db
from models.sandbox import SandboxParcel
from tests.blueprints.test_sandbox_carrier import Receiver, closed_port_url
from workers.carriers import CarrierConfig, CarrierError, CarrierRefused, ParcelRequest
from workers.carriers.sandbox import SandboxCarrier


def parcel(key: str = "parcel-1", callback_url: str | None = None) -> ParcelRequest:
    """A parcel as codboard's register job builds it."""
    return ParcelRequest(
        order_id=1, reference="#1", idempotency_key=key, customer_name="Youssef Amrani",
        phone="+212600000001", address="5 avenue Hassan II", city="Casablanca",
        cod_amount_cents=19900, currency="MAD", items=(("MUG-1", "Mug", 1),),
        callback_url=callback_url,
    )


@pytest.fixture
def config(live_server) -> CarrierConfig:
    """The sandbox carrier as a manager would configure it."""
    return CarrierConfig(id=1, code="sandbox", name="Sandbox Express", kind="sandbox",
                         base_url=f"{live_server}/sandbox/carrier", api_key="test-key",
                         timeout=2.0)


@pytest.fixture
def carrier(config):
    """The adapter with its own HTTP session, closed afterwards."""
    with requests.Session() as http:
        yield SandboxCarrier(config, http)


@pytest.fixture
def offline():
    """The adapter for what needs no call out: mapping, verifying and parsing webhooks."""
    config = CarrierConfig(id=1, code="sandbox", name="Sandbox Express", kind="sandbox",
                           base_url=closed_port_url(), api_key="test-key")
    with requests.Session() as http:
        yield SandboxCarrier(config, http)


@pytest.fixture
def misbehave(live_server):
    """misbehave(mode, **options): make the sandbox carrier's next calls misbehave."""

    def set_mode(mode: str, **options) -> None:
        """POST the switch to the live server."""
        resp = requests.post(f"{live_server}/sandbox/carrier/misbehave",
                             json={"mode": mode, **options}, timeout=5)
        assert resp.status_code == 200, resp.text

    return set_mode


def register_with_journey(live_server, journey: str, key: str = "forced-1") -> str:
    """Register a parcel forced onto a journey (the sandbox's test hook); its number."""
    resp = requests.post(
        f"{live_server}/sandbox/carrier/parcels", timeout=5,
        headers={"Authorization": "Bearer test-key", "Idempotency-Key": key},
        json={"reference": "#2", "customer_name": "Nadia", "phone": "+212600000002",
              "address": "1 place Bab", "city": "Tangier", "cod_amount_cents": 1000,
              "currency": "MAD", "journey": journey})
    assert resp.status_code == 201, resp.text
    return resp.json()["tracking_number"]


def parcel_rows() -> list[SandboxParcel]:
    """The sandbox carrier's own records, fresh from the database."""
    db.session.expire_all()
    return db.session.execute(select(SandboxParcel)).scalars().all()


# --- register -------------------------------------------------------------------------


def test_register_returns_a_tracking_number_and_a_printable_label(carrier):
    """A new parcel gets an SBX number and a label page that shows it."""
    registration = carrier.register(parcel())
    assert registration.tracking_number.startswith("SBX")
    assert len(registration.tracking_number) == 13 and registration.tracking_number[3:].isdigit()
    label = requests.get(registration.label_url, timeout=5)
    assert label.status_code == 200 and registration.tracking_number in label.text


def test_register_same_idempotency_key_twice_gives_one_parcel(carrier):
    """A retried registration returns the parcel made the first time."""
    first = carrier.register(parcel("order-9"))
    again = carrier.register(parcel("order-9"))
    assert again.tracking_number == first.tracking_number
    assert len(parcel_rows()) == 1


def test_register_concurrent_same_key_makes_one_parcel(config):
    """Two workers registering the same order at once still make one parcel."""
    start = threading.Barrier(2)
    numbers, errors = [], []

    def register() -> None:
        """One worker's registration, started together with the other's."""
        with requests.Session() as http:
            adapter = SandboxCarrier(config, http)
            start.wait(timeout=5)
            try:
                numbers.append(adapter.register(parcel("order-race")).tracking_number)
            except CarrierError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors and len(numbers) == 2 and numbers[0] == numbers[1]
    assert len(parcel_rows()) == 1


def test_register_without_api_key_is_refused(config):
    """No API key configured: the carrier's 401 is a refusal, not retried."""
    with requests.Session() as http:
        adapter = SandboxCarrier(replace(config, api_key=None), http)
        with pytest.raises(CarrierRefused) as refused:
            adapter.register(parcel())
    assert not refused.value.transient
    assert "401" in refused.value.message and "API key" in refused.value.message
    assert parcel_rows() == []


def test_register_after_a_timeout_retried_gives_one_parcel(carrier, misbehave):
    """The carrier made the parcel but answered late: the retry returns that same parcel."""
    misbehave("timeout", seconds=4.0)
    with pytest.raises(CarrierError) as slow:
        carrier.register(parcel("order-slow"))
    assert slow.value.transient and "did not answer" in slow.value.message
    registration = carrier.register(parcel("order-slow"))
    assert [row.tracking_number for row in parcel_rows()] == [registration.tracking_number]


# --- track, hand over, cancel ---------------------------------------------------------


def test_track_before_pickup_shows_info_received_only(carrier):
    """A registered parcel that has not left only says its label exists."""
    tn = carrier.register(parcel()).tracking_number
    events = carrier.track([tn])
    assert [e.code for e in events] == ["INFO_RECEIVED"]
    assert carrier.map_status(events[0].code) == "ignore"


def test_hand_over_then_track_shows_the_whole_journey(carrier):
    """At step 0 the whole journey is visible at once, in order, mapped to our statuses."""
    tn = carrier.register(parcel()).tracking_number
    carrier.hand_over([tn])
    events = carrier.track([tn])
    journey = parcel_rows()[0].journey
    assert [e.code for e in events] == ["INFO_RECEIVED", *JOURNEYS[journey]]
    times = [e.occurred_at for e in events]
    assert times == sorted(times) and len(set(times[1:])) == len(times) - 1
    assert times[0].tzinfo is None
    assert all(e.tracking_number == tn and e.event_id for e in events)
    assert carrier.map_status(events[-1].code) in {"delivered", "in_return"}


@pytest.mark.parametrize("journey, statuses", [
    ("delivered", ["ignore", "shipped", "shipped", "shipped", "delivered"]),
    ("failed_then_delivered", ["ignore", "shipped", "shipped", "shipped", "package_issue",
                               "shipped", "delivered"]),
    ("refused_return", ["ignore", "shipped", "shipped", "shipped", "package_issue",
                        "in_return"]),
])
def test_track_journey_maps_to_our_statuses(carrier, live_server, journey, statuses):
    """Every sandbox status of every journey has its shipping status."""
    tn = register_with_journey(live_server, journey)
    carrier.hand_over([tn])
    assert [carrier.map_status(e.code, e.text) for e in carrier.track([tn])] == statuses


def test_track_unknown_numbers_have_no_events(carrier):
    """A number the carrier does not know yields nothing, and the others still come."""
    tn = carrier.register(parcel()).tracking_number
    assert {e.tracking_number for e in carrier.track([tn, "SBX0000000000"])} == {tn}


def test_hand_over_unknown_number_is_refused(carrier):
    """Handing over a number the carrier does not know says which one."""
    with pytest.raises(CarrierRefused, match="SBX0000000000"):
        carrier.hand_over(["SBX0000000000"])


def test_cancel_before_pickup_then_pickup_is_refused(carrier):
    """A canceled parcel cannot be handed over any more."""
    tn = carrier.register(parcel()).tracking_number
    carrier.cancel(tn)
    assert parcel_rows()[0].canceled_at is not None
    with pytest.raises(CarrierRefused, match=tn):
        carrier.hand_over([tn])


def test_cancel_after_pickup_is_refused(carrier):
    """Once picked up the parcel has left: the carrier says no, with its reason."""
    tn = carrier.register(parcel()).tracking_number
    carrier.hand_over([tn])
    with pytest.raises(CarrierRefused, match="no longer be canceled") as refused:
        carrier.cancel(tn)
    assert "409" in refused.value.message and not refused.value.transient


def test_test_connection_names_the_masked_account(carrier):
    """Test connection shows the key's end and the parcel count, never the whole key."""
    carrier.register(parcel())
    answer = carrier.test_connection()
    assert "Sandbox Express" in answer and "****-key" in answer and "(1 parcel)" in answer
    assert "test-key" not in answer


def test_test_connection_unreachable_carrier_is_transient(config):
    """Nothing listening at the address: a transient error naming the carrier."""
    with requests.Session() as http:
        adapter = SandboxCarrier(replace(config, base_url=closed_port_url()), http)
        with pytest.raises(CarrierError) as down:
            adapter.test_connection()
    assert down.value.transient and "Could not reach Sandbox Express" in down.value.message


# --- misbehaviour ---------------------------------------------------------------------


def test_track_when_the_carrier_times_out_is_transient(carrier, misbehave):
    """A carrier slower than our timeout is retried later."""
    tn = carrier.register(parcel()).tracking_number
    misbehave("timeout", seconds=4.0)
    with pytest.raises(CarrierError) as slow:
        carrier.track([tn])
    assert slow.value.transient and "2 s" in slow.value.message


def test_track_when_the_carrier_answers_500_is_transient(carrier, misbehave):
    """A server error at the carrier is retried later."""
    tn = carrier.register(parcel()).tracking_number
    misbehave("500")
    with pytest.raises(CarrierError) as failed:
        carrier.track([tn])
    assert failed.value.transient and "answered 500" in failed.value.message
    assert len(carrier.track([tn])) == 1


def test_track_when_the_answer_is_malformed_is_transient(carrier, misbehave):
    """An answer that is not JSON is retried later."""
    tn = carrier.register(parcel()).tracking_number
    misbehave("malformed")
    with pytest.raises(CarrierError) as garbled:
        carrier.track([tn])
    assert garbled.value.transient and "malformed JSON" in garbled.value.message


def test_track_duplicate_events_share_their_dedupe_key(carrier, misbehave):
    """Repeated events are recognisable as the same event."""
    tn = carrier.register(parcel()).tracking_number
    carrier.hand_over([tn])
    misbehave("duplicate")
    events = carrier.track([tn])
    keys = [e.dedupe_key() for e in events]
    assert keys[0::2] == keys[1::2] and len(set(keys)) == len(keys) // 2
    assert events[0] == events[1]


def test_track_shuffled_events_come_newest_first(carrier, misbehave):
    """Under shuffle the order is reversed; the times still tell the true order."""
    tn = carrier.register(parcel()).tracking_number
    carrier.hand_over([tn])
    in_order = carrier.track([tn])
    misbehave("shuffle")
    shuffled = carrier.track([tn])
    assert shuffled == list(reversed(in_order))
    assert sorted(shuffled, key=lambda e: e.occurred_at) == in_order


def test_track_unknown_status_is_left_unmapped(carrier, misbehave):
    """A status codboard has no mapping for is reported as unmapped, never guessed."""
    tn = carrier.register(parcel()).tracking_number
    misbehave("unknown")
    events = carrier.track([tn])
    assert [e.code for e in events] == ["INFO_RECEIVED", "WEATHER_HOLD"]
    assert carrier.map_status(events[1].code, events[1].text) is None


def test_map_status_manager_entries_win(offline):
    """A manager's mapping overrides the built-in one and fills the gaps."""
    adapter = SandboxCarrier(replace(offline.config, status_map={
        "WEATHER_HOLD": "package_issue", "refused": "in_return"}), offline.http)
    assert adapter.map_status("WEATHER_HOLD") == "package_issue"
    assert adapter.map_status("REFUSED") == "in_return"
    assert adapter.map_status("DELIVERED") == "delivered"
    assert adapter.map_status("LOST_IN_SPACE") is None


# --- webhooks -------------------------------------------------------------------------


def test_verify_webhook_accepts_the_carriers_real_delivery(carrier):
    """Pushed deliveries verify and parse into the parcel's events."""
    with Receiver() as shop:
        tn = carrier.register(parcel(callback_url=shop.url)).tracking_number
        carrier.hand_over([tn])
        push_due_webhooks()
    journey = parcel_rows()[0].journey
    assert len(shop.deliveries) == len(JOURNEYS[journey]) + 1
    codes = []
    for headers, body in shop.deliveries:
        assert carrier.verify_webhook(headers, body)
        webhook = carrier.parse_webhook(headers, body)
        assert webhook.delivery_id == headers["X-Sandbox-Delivery"]
        codes += [e.code for e in webhook.events]
        assert all(e.tracking_number == tn for e in webhook.events)
    assert codes == ["INFO_RECEIVED", *JOURNEYS[journey]]
    tracked = carrier.track([tn])
    pushed = [e for h, b in shop.deliveries for e in carrier.parse_webhook(h, b).events]
    assert [e.dedupe_key() for e in pushed] == [e.dedupe_key() for e in tracked]


def test_verify_webhook_rejects_a_tampered_body_or_a_missing_signature(carrier):
    """A changed body, a lost signature or a signature by another key is refused."""
    with Receiver() as shop:
        carrier.register(parcel(callback_url=shop.url))
        push_due_webhooks()
    headers, body = shop.deliveries[0]
    assert carrier.verify_webhook({k.lower(): v for k, v in headers.items()}, body)
    assert not carrier.verify_webhook(headers, body.replace(b"INFO_RECEIVED", b"DELIVERED"))
    unsigned = {k: v for k, v in headers.items() if k != "X-Sandbox-Signature"}
    assert not carrier.verify_webhook(unsigned, body)
    other = SandboxCarrier(replace(carrier.config, webhook_secret="another-secret"),
                           carrier.http)
    assert not other.verify_webhook(headers, body)


@pytest.mark.parametrize("body", [
    b"<html>502 Bad Gateway</html>",
    b"[]",
    b'{"tracking_number": "SBX0000000001"}',
    b'{"tracking_number": "SBX0000000001", "events": [{"id": "1", "code": "DELIVERED"}]}',
    b'{"tracking_number": "SBX0000000001", "events": [{"id": "1", "code": "X", "time": "soon"}]}',
    b"\xff\xfe",
])
def test_parse_webhook_garbage_is_refused(offline, body):
    """A body that is not a sandbox delivery is refused with a reason."""
    with pytest.raises(CarrierRefused, match="malformed webhook"):
        offline.parse_webhook({"X-Sandbox-Delivery": "dlv-1"}, body)


def test_parse_webhook_without_delivery_id_is_refused(offline):
    """Without a delivery id a resend could not be recognised."""
    body = b'{"tracking_number": "SBX0000000001", "events": []}'
    with pytest.raises(CarrierRefused, match="X-Sandbox-Delivery"):
        offline.parse_webhook({}, body)


def test_register_passes_the_callback_url_through(carrier):
    """The parcel's webhooks go where codboard asked."""
    carrier.register(parcel(callback_url="https://shop.example/api/v1/webhooks/carriers/x"))
    assert [row.callback_url for row in parcel_rows()] == [
        "https://shop.example/api/v1/webhooks/carriers/x"]
