"""Channel jobs over real HTTP: polling with health, cancellations, payments, and the
news of a shipped order pushed back with its tracking (or without it after the wait)."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Actor, AuditEvent, ChannelNews, Order, Parcel, db, utcnow
from models.intake.settings import IntakeSettings
from models.orders.operations import change_confirmation
from tests.channel_support import ORDER, shopify_order
from tests.workers.carriers.peer import Reply
from workers.channels.jobs import push_news, sync_channel

ORDERS = "/admin/api/2026-07/orders.json"


def page(*orders, next_info: str | None = None) -> Reply:
    """One page of the shop's orders, with a Link to the next one."""
    headers = ()
    if next_info:
        headers = (("Link", f'<http://shop/admin/api/2026-07/orders.json?limit=250&'
                            f'page_info={next_info}>; rel="next"'),)
    return Reply(200, json={"orders": list(orders)}, headers=headers)


def test_a_sync_pages_through_new_orders_once_and_keeps_the_channel_healthy(
        app, shopify, peer):
    peer.on("GET", ORDERS, page(shopify_order(1), next_info="p2"), page(shopify_order(2)),
            page(shopify_order(2)))
    assert sync_channel(shopify.id) == "2 page(s), 2 new order(s)"
    assert sync_channel(shopify.id) == "1 page(s), 0 new order(s)"

    orders = db.session.scalars(select(Order).order_by(Order.id)).all()
    assert [o.external_id for o in orders] == ["1", "2"]
    assert [(line.sku, line.quantity) for line in orders[0].lines] == [
        ("CAF-BRD-M", 1), ("SAV-NOIR-200", 2)]
    assert orders[0].push_status == "sent"
    asked = peer.seen("GET", ORDERS)
    assert asked[0].query["status"] == "any" and asked[1].query["page_info"] == "p2"
    db.session.refresh(shopify)
    assert shopify.last_success_at is not None and shopify.last_error is None
    assert shopify.orders_imported == 2 and shopify.sync_cursor


@pytest.mark.parametrize("failure", [Reply(503, body="busy"), Reply(200, body="{not json")])
def test_a_failing_shop_is_shown_on_the_channel_until_a_sync_succeeds(
        app, shopify, peer, failure):
    peer.on("GET", ORDERS, failure, failure, page(shopify_order(1)))
    sync_channel(shopify.id)
    db.session.refresh(shopify)
    first_failure = shopify.failing_since
    assert shopify.last_error and first_failure is not None
    sync_channel(shopify.id)
    db.session.refresh(shopify)
    assert shopify.failing_since == first_failure  # failing since the first failure
    sync_channel(shopify.id)
    db.session.refresh(shopify)
    assert (shopify.last_error, shopify.failing_since) == (None, None)
    assert db.session.scalar(select(Order.external_id)) == "1"


def test_a_shop_that_does_not_answer_in_time_is_a_failure_not_a_hang(app, shopify, peer):
    app.config["HTTP_TIMEOUT"] = 1.5
    peer.on("GET", ORDERS, Reply(200, json={"orders": []}, delay=5))
    assert sync_channel(shopify.id).startswith("failed")
    db.session.refresh(shopify)
    assert shopify.failing_since is not None


def test_the_channel_cancels_an_unconfirmed_order_and_frees_the_agent_holding_it(
        app, shopify, peer, make_user):
    peer.on("GET", ORDERS, page(shopify_order(1)),
            page(shopify_order(1, cancelled_at="2026-11-28T10:00:00+01:00",
                               cancel_reason="customer")))
    sync_channel(shopify.id)
    order = db.session.scalar(select(Order))
    agent = make_user("agent")
    order.claimed_by_id = agent.id
    db.session.commit()

    sync_channel(shopify.id)
    db.session.refresh(order)
    assert (order.confirmation_status, order.claimed_by_id) == ("canceled", None)
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.order_id == order.id, AuditEvent.kind == "confirmation")).one()
    assert (event.actor_name, event.to_value, event.note) == (
        "channel:boutique", "canceled", "Canceled by the channel")


