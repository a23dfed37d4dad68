"""The sandbox carrier's own side: its JSON API, journeys, misbehaviour and webhook pushes."""

import json
import socket
import threading
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from blueprints.sandbox.carrier import _create_parcel, _scoped_key
from blueprints.sandbox.journeys import JOURNEYS, choose_journey, events_at, push_due_webhooks
from extensions import db
from models.sandbox import SandboxParcel
from workers.sandbox_jobs import push_sandbox_webhooks

API = "/sandbox/carrier"
KEY = {"Authorization": "Bearer test-key"}
PARCEL = {
    "reference": "#101", "customer_name": "Salma Idrissi", "phone": "+212612345678",
    "address": "12 rue des Fleurs", "city": "Rabat", "cod_amount_cents": 24900,
    "currency": "MAD", "items": [{"sku": "TEE-M", "name": "T-shirt M", "quantity": 2}],
}


class Receiver:
    """A shop's webhook endpoint on 127.0.0.1: records every POST, answers `statuses` in turn."""

    def __init__(self, *statuses: int):
        """Answer these statuses to the first POSTs, then 200."""
        self.statuses = list(statuses)
        self.deliveries: list[tuple[dict, bytes]] = []

    def __call__(self, environ, start_response):
        """The WSGI app: note the request, answer the next status (200 once they run out)."""
        request = Request(environ)
        self.deliveries.append((dict(request.headers), request.get_data()))
        status = self.statuses.pop(0) if self.statuses else 200
        return Response("noted", status=status)(environ, start_response)

    def __enter__(self):
        """Start listening on a free port; `url` is where the carrier should POST."""
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        # A short poll keeps shutdown quick (the default waits up to half a second).
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/sandbox"
        return self

    def __exit__(self, *exc):
        """Stop listening and free the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def bodies(self) -> list[dict]:
        """Each delivery's JSON body, in the order received."""
        return [json.loads(body) for _, body in self.deliveries]

    def codes(self) -> list[str]:
        """The event codes received, delivery after delivery."""
        return [e["code"] for body in self.bodies() for e in body["events"]]


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/sandbox"


def register(client, key="order-101", headers=KEY, **fields):
    """POST a parcel to the sandbox carrier with the test client."""
    return client.post(f"{API}/parcels", json={**PARCEL, **fields}, csrf=False,
                       headers={**headers, "Idempotency-Key": key})


def call(client, path, body=None, headers=KEY):
    """POST a JSON body to the carrier API."""
    return client.post(f"{API}{path}", json=body or {}, csrf=False, headers=headers)


def misbehave(client, mode, **options):
    """Ask the sandbox carrier to misbehave."""
    resp = call(client, "/misbehave", {"mode": mode, **options}, headers={})
    assert resp.status_code == 200, resp.get_json()


def parcel_count() -> int:
    """Rows in the sandbox carrier's own table."""
    return db.session.execute(select(func.count()).select_from(SandboxParcel)).scalar_one()


def stored(tracking_number) -> SandboxParcel:
    """The sandbox carrier's record of a parcel, fresh from the database."""
    db.session.expire_all()
    return db.session.execute(
        select(SandboxParcel).filter_by(tracking_number=tracking_number)).scalar_one()


def registered_and_picked_up(client, callback_url, journey="delivered", key="order-101"):
    """A parcel with a callback URL, handed over: its whole journey is visible (step 0)."""
    tn = register(client, key, callback_url=callback_url, journey=journey).get_json()[
        "tracking_number"]
    assert call(client, "/pickups", {"tracking_numbers": [tn]}).status_code == 200
    return tn


# --- registration -------------------------------------------------------------------


def test_register_parcel_first_time_is_201_then_200_with_the_same_parcel(client):
    """A repeated Idempotency-Key answers the same parcel, never a second one."""
    first = register(client)
    again = register(client)
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json() == again.get_json()
    assert first.get_json()["tracking_number"].startswith("SBX")
    assert first.get_json()["label_url"].endswith(
        f"/sandbox/carrier/labels/{first.get_json()['tracking_number']}")
    assert parcel_count() == 1


