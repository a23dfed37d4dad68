"""With Redis stopped the app keeps working: pages render, confirmations commit and say the
carrier will hear later; when Redis is back, reconcile and a worker send what waited."""

import pytest
from redis import Redis
from sqlalchemy import func, select

from extensions import db
from models import SandboxParcel
from models.shipping.operations import parcel_of
from tests.blueprints.pages import text
from tests.blueprints.test_calls import card_order, card_version, next_call, record, reload
from tests.blueprints.test_carrier_settings import closed_port
from workers.reconcile import reconcile
from workers.redis_server import PrivateRedis

DELAYED = "Sending to the carrier is delayed; it will go out when the queue is back."

PAGES = {
    "agent": ["/", "/calls/"],
    "operator": ["/", "/orders/", "/shipping/", "/shipping/scan", "/dropship", "/intake/csv",
                 "/stock/"],
    "manager": ["/", "/boards/", "/boards/money", "/calls/team", "/orders/", "/shipping/",
                "/dropship", "/dropship/suppliers", "/intake/csv", "/settings/carriers",
                "/settings/channels", "/stock/"],
    "admin": ["/", "/boards/", "/settings/users", "/orders/"],
}


@pytest.fixture
def redis_down(app, tmp_path, monkeypatch):
    """Point the app at a port where no Redis runs; returns a PrivateRedis for that port."""
    port = closed_port()
    # Undone before the app fixture empties the test Redis, which stays reachable.
    monkeypatch.setitem(app.extensions, "redis", Redis.from_url(
        f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5, socket_timeout=2))
    server = PrivateRedis(str(tmp_path / "redis"), port=port)
    yield server
    server.stop()


@pytest.fixture
def sandbox(app, live_server, make_carrier):
    """The sandbox carrier served over HTTP by the live test server."""
    app.config["PUBLIC_URL"] = live_server
    return make_carrier(kind="sandbox", code="sbx", base_url=f"{live_server}/sandbox/carrier",
                        api_key="k", webhook_secret="k")


@pytest.mark.parametrize("role", sorted(PAGES))
def test_redis_down_pages_render_for_each_role(redis_down, login, make_order, role):
    make_order()
    client = login(role)
    for path in PAGES[role]:
        resp = client.get(path, follow_redirects=True)
        assert resp.status_code == 200, path


def test_redis_down_confirmation_commits_says_delayed_and_goes_out_when_back(
        redis_down, login, make_order, sandbox, run_jobs):
    order = make_order(carrier=sandbox)
    agent = login("agent")
    resp = record(agent, next_call(agent), "confirmed")
    assert resp.status_code == 200
    assert DELAYED in text(resp)
    assert reload(order.id).confirmation_status == "confirmed"
    assert parcel_of(order.id) is None or not parcel_of(order.id).tracking_number
    # Redis comes back on the same address: reconcile finds the confirmed order.
    redis_down.start()
    reconcile.enqueue()
    run_jobs()
    assert parcel_of(order.id).tracking_number.startswith("SBX")
    assert db.session.scalar(select(func.count()).select_from(SandboxParcel)) == 1


def test_redis_down_plain_form_confirmation_flashes_the_delay(redis_down, login, make_order,
                                                              sandbox):
    order = make_order(carrier=sandbox)
    agent = login("agent")
    card = next_call(agent)
    resp = agent.post(f"/calls/{card_order(card)}/outcome", follow_redirects=True,
                      data={"version": card_version(card), "outcome": "confirmed"})
    assert resp.status_code == 200 and DELAYED in text(resp)
    assert reload(order.id).confirmation_status == "confirmed"


def test_redis_up_confirmation_says_nothing_of_a_delay(login, make_order, sandbox, run_jobs):
    order = make_order(carrier=sandbox)
    agent = login("agent")
    resp = record(agent, next_call(agent), "confirmed")
    assert resp.status_code == 200 and DELAYED not in text(resp)
    run_jobs()
    assert parcel_of(order.id).tracking_number.startswith("SBX")


def test_redis_down_sending_a_prepaid_order_confirms_it_and_says_delayed(
        redis_down, login, make_order, make_channel, make_product, sandbox):
    channel = make_channel(confirm_by="system")
    order = make_order(channel=channel, carrier=sandbox, lines=[(make_product(stock=5), 1)],
                       push_status="not_sent", push_detail="Waiting for the channel.")
    resp = login("operator").post("/orders/send", htmx=True, data={"ids": [str(order.id)]})
    assert resp.status_code == 200
    assert f"#{order.id} confirmed by the system." in text(resp) and DELAYED in text(resp)
    assert reload(order.id).confirmation_status == "confirmed"


def test_redis_down_typed_tracking_number_is_saved_and_says_delayed(
        redis_down, login, make_order, make_user, sandbox):
    from models import Actor
    from models.orders.operations import change_confirmation

    order = make_order(carrier=sandbox)
    agent = make_user("agent")
    order.claimed_by_id = agent.id
    change_confirmation(order, "confirmed", Actor.of(agent))
    db.session.commit()
    resp = login("operator").post(f"/orders/{order.id}/tracking", htmx=True, data={
        "tracking_number": "SBX1234567890", "carrier_id": str(sandbox.id)})
    assert resp.status_code == 200, text(resp)
    assert DELAYED in text(resp)
    assert parcel_of(order.id).tracking_number == "SBX1234567890"
