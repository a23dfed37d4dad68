"""Shipping jobs against the sandbox carrier over real HTTP: registration, hand-over and
tracking sync, carrier failures, signed webhooks, redeliveries and reconcile."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select, update

from extensions import db
from models import Actor, AuditEvent, Carrier, Order, SandboxParcel, utcnow
from models.orders.operations import change_confirmation
from models.shipping.operations import move_by_hand, open_parcel, parcel_of
from models.shipping.tables import CarrierWebhook, Parcel, ParcelEvent
from tests.blueprints.test_calls import next_call, record
from tests.blueprints.test_carrier_settings import closed_port
from workers import get_queue
from workers.carriers import CarrierError, adapter_for
from workers.reconcile import reconcile
from workers.shipping import (
    _request,
    carrier_config,
    register_parcels,
    sync_carrier,
)

KEY = "test-key"


@pytest.fixture
def sandbox(app, live_server, make_carrier):
    """A carrier of kind sandbox served by the live test server; webhooks come back to it."""
    app.config["PUBLIC_URL"] = live_server
    return make_carrier(kind="sandbox", code="sbx", base_url=f"{live_server}/sandbox/carrier",
                        api_key=KEY, webhook_secret=KEY)


@pytest.fixture
def confirmed(make_order, make_user, sandbox):
    """confirmed(**overrides): an order an agent confirmed for the sandbox carrier."""

    def make(**overrides) -> Order:
        order = make_order(carrier=sandbox, **overrides)
        agent = make_user("agent")
        order.claimed_by_id = agent.id
        change_confirmation(order, "confirmed", Actor.of(agent))
        db.session.commit()
        return order

    return make


@pytest.fixture
def operator(make_user):
    return Actor.of(make_user("operator"))


def misbehave(live_server, mode, times=1, seconds=2.0):
    """Ask the sandbox carrier to misbehave on its next calls."""
    requests.post(f"{live_server}/sandbox/carrier/misbehave",
                  json={"mode": mode, "times": times, "seconds": seconds}, timeout=5)


def journey(order, name):
    """Choose the sandbox parcel's journey (the other side's own record)."""
    tn = parcel_of(order.id).tracking_number
    db.session.execute(update(SandboxParcel).where(SandboxParcel.tracking_number == tn)
                       .values(journey=name))
    db.session.commit()


def reload(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


def registered(order, run_jobs):
    """Register the order's parcel through the job and return it."""
    register_parcels.enqueue()
    run_jobs()
    parcel = parcel_of(order.id)
    assert parcel.tracking_number, parcel.last_error
    return parcel


def timeline(parcel_id):
    return db.session.execute(
        select(ParcelEvent.source, ParcelEvent.raw_code, ParcelEvent.outcome)
        .filter_by(parcel_id=parcel_id).order_by(ParcelEvent.occurred_at, ParcelEvent.id)).all()


# --- registration -------------------------------------------------------------------


def test_confirmed_order_gets_a_tracking_number_from_the_sandbox(confirmed, run_jobs):
    order = confirmed()
    parcel = registered(order, run_jobs)
    assert parcel.tracking_number.startswith("SBX") and parcel.label_url
    assert db.session.scalar(select(func.count()).select_from(SandboxParcel)) == 1
    audit = db.session.execute(select(AuditEvent).filter_by(order_id=order.id, kind="parcel")
                               ).scalar_one()
    assert audit.to_value == parcel.tracking_number and audit.actor_name == "carrier:sbx"


def test_confirming_on_the_call_screen_registers_the_parcel(login, make_order, sandbox,
                                                            run_jobs):
    order = make_order(carrier=sandbox)
    agent = login("agent")
    assert record(agent, next_call(agent), "confirmed").status_code == 200
    run_jobs()  # the confirmation nudged the registration job
    assert parcel_of(order.id).tracking_number.startswith("SBX")


