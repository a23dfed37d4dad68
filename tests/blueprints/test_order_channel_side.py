"""The order page tells the channel's side: push status, news sent back, a late cancellation."""

import re

from models import Actor, ChannelNews, db, utcnow
from models.intake.channel_orders import cancel_from_channel
from tests.blueprints.pages import squash, text


def visible(resp) -> str:
    """The page's words as a reader sees them, markup dropped."""
    return squash(re.sub(r"<[^>]+>", " ", text(resp)))


def test_the_order_page_shows_what_the_channel_was_told(app, login, parcel_order, make_channel):
    channel = make_channel(kind="shopify", code="shop-a")
    order, _ = parcel_order("shipped", channel=channel)
    news = db.session.get(ChannelNews, order.id)
    news.state, news.last_error = "error", "Boutique: 503 Service Unavailable"
    db.session.commit()

    page = visible(login("operator").get(f"/orders/{order.id}"))
    assert "Push Sent" in page
    assert "Channel side Error" in page and "503 Service Unavailable" in page


def test_a_cancellation_after_confirmation_is_a_banner_on_the_order(app, login, parcel_order):
    order, _ = parcel_order("fulfilled")
    assert cancel_from_channel(order, Actor.channel("shop")) == "flagged"
    db.session.commit()
    assert order.channel_canceled_at <= utcnow()

    page = visible(login("operator").get(f"/orders/{order.id}"))
    assert "The channel canceled this order" in page