def test_a_cancellation_after_confirmation_flags_the_order_for_an_operator(
        app, shopify, peer, make_user):
    peer.on("GET", ORDERS, page(shopify_order(1)),
            page(shopify_order(1, cancelled_at="2026-11-28T10:00:00+01:00")))
    sync_channel(shopify.id)
    order = db.session.scalar(select(Order))
    agent = make_user("agent")
    order.claimed_by_id = agent.id
    change_confirmation(order, "confirmed", Actor.of(agent))
    db.session.commit()

    sync_channel(shopify.id)
    sync_channel(shopify.id)  # told twice: flagged once
    db.session.refresh(order)
    assert order.confirmation_status == "confirmed"
    assert order.channel_canceled_at is not None
    flags = db.session.scalars(select(AuditEvent).where(
        AuditEvent.order_id == order.id, AuditEvent.kind == "channel_cancel")).all()
    assert len(flags) == 1


def test_an_order_held_until_paid_goes_on_when_the_shop_says_it_is_paid(app, shopify, peer):
    shopify.forward_when = "paid"
    db.session.commit()
    peer.on("GET", ORDERS, page(shopify_order(1)),
            page(shopify_order(1, financial_status="paid")))
    sync_channel(shopify.id)
    order = db.session.scalar(select(Order))
    assert order.push_status == "not_sent"
    sync_channel(shopify.id)
    db.session.refresh(order)
    assert (order.push_status, order.paid) == ("sent", True)


def test_a_prepaid_shop_order_is_confirmed_by_the_system_once_paid(app, shopify, peer):
    shopify.forward_when, shopify.confirm_by = "paid", "system"
    db.session.commit()
    peer.on("GET", ORDERS, page(shopify_order(1)),
            page(shopify_order(1, financial_status="paid")))
    sync_channel(shopify.id)
    order = db.session.scalar(select(Order))
    assert (order.push_status, order.confirmation_status) == ("not_sent", "new")
    sync_channel(shopify.id)
    db.session.refresh(order)
    assert (order.push_status, order.confirmation_status) == ("sent", "confirmed")
    pushes = db.session.execute(select(AuditEvent.actor_name, AuditEvent.to_value).where(
        AuditEvent.order_id == order.id, AuditEvent.kind == "push")).all()
    assert pushes == [("channel:boutique", "sent")]


# -- news back -----------------------------------------------------------------------

FULFILLMENT_ORDERS = "/admin/api/2026-07/orders/{}/fulfillment_orders.json"
FULFILL = "/admin/api/2026-07/fulfillments.json"


def shipped(parcel_order, shopify, external_id: str, tracking: str | None = "CB123456789MA"):
    """An order of the shop walked to Shipped by its carrier."""
    order, parcel = parcel_order("shipped", tracking=tracking or "PLACEHOLDER1",
                                 channel=shopify, external_id=external_id)
    if tracking is None:
        parcel.tracking_number = None
        db.session.commit()
    return order


def open_fulfillment(shop, external_id: str) -> None:
    """The shop has one open fulfilment order for this order, then none once fulfilled."""
    shop.on("GET", FULFILLMENT_ORDERS.format(external_id),
            Reply(200, json={"fulfillment_orders": [{"id": 77, "status": "open"}]}))


def test_a_shipped_order_tells_the_shop_its_tracking_and_carrier_once(
        app, shopify, peer, parcel_order):
    order = shipped(parcel_order, shopify, "501")
    open_fulfillment(peer, "501")
    peer.on("POST", FULFILL, Reply(201, json={"fulfillment": {"id": 9, "status": "success"}}))
    news = db.session.get(ChannelNews, order.id)
    assert news.state == "waiting"

    assert push_news(shopify.id) == "1 sent, 0 failed"
    assert push_news(shopify.id) == "0 sent, 0 failed"
    body = peer.seen("POST", FULFILL)[0].json()["fulfillment"]
    assert body["tracking_info"]["number"] == "CB123456789MA"
    assert body["tracking_info"]["company"] == order.carrier.name
    db.session.refresh(news)
    assert (news.state, news.tracking_number) == ("sent", "CB123456789MA")


