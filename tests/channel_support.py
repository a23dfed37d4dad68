"""Fixtures for channel tests: a Shopify shop played by a local HTTP peer, its orders."""

import json
from pathlib import Path

import pytest

from models import db
from tests.workers.carriers.peer import Peer

ORDER = Path(__file__).resolve().parent / "fixtures" / "channels" / "shopify_order.json"
SECRET = "test_shopify_client_secret"


def shopify_order(order_id: int = 5832145698871, **changes) -> dict:
    """The shop's order as Shopify documents it (an orders/create body), with changes."""
    order = json.loads(ORDER.read_text())
    order["id"] = order_id
    order.update(changes)
    return order


@pytest.fixture
def peer():
    with Peer.running() as running:
        yield running


@pytest.fixture
def shopify(app, peer, make_channel, make_product, make_warehouse):
    """A Shopify channel at the peer, and the two products its fixture order sells."""
    warehouse = make_warehouse()
    for sku, price in (("CAF-BRD-M", 39900), ("SAV-NOIR-200", 7500)):
        make_product(stock=20, warehouse=warehouse, sku=sku, price_cents=price)
    channel = make_channel(kind="shopify", code="boutique", base_url=peer.url,
                           api_key="shpat_test", webhook_secret=SECRET)
    db.session.commit()
    return channel