def test_register_parcel_without_idempotency_key_is_400(client):
    """Without the header the carrier refuses, so a retry can never make two parcels."""
    resp = client.post(f"{API}/parcels", json=PARCEL, csrf=False, headers=KEY)
    assert resp.status_code == 400
    assert "Idempotency-Key" in resp.get_json()["error"]
    assert parcel_count() == 0


def test_register_parcel_without_api_key_is_401_json(client):
    """No bearer key: a JSON 401, not the login page."""
    resp = register(client, headers={})
    assert resp.status_code == 401
    assert resp.is_json and "API key" in resp.get_json()["error"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_register_parcel_missing_fields_is_422_listing_them(client):
    """Each missing or invalid field is named."""
    resp = register(client, customer_name="", city=None, cod_amount_cents="249",
                    journey="lost_at_sea", callback_url="ftp://shop.example/hook")
    assert resp.status_code == 422
    assert set(resp.get_json()["fields"]) == {
        "customer_name", "city", "cod_amount_cents", "journey", "callback_url"}
    assert parcel_count() == 0


def test_register_parcel_same_key_on_another_account_is_another_parcel(client):
    """Idempotency keys belong to an account, as at real carriers."""
    ours = register(client).get_json()["tracking_number"]
    theirs = register(client, headers={"Authorization": "Bearer other-key"})
    assert theirs.status_code == 201
    assert theirs.get_json()["tracking_number"] != ours


def test_register_parcel_losing_a_race_returns_the_winner(app):
    """When a concurrent twin committed first, the unique key hands back the twin."""
    scoped = _scoped_key("test-key", "order-7")
    twin = SandboxParcel(tracking_number="SBX0000000007", idempotency_key=scoped,
                         api_key="test-key", reference="#7", journey="delivered", payload={})
    db.session.add(twin)
    db.session.commit()
    with app.test_request_context():
        parcel, created = _create_parcel("test-key", scoped, PARCEL)
    assert not created and parcel.tracking_number == "SBX0000000007"
    assert parcel_count() == 1


# --- journeys and tracking ------------------------------------------------------------


def test_choose_journey_splits_roughly_70_15_15():
    """The seed spreads parcels over the three journeys in the intended shares."""
    shares = Counter(choose_journey(f"SBX{n:010d}") for n in range(2000))
    assert 1300 <= shares["delivered"] <= 1500
    assert 200 <= shares["failed_then_delivered"] <= 400
    assert 200 <= shares["refused_return"] <= 400
    assert choose_journey("SBX0000000042") == choose_journey("SBX0000000042")


def test_events_at_follow_the_step_clock():
    """With 20 s steps, 25 s after pickup the parcel is picked up and in transit."""
    registered = datetime(2025, 3, 1, 9, 0)
    parcel = SandboxParcel(tracking_number="SBX0000000001", journey="refused_return",
                           registered_at=registered, picked_up_at=registered + timedelta(hours=1),
                           payload={"city": "Fes"})
    before = events_at(parcel, registered + timedelta(minutes=59), 20)
    assert [e.code for e in before] == ["INFO_RECEIVED"]
    now = parcel.picked_up_at + timedelta(seconds=25)
    events = events_at(parcel, now, 20)
    assert [e.code for e in events] == ["INFO_RECEIVED", "PICKED_UP", "IN_TRANSIT"]
    assert events[2].at == parcel.picked_up_at + timedelta(seconds=20)
    assert [e.id for e in events] == [f"SBX0000000001-{i}" for i in range(3)]
    everything = events_at(parcel, now + timedelta(hours=1), 20)
    assert everything[-2].location == "Fes"
    assert [e.code for e in everything[1:]] == list(JOURNEYS["refused_return"])


def test_track_parcels_of_another_account_are_unknown(client):
    """An account sees only its own parcels."""
    tn = register(client).get_json()["tracking_number"]
    resp = call(client, "/track", {"tracking_numbers": [tn, "SBX9999999999"]},
                headers={"Authorization": "Bearer other-key"})
    assert resp.get_json() == {"parcels": [], "unknown": [tn, "SBX9999999999"]}


def test_track_parcels_more_than_100_is_422(client):
    """A track call takes at most 100 numbers."""
    numbers = [f"SBX{n:010d}" for n in range(101)]
    resp = call(client, "/track", {"tracking_numbers": numbers})
    assert resp.status_code == 422 and resp.get_json()["fields"] == ["tracking_numbers"]


def test_pick_up_parcels_lists_unknown_numbers_and_takes_the_others(client):
    """An unknown number does not stop the others' pickup; a repeat keeps the first time."""
    tn = register(client).get_json()["tracking_number"]
    resp = call(client, "/pickups", {"tracking_numbers": [tn, "SBX0000000000"]})
    assert resp.get_json() == {"picked_up": [tn], "canceled": [], "unknown": ["SBX0000000000"]}
    first = stored(tn).picked_up_at
    call(client, "/pickups", {"tracking_numbers": [tn]})
    assert stored(tn).picked_up_at == first


def test_cancel_parcel_unknown_is_404(client):
    """Canceling a number the account does not have says so."""
    resp = call(client, "/parcels/SBX0000000000/cancel")
    assert resp.status_code == 404 and "SBX0000000000" in resp.get_json()["error"]


def test_cancel_parcel_canceled_is_not_picked_up(client):
    """A canceled parcel is refused at pickup and shows only INFO_RECEIVED."""
    tn = register(client).get_json()["tracking_number"]
    assert call(client, f"/parcels/{tn}/cancel").status_code == 200
    resp = call(client, "/pickups", {"tracking_numbers": [tn]})
    assert resp.get_json()["canceled"] == [tn] and resp.get_json()["picked_up"] == []
    events = call(client, "/track", {"tracking_numbers": [tn]}).get_json()["parcels"][0]["events"]
    assert [e["code"] for e in events] == ["INFO_RECEIVED"]


def test_parcel_label_shows_what_the_courier_needs(client):
    """The label has the tracking number, a barcode, the address and the cash to collect."""
    tn = register(client).get_json()["tracking_number"]
    page = client.get(f"{API}/labels/{tn}").get_data(as_text=True)
    assert tn in page and "<svg" in page
    assert "Salma Idrissi" in page and "Rabat" in page and "249.00 MAD" in page
    assert "2 × T-shirt M" in page
    assert client.get(f"{API}/labels/SBX0000000000").status_code == 404


def test_show_account_masks_the_key_and_counts_parcels(client):
    """The account answer shows only the key's end."""
    register(client)
    resp = client.get(f"{API}/account", headers=KEY)
    assert resp.get_json() == {"account": "****-key", "parcels": 1}


# --- misbehaviour ---------------------------------------------------------------------


def test_misbehave_unknown_mode_is_422(client):
    """Only the listed misbehaviours exist."""
    resp = call(client, "/misbehave", {"mode": "explode", "times": 0}, headers={})
    assert resp.status_code == 422 and set(resp.get_json()["fields"]) == {"mode", "times"}


def test_misbehave_500_affects_the_next_times_calls_only(client):
    """times=2: two calls fail, the third answers."""
    misbehave(client, "500", times=2)
    statuses = [client.get(f"{API}/account", headers=KEY).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]


def test_misbehave_malformed_answers_200_with_a_body_that_is_not_json(client):
    """The answer is cut: a client parsing it fails."""
    misbehave(client, "malformed")
    resp = client.get(f"{API}/account", headers=KEY)
    assert resp.status_code == 200
    with pytest.raises(ValueError):
        json.loads(resp.get_data())


def test_misbehave_event_mode_waits_for_a_track_call(client):
    """A duplicate switch leaves other calls alone and hits the next track answer."""
    tn = register(client).get_json()["tracking_number"]
    misbehave(client, "duplicate")
    assert client.get(f"{API}/account", headers=KEY).status_code == 200
    events = call(client, "/track", {"tracking_numbers": [tn]}).get_json()["parcels"][0]["events"]
    assert [e["code"] for e in events] == ["INFO_RECEIVED", "INFO_RECEIVED"]
    events = call(client, "/track", {"tracking_numbers": [tn]}).get_json()["parcels"][0]["events"]
    assert len(events) == 1


def test_misbehave_off_clears_the_switch(client):
    """Off means every call answers normally again."""
    misbehave(client, "500", times=5)
    misbehave(client, "off")
    assert client.get(f"{API}/account", headers=KEY).status_code == 200


# --- webhook pushes -------------------------------------------------------------------


def test_push_webhooks_sends_each_new_event_once(client):
    """One signed delivery per event, oldest first; a second push finds nothing new."""
    with Receiver() as shop:
        tn = registered_and_picked_up(client, shop.url)
        resp = call(client, "/push", headers={})
        assert resp.get_json() == {"sent": 5}
        assert call(client, "/push", headers={}).get_json() == {"sent": 0}
    assert shop.codes() == ["INFO_RECEIVED", *JOURNEYS["delivered"]]
    ids = [headers["X-Sandbox-Delivery"] for headers, _ in shop.deliveries]
    assert ids == [f"dlv-{tn}-{i}" for i in range(5)]
    assert all(len(headers["X-Sandbox-Signature"]) == 64 for headers, _ in shop.deliveries)
    assert stored(tn).pushed == 5


def test_push_webhooks_follow_the_step_clock(app, client):
    """With 20 s steps, each push sends only what became visible since the last one."""
    app.config["SANDBOX_STEP_SECONDS"] = 20
    with Receiver() as shop:
        tn = registered_and_picked_up(client, shop.url)
        picked_up_at = stored(tn).picked_up_at
        assert push_due_webhooks(now=picked_up_at + timedelta(seconds=25)) == 3
        assert push_due_webhooks(now=picked_up_at + timedelta(seconds=65)) == 2
    assert shop.codes() == ["INFO_RECEIVED", *JOURNEYS["delivered"]]


def test_push_webhooks_failed_post_resends_with_the_same_delivery_id(client):
    """A shop answering 500 gets the event again on the next push, recognisably."""
    with Receiver(500) as shop:
        tn = registered_and_picked_up(client, shop.url)
        assert push_due_webhooks() == 0
        assert stored(tn).pushed == 0
        assert push_due_webhooks() == 5
    ids = [headers["X-Sandbox-Delivery"] for headers, _ in shop.deliveries]
    assert ids[0] == ids[1] == f"dlv-{tn}-0"
    assert stored(tn).pushed == 5


def test_push_webhooks_unreachable_shop_keeps_them_due(client):
    """Nobody listening: nothing counts as sent and the next push tries again."""
    tn = registered_and_picked_up(client, closed_port_url())
    assert push_due_webhooks() == 0
    assert stored(tn).pushed == 0


def test_push_webhooks_duplicate_sends_every_delivery_twice(client):
    """Under the duplicate switch each delivery arrives twice with the same id."""
    with Receiver() as shop:
        registered_and_picked_up(client, shop.url)
        misbehave(client, "duplicate")
        assert push_due_webhooks() == 10
    ids = [headers["X-Sandbox-Delivery"] for headers, _ in shop.deliveries]
    assert ids[0::2] == ids[1::2] and len(set(ids)) == 5


def test_push_webhooks_shuffle_sends_newest_first(client):
    """Under the shuffle switch the newest event arrives first."""
    with Receiver() as shop:
        tn = registered_and_picked_up(client, shop.url)
        misbehave(client, "shuffle")
        push_due_webhooks()
    assert shop.codes() == ["DELIVERED", "OUT_FOR_DELIVERY", "IN_TRANSIT", "PICKED_UP",
                            "INFO_RECEIVED"]
    assert stored(tn).pushed == 5


def test_push_webhooks_unknown_adds_a_weather_hold(client):
    """Under the unknown switch an extra WEATHER_HOLD delivery follows the journey."""
    with Receiver() as shop:
        registered_and_picked_up(client, shop.url)
        misbehave(client, "unknown")
        assert push_due_webhooks() == 6
    assert shop.codes()[-1] == "WEATHER_HOLD"


def test_push_sandbox_webhooks_job_reports_what_it_sent(client, run_jobs):
    """The queued job pushes the due events and returns how many POSTs went out."""
    with Receiver() as shop:
        registered_and_picked_up(client, shop.url, journey="refused_return")
        job = push_sandbox_webhooks.enqueue()
        run_jobs()
    assert job.return_value() == 6
    assert shop.codes()[-2:] == ["REFUSED", "RETURN_TO_SENDER"]
