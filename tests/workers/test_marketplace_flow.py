"""The demo's loop over real HTTP: the sandbox marketplace places orders, the channel
sync brings them into the call queue, and a shipped order's tracking reaches the shop."""

import requests
from sqlalchemy import select

from models import Actor, ChannelNews, Order, Parcel, db
from models.calls.queue import claim_next
from models.orders.operations import change_confirmation, change_shipping
from models.settings import CallSettings
from workers.channels.jobs import push_news, sync_due_channels
from workers.sandbox_jobs import produce_sandbox_orders
from workers.shipping import register_parcels

KEY = "sandbox-demo-key"


def test_marketplace_orders_arrive_by_themselves_and_hear_back_their_tracking(
        app, live_server, make_product, make_carrier, make_channel, make_user, run_jobs):
    for n in range(3):
        make_product(stock=30, sku=f"MKT-{n}")
    carrier = make_carrier(kind="sandbox", code="sandbox", name="Sandbox Express",
                           base_url=f"{live_server}/sandbox/carrier", api_key=KEY,
                           webhook_secret=KEY)
    channel = make_channel(kind="sandbox", code="marketplace", name="Sandbox Marketplace",
                           base_url=f"{live_server}/sandbox/marketplace", api_key=KEY,
                           webhook_secret=KEY, default_carrier_id=carrier.id,
                           poll_interval_minutes=1)

    assert produce_sandbox_orders(api_key=KEY, count=2) == 2
    assert sync_due_channels() == 1
    run_jobs()
    orders = db.session.scalars(select(Order).where(Order.channel_id == channel.id)).all()
    assert len(orders) == 2 and {o.push_status for o in orders} == {"sent"}

    agent = make_user("agent")
    card = claim_next(Actor.of(agent), CallSettings.load())
    order = db.session.get(Order, card.id)
    assert order.channel_id == channel.id  # a marketplace order came up in the call queue
    change_confirmation(order, "confirmed", Actor.of(agent))
    db.session.commit()
    register_parcels()
    parcel = db.session.scalar(select(Parcel).where(Parcel.order_id == order.id))
    assert parcel.tracking_number and parcel.carrier_id == carrier.id
    change_shipping(order, "fulfilled", Actor.of(make_user("operator")))
    change_shipping(order, "shipped", Actor.carrier("sandbox"))
    db.session.commit()

    assert push_news(channel.id) == "1 sent, 0 failed"
    assert db.session.get(ChannelNews, order.id).state == "sent"
    shop = requests.get(f"{live_server}/sandbox/marketplace/orders",
                        headers={"Authorization": f"Bearer {KEY}"}, timeout=5).json()
    told = {o["number"]: o["fulfilment"] for o in shop["orders"]}
    assert told[order.external_id]["tracking_number"] == parcel.tracking_number
    page = requests.get(f"{live_server}/sandbox/marketplace/", timeout=5).text
    assert parcel.tracking_number in page