def test_without_a_tracking_code_the_news_waits_three_hours_then_goes_without_one(
        app, shopify, peer, parcel_order):
    order = shipped(parcel_order, shopify, "502", tracking=None)
    open_fulfillment(peer, "502")
    peer.on("POST", FULFILL, Reply(201, json={"fulfillment": {"id": 9}}))
    shipped_at = db.session.get(ChannelNews, order.id).shipped_at
    wait = IntakeSettings.load().news_wait_minutes

    assert push_news(shopify.id, now=shipped_at + timedelta(minutes=wait - 1)) == (
        "0 sent, 0 failed")
    assert db.session.get(ChannelNews, order.id).state == "waiting"
    assert push_news(shopify.id, now=shipped_at + timedelta(minutes=wait + 1)) == (
        "1 sent, 0 failed")
    body = peer.seen("POST", FULFILL)[0].json()["fulfillment"]
    assert "tracking_info" not in body
    assert db.session.get(ChannelNews, order.id).state == "sent"


def test_a_tracking_code_arriving_during_the_wait_goes_at_once(
        app, shopify, peer, parcel_order):
    order = shipped(parcel_order, shopify, "503", tracking=None)
    open_fulfillment(peer, "503")
    peer.on("POST", FULFILL, Reply(201, json={"fulfillment": {"id": 9}}))
    db.session.scalar(select(Parcel).where(Parcel.order_id == order.id)).tracking_number = (
        "LATE0001MA")
    db.session.commit()
    assert push_news(shopify.id, now=utcnow() + timedelta(minutes=10)) == "1 sent, 0 failed"
    assert peer.seen("POST", FULFILL)[0].json()["fulfillment"]["tracking_info"]["number"] == (
        "LATE0001MA")


def test_a_refused_push_is_shown_and_retried_every_five_minutes_until_it_succeeds(
        app, shopify, peer, parcel_order):
    order = shipped(parcel_order, shopify, "504")
    open_fulfillment(peer, "504")
    peer.on("POST", FULFILL, Reply(500, body="oops"), Reply(201, json={"fulfillment": {}}))
    now = utcnow()

    assert push_news(shopify.id, now=now) == "0 sent, 1 failed"
    news = db.session.get(ChannelNews, order.id)
    assert news.state == "error" and news.last_error.startswith(shopify.name)
    assert news.next_attempt_at == now + timedelta(minutes=5)
    assert push_news(shopify.id, now=now + timedelta(minutes=4)) == "0 sent, 0 failed"
    assert push_news(shopify.id, now=now + timedelta(minutes=5)) == "1 sent, 0 failed"
    db.session.refresh(news)
    assert (news.state, news.attempts, news.last_error) == ("sent", 2, None)
    assert len(peer.seen("POST", FULFILL)) == 2


def test_channels_people_feed_owe_no_news(app, parcel_order, make_channel):
    order, _ = parcel_order("shipped", channel=make_channel(kind="csv"))
    assert db.session.get(ChannelNews, order.id) is None


def test_webhook_body_of_the_fixture_is_signed_as_documented():
    digest = hmac.new(b"test_shopify_client_secret", ORDER.read_bytes(), hashlib.sha256).digest()
    assert base64.b64encode(digest).decode() == "F1DS1Xg6SNXOoZ9/gNw/LNdNgIPeFM6VxUQg/1Z76NE="
    assert json.loads(ORDER.read_bytes())["name"] == "#1042"


def test_reconcile_restarts_an_upload_whose_job_was_lost(app, make_channel, make_product,
                                                         run_jobs):
    from models import CsvImport
    from workers.reconcile import reconcile

    product = make_product(stock=5)
    content = (f"order_id,customer_name,phone,address,city,sku,quantity\n"
               f"R-1,Amine Tazi,0612345678,3 Rue Fes,Rabat,{product.sku},1\n").encode()
    upload = CsvImport(channel_id=make_channel().id, filename="lost.csv", content=content,
                       state="checking", created_at=utcnow() - timedelta(minutes=5))
    db.session.add(upload)
    db.session.commit()  # stored, but its check job never reached Redis

    assert reconcile()["csv"] == 1
    run_jobs()
    db.session.refresh(upload)
    assert (upload.state, upload.valid_orders) == ("checked", 1)