def test_registration_retried_after_the_carrier_answered_reuses_its_parcel(
        confirmed, sandbox, run_jobs):
    order = confirmed()
    parcel = open_parcel(order)
    db.session.commit()
    # A first attempt reached the carrier, but its answer was lost with the worker.
    adapter = adapter_for(carrier_config(sandbox))
    first = adapter.register(_request(order, parcel, sandbox))
    register_parcels.enqueue()
    register_parcels.enqueue()
    run_jobs()
    assert reload(Parcel, parcel.id).tracking_number == first.tracking_number
    assert db.session.scalar(select(func.count()).select_from(SandboxParcel)) == 1


def test_registration_failure_is_shown_then_retried(confirmed, live_server, run_jobs):
    order = confirmed()
    misbehave(live_server, "500")
    with pytest.raises(CarrierError):
        register_parcels()  # the job body, as a worker runs it; RQ would retry
    parcel = parcel_of(order.id)
    assert parcel.tracking_number is None and "500" in parcel.last_error
    # The retry comes after a pause; reconcile finds it due again.
    db.session.execute(update(Parcel).values(last_error_at=utcnow() - timedelta(minutes=2)))
    db.session.commit()
    reconcile.enqueue()
    run_jobs()
    parcel = reload(Parcel, parcel.id)
    assert parcel.tracking_number.startswith("SBX") and parcel.last_error is None


def test_order_without_any_carrier_says_so_on_its_parcel(make_order, make_user, run_jobs):
    order = make_order(carrier=None)
    agent = make_user("agent")
    order.claimed_by_id = agent.id
    change_confirmation(order, "confirmed", Actor.of(agent))
    db.session.commit()
    register_parcels.enqueue()
    run_jobs()
    assert "No carrier" in parcel_of(order.id).last_error


# --- hand-over and tracking sync ------------------------------------------------------


def test_sync_hands_over_packed_parcels_and_applies_their_journey(confirmed, sandbox,
                                                                  operator, run_jobs):
    order = confirmed()
    parcel = registered(order, run_jobs)
    journey(order, "failed_then_delivered")
    move_by_hand(order, "fulfilled", operator, source="scan")
    db.session.commit()
    sync_carrier.enqueue(sandbox.id)
    run_jobs()
    parcel = reload(Parcel, parcel.id)
    assert parcel.handed_over_at is not None and parcel.last_synced_at is not None
    assert reload(Order, order.id).shipping_status == "delivered"
    codes = [(source, code, outcome) for source, code, outcome in timeline(parcel.id)]
    assert codes[:2] == [("api", "INFO_RECEIVED", "ignored"), ("scan", "", "applied")]
    assert ("api", "DELIVERY_FAILED", "applied") in codes
    assert codes[-1] == ("api", "DELIVERED", "applied")
    assert reload(Carrier, sandbox.id).last_sync_at is not None


def test_sync_of_a_refused_parcel_ends_in_return_and_stops_asking(confirmed, sandbox,
                                                                  operator, run_jobs):
    order = confirmed()
    parcel = registered(order, run_jobs)
    journey(order, "refused_return")
    move_by_hand(order, "fulfilled", operator)
    db.session.commit()
    sync_carrier.enqueue(sandbox.id)
    run_jobs()
    assert reload(Order, order.id).shipping_status == "in_return"
    assert reload(Parcel, parcel.id).final is True
    assert sync_carrier(sandbox.id) == "0 parcels asked, 0 moves applied"


@pytest.mark.parametrize(("mode", "words"), [
    ("timeout", "did not answer"), ("500", "500"), ("malformed", "JSON")])
