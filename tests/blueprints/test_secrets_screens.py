"""Partner secrets typed into the settings screens: never in the database in plain text,
never shown back in full, and still sent to the partner (over real HTTP) as typed."""

import base64
import hashlib
import hmac
import json
import re

import pytest
from sqlalchemy import inspect, select, text

import workers.suppliers.jobs as supplier_jobs
from extensions import db
from models import Actor, Carrier, Channel, Supplier
from models.dropship.operations import request_processing
from tests.dropship_support import supplier_orders
from tests.workers.carriers.peer import Peer, Reply
from workers.suppliers.http_json import DEFAULT_SETTINGS

CARRIER_KEY = "ck_live_carrier_7a1f93d2e8"
CARRIER_HOOK = "cwh_carrier_hook_5b6c7d8e9f"
SHOP_TOKEN = "shpat_channel_token_0c1d2e3f"
SHOP_SECRET = "shsec_channel_secret_4a5b6c7d"
SHOP_OLD_HOOK = "whsec_channel_hook_old_8e9f0a1b"
SHOP_NEW_HOOK = "whsec_channel_hook_new_2c3d4e5f"
SUPPLIER_TOKEN = "sup_live_token_6d7e8f9a0b1c"
EVERY_SECRET = (CARRIER_KEY, CARRIER_HOOK, SHOP_TOKEN, SHOP_SECRET, SHOP_OLD_HOOK,
                SHOP_NEW_HOOK, SUPPLIER_TOKEN)
POLL = re.compile(r'hx-get="(/settings/carriers/\d+/test/[^"]+)"')


@pytest.fixture
def peer():
    """A partner on 127.0.0.1 (carrier or shop), every request recorded."""
    with Peer.running() as running:
        yield running


def carrier_form(**overrides) -> dict:
    """The carrier form as a browser posts it."""
    return {"name": "Amana Express", "code": "amana", "kind": "sandbox", "active": "y",
            "base_url": "", "api_key": "", "webhook_secret": "", "detect_as": "", **overrides}


def channel_form(**overrides) -> dict:
    """The channel form as a browser posts it (a Shopify shop)."""
    return {"name": "Souk Shop", "code": "souk", "kind": "shopify", "active": "y",
            "base_url": "https://souk.myshopify.com", "api_key": "", "api_secret": "",
            "webhook_secret": "", "api_version": "", "poll_interval_minutes": "5",
            "forwarding": "always", "forward_when": "committed", "confirm_by": "agent",
            "default_carrier_id": "", **overrides}


def supplier_form(**overrides) -> dict:
    """The supplier form as a browser posts it (a JSON-API supplier)."""
    return {"name": "Atlas Wholesale", "kind": "http_json", "active": "y",
            "base_url": "https://api.atlas.example/v1", "api_key": "",
            "default_shipping_method": "Standard", "edit_before_submit": "y",
            "poll_interval_minutes": "5", "settings_json": json.dumps(DEFAULT_SETTINGS),
            "drop_url": "", **overrides}


def saved(model, **where):
    """A row as stored, after the requests' work."""
    db.session.rollback()
    return db.session.scalar(select(model).filter_by(**where))


def database_dump() -> str:
    """Every column of every row of every table, as the database hands them out."""
    rows = []
    with db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            rows += [repr(tuple(row)) for row in conn.execute(text(f'SELECT * FROM "{table}"'))]
    return "\n".join(rows)


def add_partners(c, base_url: str = "https://partner.example") -> None:
    """A manager types a carrier, a Shopify channel (its webhook secret replaced once) and a
    supplier, each with its secrets, into the settings screens."""
    resp = c.post("/settings/carriers/new", data=carrier_form(
        base_url=base_url, api_key=CARRIER_KEY, webhook_secret=CARRIER_HOOK))
    assert resp.status_code == 303, resp.get_data(as_text=True)
    resp = c.post("/settings/channels/new", data=channel_form(
        base_url=base_url, api_key=SHOP_TOKEN, api_secret=SHOP_SECRET,
        webhook_secret=SHOP_OLD_HOOK))
    assert resp.status_code == 303, resp.get_data(as_text=True)
    channel = saved(Channel, code="souk")
    resp = c.post(f"/settings/channels/{channel.id}", data=channel_form(
        base_url=base_url, webhook_secret=SHOP_NEW_HOOK))
    assert resp.status_code == 303, resp.get_data(as_text=True)
    resp = c.post("/dropship/suppliers/new", data=supplier_form(
        base_url=base_url, api_key=SUPPLIER_TOKEN))
    assert resp.status_code == 303, resp.get_data(as_text=True)


def test_secrets_typed_in_the_screens_are_not_in_a_database_dump(login):
    """SELECT * of every table (audit trail included) shows no partner secret."""
    add_partners(login("manager"))
    dump = database_dump()
    assert "Amana Express" in dump and "Souk Shop" in dump and "Atlas Wholesale" in dump
    for secret in EVERY_SECRET:
        assert secret not in dump
    assert "enc1:" in dump
    # The app itself still reads them as typed.
    channel = saved(Channel, code="souk")
    assert (saved(Carrier, code="amana").api_key, channel.api_secret) == (CARRIER_KEY,
                                                                          SHOP_SECRET)
    assert channel.webhook_secret == SHOP_NEW_HOOK
    assert saved(Supplier, name="Atlas Wholesale").api_key == SUPPLIER_TOKEN


def test_settings_pages_never_show_a_secret_in_full(login):
    """Lists and edit pages (and the kind fragments) show at most a secret's last four."""
    c = login("manager")
    add_partners(c)
    carrier, channel = saved(Carrier, code="amana"), saved(Channel, code="souk")
    supplier = saved(Supplier, name="Atlas Wholesale")
    pages = ["/settings/carriers", f"/settings/carriers/{carrier.id}", "/settings/channels",
             f"/settings/channels/{channel.id}", "/dropship/suppliers",
             f"/dropship/suppliers/{supplier.id}",
             f"/settings/channels/fields?kind=shopify&channel_id={channel.id}",
             f"/dropship/suppliers/fields?kind=http_json&supplier_id={supplier.id}"]
    for path in pages:
        resp = c.get(path)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 200, path
        for secret in EVERY_SECRET:
            assert secret not in body, (path, secret)
    edit = c.get(f"/settings/carriers/{carrier.id}").get_data(as_text=True)
    assert f"•••• {CARRIER_KEY[-4:]}" in edit and f"•••• {CARRIER_HOOK[-4:]}" in edit


def test_an_empty_secret_field_keeps_the_stored_secret(login):
    """Saving a form with its secret fields left empty changes nothing secret."""
    c = login("manager")
    add_partners(c)
    carrier = saved(Carrier, code="amana")
    resp = c.post(f"/settings/carriers/{carrier.id}", data=carrier_form(
        name="Amana Express 2", base_url="https://partner.example"))
    assert resp.status_code == 303
    carrier = saved(Carrier, code="amana")
    assert carrier.name == "Amana Express 2"
    assert (carrier.api_key, carrier.webhook_secret) == (CARRIER_KEY, CARRIER_HOOK)


def test_carrier_test_connection_sends_the_typed_key(login, peer, run_jobs):
    """The connection test, run by a real worker, calls the carrier with the key as typed."""
    peer.on("GET", "/account", Reply(200, json={"account": "****7e8", "parcels": 0}))
    c = login("manager")
    add_partners(c, base_url=peer.url)
    carrier = saved(Carrier, code="amana")
    resp = c.post(f"/settings/carriers/{carrier.id}/test", htmx=True)
    poll = POLL.search(resp.get_data(as_text=True)).group(1)
    run_jobs()
    assert "Connected to Amana Express" in c.hx_get(poll).get_data(as_text=True)
    assert peer.seen("GET", "/account")[0].headers["Authorization"] == f"Bearer {CARRIER_KEY}"


def test_channel_sync_sends_the_typed_token(login, peer, run_jobs):
    """Sync now, run by a real worker, asks the shop with the access token as typed."""
    peer.on("GET", "/admin/api/2026-07/orders.json", Reply(200, json={"orders": []}))
    c = login("manager")
    add_partners(c, base_url=peer.url)
    channel = saved(Channel, code="souk")
    assert c.post(f"/settings/channels/{channel.id}/sync").status_code == 303
    run_jobs()
    calls = peer.seen("GET", "/admin/api/2026-07/orders.json")
    assert calls and calls[0].headers["X-Shopify-Access-Token"] == SHOP_TOKEN


def test_channel_webhook_signed_with_the_previous_secret_is_taken(login, client):
    """Shopify signs with the secret from before a rotation for a while: still accepted."""
    add_partners(login("manager"))
    body = json.dumps({"id": 1, "name": "#1001"}).encode()
    for secret, status in ((SHOP_OLD_HOOK, 202), (SHOP_NEW_HOOK, 202), ("other", 401)):
        signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
        resp = client.post("/api/v1/channels/souk/webhook", data=body, csrf=False, headers={
            "Content-Type": "application/json", "X-Shopify-Hmac-Sha256": signature.decode(),
            "X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": f"w-{secret}",
            "X-Shopify-Event-Id": f"e-{secret}"})
        assert resp.status_code == status, (secret, resp.get_data(as_text=True))


def test_supplier_submission_sends_the_typed_token(login, supplier_peer, make_dropship_product,
                                                  routed_order, confirm, make_user, run_jobs):
    """Process, run by a real worker, submits to the supplier with the token as typed."""
    add_partners(login("manager"), base_url=supplier_peer.url)
    supplier = saved(Supplier, name="Atlas Wholesale")
    order = routed_order([(make_dropship_product(supplier), 1)])
    confirm(order)
    request_processing(supplier_orders(order.id), Actor.of(make_user("operator")))
    db.session.commit()
    supplier_jobs.request_processing(supplier.id)
    run_jobs()
    posts = supplier_peer.seen("POST", "/orders")
    assert posts and posts[0].headers["Authorization"] == f"Bearer {SUPPLIER_TOKEN}"