def test_a_failing_carrier_shows_its_error_and_the_next_sync_recovers(
        app, confirmed, sandbox, operator, live_server, run_jobs, mode, words):
    order = confirmed()
    parcel = registered(order, run_jobs)
    journey(order, "delivered")
    move_by_hand(order, "fulfilled", operator)
    db.session.commit()
    sync_carrier(sandbox.id)  # hand-over and a first, clean sync
    # Room for a busy machine on a healthy answer; the stall is well past it.
    app.config["HTTP_TIMEOUT"] = 1.5
    db.session.execute(update(Parcel).values(last_synced_at=None))
    db.session.commit()
    misbehave(live_server, mode, seconds=4)
    with pytest.raises(CarrierError):
        sync_carrier(sandbox.id)
    error = reload(Parcel, parcel.id).last_error
    assert error and words.lower() in error.lower(), error
    assert reload(Carrier, sandbox.id).last_error == error
    sync_carrier(sandbox.id)
    assert reload(Parcel, parcel.id).last_error is None
    assert reload(Carrier, sandbox.id).last_error is None


def test_duplicated_out_of_order_and_unknown_events_from_sync(confirmed, sandbox, operator,
                                                              live_server, run_jobs):
    order = confirmed()
    parcel = registered(order, run_jobs)
    journey(order, "delivered")
    move_by_hand(order, "fulfilled", operator)
    db.session.commit()
    misbehave(live_server, "duplicate")
    misbehave(live_server, "shuffle")
    misbehave(live_server, "unknown")
    for _ in range(3):
        db.session.execute(update(Parcel).values(last_synced_at=None))
        db.session.commit()
        sync_carrier(sandbox.id)
    assert reload(Order, order.id).shipping_status == "delivered"
    codes = [code for _s, code, _o in timeline(parcel.id)]
    assert codes.count("DELIVERED") == 1 and codes.count("PICKED_UP") == 1
    unmapped = db.session.execute(select(ParcelEvent).filter_by(parcel_id=parcel.id,
                                                                raw_code="WEATHER_HOLD")
                                  ).scalar_one()
    assert unmapped.outcome == "unmapped"
    moves = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.order_id == order.id, AuditEvent.actor_name == "carrier:sbx",
        AuditEvent.kind == "shipping"))
    assert moves == 2  # fulfilled → shipped → delivered, once each


def test_canceled_order_is_cancelled_at_the_carrier(confirmed, sandbox, operator, run_jobs):
    order = confirmed()
    parcel = registered(order, run_jobs)
    move_by_hand(order, "canceled", operator)
    db.session.commit()
    sync_carrier(sandbox.id)
    assert reload(Parcel, parcel.id).carrier_canceled_at is not None
    stored = db.session.execute(select(SandboxParcel)).scalar_one()
    assert stored.canceled_at is not None


# --- webhooks -------------------------------------------------------------------------


def signed(body: dict, key: str = KEY, delivery: str = "dlv-1"):
    raw = json.dumps(body).encode()
    return raw, {"Content-Type": "application/json", "X-Sandbox-Delivery": delivery,
                 "X-Sandbox-Signature": hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()}


def event(tn, code, at, event_id):
    return {"tracking_number": tn, "events": [{
        "id": event_id, "code": code, "description": code.title(), "location": "Rabat",
        "time": at.isoformat() + "Z"}]}


def stored_webhooks() -> int:
    return db.session.scalar(select(func.count()).select_from(CarrierWebhook))


def test_sandbox_webhooks_move_the_order_through_the_apply_job(confirmed, sandbox, operator,
                                                               live_server, run_jobs):
    order = confirmed()
    parcel = registered(order, run_jobs)
    journey(order, "delivered")
    move_by_hand(order, "fulfilled", operator)
    db.session.commit()
    adapter_for(carrier_config(sandbox)).hand_over([parcel.tracking_number])
    sent = requests.post(f"{live_server}/sandbox/carrier/push", timeout=10).json()["sent"]
    assert sent == 5 and stored_webhooks() == 5  # info received + four journey steps
    run_jobs()
    assert reload(Order, order.id).shipping_status == "delivered"
    assert {source for source, _c, _o in timeline(parcel.id)} == {"manual", "webhook"}
    # The carrier delivers them all again: nothing new is stored or applied.
    db.session.execute(update(SandboxParcel).values(pushed=0))
    db.session.commit()
    requests.post(f"{live_server}/sandbox/carrier/push", timeout=10)
    run_jobs()
    assert stored_webhooks() == 5 and len(timeline(parcel.id)) == 6


def test_webhook_redelivery_is_stored_once(client, confirmed, sandbox, run_jobs):
    order = confirmed()
    parcel = registered(order, run_jobs)
    raw, headers = signed(event(parcel.tracking_number, "INFO_RECEIVED", utcnow(), "x-0"))
    first = client.post("/api/v1/carriers/sbx/webhook", data=raw, headers=headers, csrf=False)
    again = client.post("/api/v1/carriers/sbx/webhook", data=raw, headers=headers, csrf=False)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.get_json()["status"] == "duplicate" and stored_webhooks() == 1


@pytest.mark.parametrize("tamper", ["wrong key", "missing", "body changed"])
def test_webhook_with_a_bad_signature_is_refused_and_writes_nothing(client, confirmed,
                                                                    sandbox, tamper):
    raw, headers = signed(event("SBX1", "DELIVERED", utcnow(), "x-1"),
                          key="other" if tamper == "wrong key" else KEY)
    if tamper == "missing":
        headers.pop("X-Sandbox-Signature")
    if tamper == "body changed":
        raw = raw.replace(b"Rabat", b"Tanger")
    resp = client.post("/api/v1/carriers/sbx/webhook", data=raw, headers=headers, csrf=False)
    assert resp.status_code == 401 and "signature" in resp.get_json()["error"]
    assert stored_webhooks() == 0 and get_queue("carriers").count == 0


def test_webhook_for_an_unknown_carrier_is_404(client, sandbox):
    raw, headers = signed(event("SBX1", "DELIVERED", utcnow(), "x-2"))
    resp = client.post("/api/v1/carriers/nobody/webhook", data=raw, headers=headers, csrf=False)
    assert resp.status_code == 404 and stored_webhooks() == 0


def test_signed_but_malformed_webhook_is_a_400_that_writes_nothing(client, sandbox):
    raw = b'{"tracking_number": "SBX1", "events": [{"code": '
    _, headers = signed({})
    headers["X-Sandbox-Signature"] = hmac.new(KEY.encode(), raw, hashlib.sha256).hexdigest()
    resp = client.post("/api/v1/carriers/sbx/webhook", data=raw, headers=headers, csrf=False)
    assert resp.status_code == 400 and stored_webhooks() == 0


def test_late_webhook_older_than_the_applied_one_is_recorded_stale(client, confirmed,
                                                                   operator, run_jobs):
    order = confirmed()
    parcel = registered(order, run_jobs)
    move_by_hand(order, "fulfilled", operator)
    db.session.commit()
    tn, now = parcel.tracking_number, utcnow()
    for code, minutes, delivery in [("PICKED_UP", -30, "a"), ("DELIVERED", -5, "b")]:
        raw, headers = signed(event(tn, code, now + timedelta(minutes=minutes), delivery),
                              delivery=delivery)
        client.post("/api/v1/carriers/sbx/webhook", data=raw, headers=headers, csrf=False)
    run_jobs()
    raw, headers = signed(event(tn, "DELIVERY_FAILED", now - timedelta(minutes=20), "c"),
                          delivery="c")
    assert client.post("/api/v1/carriers/sbx/webhook", data=raw, headers=headers,
                       csrf=False).status_code == 202
    run_jobs()
    assert reload(Order, order.id).shipping_status == "delivered"
    late = db.session.execute(select(ParcelEvent).filter_by(parcel_id=parcel.id,
                                                            raw_code="DELIVERY_FAILED")
                              ).scalar_one()
    assert late.outcome == "stale" and late.source == "webhook"


def test_reconcile_applies_webhooks_whose_job_was_lost(client, confirmed, operator, run_jobs):
    order = confirmed()
    parcel = registered(order, run_jobs)
    move_by_hand(order, "fulfilled", operator)
    db.session.commit()
    raw, headers = signed(event(parcel.tracking_number, "PICKED_UP", utcnow(), "lost"))
    client.post("/api/v1/carriers/sbx/webhook", data=raw, headers=headers, csrf=False)
    get_queue("carriers").empty()  # Redis lost the job
    db.session.execute(update(CarrierWebhook).values(
        received_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    reconcile.enqueue()
    run_jobs()
    assert reload(Order, order.id).shipping_status == "shipped"
    assert db.session.execute(select(CarrierWebhook.processed_at)).scalar_one() is not None


# --- Redis unreachable -------------------------------------------------------------------


def test_with_redis_down_webhooks_and_confirmations_are_kept_for_reconcile(
        app, client, login, make_order, sandbox, run_jobs, monkeypatch):
    from redis import Redis

    order = make_order(carrier=sandbox)
    working = app.extensions["redis"]
    monkeypatch.setitem(app.extensions, "redis", Redis.from_url(
        f"redis://127.0.0.1:{closed_port()}/0", socket_connect_timeout=0.5))
    agent = login("agent")
    assert record(agent, next_call(agent), "confirmed").status_code == 200  # not a 500
    raw, headers = signed(event("SBX-UNKNOWN", "PICKED_UP", utcnow(), "down-1"))
    resp = client.post("/api/v1/carriers/sbx/webhook", data=raw, headers=headers, csrf=False)
    assert resp.status_code == 202 and stored_webhooks() == 1  # stored, the job waits
    # Redis is back: reconcile finds the registration and the webhook the database holds.
    monkeypatch.setitem(app.extensions, "redis", working)
    db.session.execute(update(CarrierWebhook).values(
        received_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    reconcile.enqueue()
    run_jobs()
    assert parcel_of(order.id).tracking_number.startswith("SBX")
    assert db.session.execute(select(CarrierWebhook.processed_at)).scalar_one() is not None


# --- numbers typed by an operator ----------------------------------------------------------


def test_aftership_registers_the_number_an_operator_typed(make_order, make_user, make_carrier,
                                                          run_jobs):
    from models.shipping.operations import set_tracking
    from tests.workers.carriers.peer import Peer, Reply
    from tests.workers.carriers.test_aftership import API, NUMBER_A, SECRET, fixture

    with Peer.running() as peer:
        peer.on("POST", f"{API}/trackings", Reply(201, json=fixture("create_tracking.json")))
        carrier = make_carrier(kind="aftership", code="amana", base_url=peer.url + API,
                               api_key="asak", webhook_secret=SECRET,
                               settings={"slug": "amana"})
        order = make_order(carrier=carrier)
        agent = make_user("agent")
        order.claimed_by_id = agent.id
        change_confirmation(order, "confirmed", Actor.of(agent))
        db.session.commit()
        register_parcels.enqueue()
        run_jobs()  # AfterShip only follows numbers: nothing to register yet
        assert "tracking number" in parcel_of(order.id).last_error
        assert peer.seen("POST", f"{API}/trackings") == []
        set_tracking(order, NUMBER_A, carrier.id, Actor.of(make_user("operator")))
        db.session.commit()
        register_parcels.enqueue()
        run_jobs()
        [created] = peer.seen("POST", f"{API}/trackings")
        assert created.json()["tracking_number"] == NUMBER_A
        parcel = parcel_of(order.id)
        assert parcel.registered_at is not None and parcel.last_error is None


def test_a_number_typed_for_a_carrier_that_issues_numbers_is_not_registered_twice(
        confirmed, operator, run_jobs):
    from models.shipping.operations import set_tracking

    order = confirmed()
    set_tracking(order, "SBX0000000042", order.carrier_id, operator)
    db.session.commit()
    register_parcels.enqueue()
    run_jobs()
    parcel = parcel_of(order.id)
    assert parcel.registered_at is not None and parcel.tracking_number == "SBX0000000042"
    assert db.session.scalar(select(func.count()).select_from(SandboxParcel)) == 0
