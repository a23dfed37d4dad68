"""Channel settings over HTTP: the list and its health marks, the form, secrets, Sync now,
API keys."""

import hashlib
import re
import socket
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import func, select

from blueprints.i18n import local_time
from extensions import db
from models import AuditEvent, Channel, utcnow
from models.crypto import open_settings
from models.intake.api_keys import authenticate
from models.intake.tables import ApiKey
from workers import get_queue

from .pages import heading, location, squash, text

SECRET_TOKEN = "shpat_9f8e7d6c5b4a39281706"
SECRET_HOOK = "whsec_0a1b2c3d4e5f60718293"
SECRET_WOO = "cs_5e4d3c2b1a0f9e8d7c6b"
NEW_KEY = re.compile(r'id="new-api-key" type="text" readonly value="([^"]+)"')


def form(**overrides) -> dict:
    """A complete channel form as a browser posts it (unchecked boxes are left out)."""
    data = {"name": "Souk Shop", "code": "souk", "kind": "shopify", "active": "y",
            "base_url": "https://souk.myshopify.com", "api_key": "", "api_secret": "",
            "webhook_secret": "", "api_version": "", "poll_interval_minutes": "5",
            "forwarding": "always", "forward_when": "committed", "confirm_by": "agent",
            "default_carrier_id": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def channels_count() -> int:
    """How many channels are stored."""
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Channel))


def stored(channel_id: int) -> Channel:
    """A channel as stored, after the request's work."""
    db.session.rollback()
    return db.session.get(Channel, channel_id)


def row(resp, code: str) -> str:
    """The list's table row of one channel, as markup."""
    body = resp.get_data(as_text=True)
    return body.split(f'data-channel="{code}"', 1)[1].split("</tr>", 1)[0]


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- access -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["agent", "operator"])
def test_channel_settings_refused_for_agents_and_operators(login, make_channel, role):
    """Only managers and admins open or change channels, sync them or touch their keys."""
    channel = make_channel(name="Kept", kind="sandbox", base_url="http://127.0.0.1:1")
    key = ApiKey(channel_id=channel.id, name="Shop", prefix="cb_abcdefg", key_hash="0" * 64)
    db.session.add(key)
    db.session.commit()
    c = login(role)
    for path in ["/settings/channels", "/settings/channels/new",
                 f"/settings/channels/{channel.id}", "/settings/channels/fields?kind=api"]:
        resp = c.get(path)
        assert resp.status_code == 403 and heading(resp) == "Not allowed"
    for url, data in [(f"/settings/channels/{channel.id}", form(name="Taken")),
                      (f"/settings/channels/{channel.id}/sync", {}),
                      (f"/settings/channels/{channel.id}/keys", {"name": "Mine"}),
                      (f"/settings/channels/{channel.id}/keys/{key.id}/revoke", {})]:
        assert c.post(url, data=data).status_code == 403
    assert stored(channel.id).name == "Kept"
    assert db.session.scalars(select(ApiKey.name)).all() == ["Shop"]
    assert db.session.get(ApiKey, key.id).revoked_at is None
    assert get_queue("channels").count == 0


def test_channel_settings_anonymous_sent_to_login(client, make_channel):
    """Without a session every channel page sends to the login page."""
    channel = make_channel()
    for path in ["/settings/channels", f"/settings/channels/{channel.id}"]:
        resp = client.get(path)
        assert resp.status_code == 302 and location(resp)[0] == "/login"


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_channel_settings_open_for_managers_and_admins(login, role):
    """Managers and admins see the list."""
    resp = login(role).get("/settings/channels")
    assert resp.status_code == 200 and heading(resp) == "Channels"


# --- the list -----------------------------------------------------------------------


def test_channels_list_empty_says_what_to_do(login):
    """No channels: the page says what a channel is and links to adding one."""
    resp = login("manager").get("/settings/channels")
    page = squash(text(resp))
    assert "No channels yet." in page and "Add the first channel" in page
    assert 'href="/settings/channels/new"' in resp.get_data(as_text=True)


def test_channels_list_health_marks(login, make_channel):
    """Failing for over two intervals is red, a fresh failure amber, never synced says so;
    channels people feed show no mark."""
    now = utcnow()
    make_channel(name="Fine", code="fine", kind="shopify", last_sync_at=now - timedelta(minutes=2),
                 orders_imported=1234)
    make_channel(name="Blip", code="blip", kind="woocommerce", poll_interval_minutes=5,
                 last_sync_at=now, failing_since=now - timedelta(minutes=6),
                 last_error="WooCommerce answered 502")
    long_error = "Shopify refused the token (401): " + "x" * 150 + " END"
    make_channel(name="Down", code="down", kind="shopify", poll_interval_minutes=5,
                 last_sync_at=now - timedelta(hours=3), failing_since=now - timedelta(hours=3),
                 last_error=long_error)
    make_channel(name="Fresh", code="fresh", kind="sandbox")
    make_channel(name="Phone", code="phone", kind="manual", failing_since=now - timedelta(days=2))
    resp = login("manager").get("/settings/channels")
    assert resp.status_code == 200

    marks = dict(re.findall(r'data-channel="([^"]+)" data-health="([^"]*)"',
                            resp.get_data(as_text=True)))
    assert marks == {"fine": "ok", "blip": "error", "down": "failing", "fresh": "never",
                     "phone": ""}
    assert '<span class="flag flag-red">failing</span>' in row(resp, "down")
    assert f"since {local_time(now - timedelta(hours=3))}" in row(resp, "down")
    assert '<span class="flag flag-amber">error</span>' in row(resp, "blip")
    assert "never synced" in row(resp, "fresh")
    phone = row(resp, "phone").split('class="health">', 1)[1].split("</td>", 1)[0]
    assert phone.strip() == ""
    assert "flag" not in row(resp, "fine") and "1,234" in row(resp, "fine")
    assert "2 min ago" in row(resp, "fine")
    assert "WooCommerce answered 502" in row(resp, "blip") and "<details>" not in row(
        resp, "blip")
    # A long error is there whole, behind its first words.
    down = text(resp).split('data-channel="down"', 1)[1].split("</tr>", 1)[0]
    assert "<details><summary>Shopify refused the token (401)" in down
    assert long_error in down


def test_channels_list_forwarding_summary_and_sync_buttons(login, make_channel):
    """Each row sums up forwarding; only active polled channels have Sync now."""
    shop = make_channel(code="shop", kind="shopify", base_url="https://a.example")
    make_channel(code="prepaid", kind="api", forwarding="managed", forward_when="paid",
                 confirm_by="system")
    make_channel(code="paused", kind="woocommerce", active=False)
    resp = login("manager").get("/settings/channels")
    assert "Always · when committed · call center" in row(resp, "shop")
    assert "Managed products only · when paid · confirmed by the system" in row(
        resp, "prepaid")
    assert f'hx-post="/settings/channels/{shop.id}/sync"' in row(resp, "shop")
    assert "Sync now" not in row(resp, "prepaid") and "Sync now" not in row(resp, "paused")


def test_channels_list_escapes_channel_data(login, make_channel):
    """Names and errors from outside are shown as text, never as markup."""
    make_channel(name="<b>Bold</b>", code="bold", kind="shopify",
                 failing_since=utcnow(), last_error="<script>alert(1)</script>")
    body = login("manager").get("/settings/channels").get_data(as_text=True)
    assert "<b>Bold</b>" not in body and "&lt;b&gt;Bold&lt;/b&gt;" in body
    assert "<script>alert(1)" not in body


# --- creating and editing -------------------------------------------------------------


def test_channel_create_saves_and_shows_webhook_url(app, login, make_carrier):
    """A valid form makes the channel, audits it without secrets, and its page shows the
    webhook URL to paste into the shop."""
    carrier = make_carrier(name="Amana")
    c = login("manager")
    resp = c.post("/settings/channels/new", data=form(
        api_key=SECRET_TOKEN, webhook_secret=SECRET_HOOK, poll_interval_minutes="15",
        forwarding="managed", forward_when="paid", confirm_by="system",
        default_carrier_id=str(carrier.id), base_url="https://souk.myshopify.com/"))
    assert resp.status_code == 303, text(resp)
    channel = db.session.execute(select(Channel).filter_by(code="souk")).scalar_one()
    assert (channel.name, channel.kind, channel.active, channel.base_url) == (
        "Souk Shop", "shopify", True, "https://souk.myshopify.com")
    assert (channel.forwarding, channel.forward_when, channel.confirm_by) == (
        "managed", "paid", "system")
    assert (channel.poll_interval_minutes, channel.default_carrier_id) == (15, carrier.id)
    assert channel.settings == {"api_version": "2026-07"}
    assert (channel.api_key, channel.webhook_secret) == (SECRET_TOKEN, SECRET_HOOK)
    assert location(resp)[0] == f"/settings/channels/{channel.id}"
    audit = db.session.execute(select(AuditEvent).filter_by(kind="channel")).scalar_one()
    assert audit.order_id is None and audit.actor_user_id == c.user.id
    assert SECRET_TOKEN not in audit.note and SECRET_HOOK not in audit.note

    page = c.get(location(resp)[0])
    hook = f"{app.config['PUBLIC_URL']}/api/v1/channels/souk/webhook"
    assert "Souk Shop saved." in text(page)
    assert f'id="webhook-url" type="text" readonly value="{hook}"' in text(page)


def test_channel_form_explains_each_forwarding_option(login):
    """Every option of the three forwarding settings carries its one-line explanation."""
    page = squash(text(login("manager").get("/settings/channels/new")))
    for label, help_text in [
            ("Always", "Every arriving order goes on"),
            ("Managed products only", "all their products are in our catalogue"),
            ("Off (manual)", "an operator sends them on by hand"),
            ("When committed to buy", "cash on delivery"),
            ("Only when paid", "the channel says the order is paid"),
            ("Call center confirms (COD)", "an agent calls the customer"),
            ("Confirmed by the system (prepaid)", "skip the call")]:
        assert re.search(rf"{re.escape(label)} <small[^>]*>[^<]*{re.escape(help_text)}", page)


def test_channel_create_people_fed_kind_needs_no_address(login):
    """An API channel saves without a shop address, and keeps none it was sent."""
    resp = login("manager").post("/settings/channels/new", data=form(
        kind="api", code="leads", base_url="https://ignored.example", api_version="2025-01"))
    assert resp.status_code == 303, text(resp)
    channel = db.session.execute(select(Channel).filter_by(code="leads")).scalar_one()
    assert (channel.kind, channel.base_url, channel.settings) == ("api", None, {})


@pytest.mark.parametrize(("overrides", "message"), [
    ({"code": "Souk Shop"}, "lower-case letters, digits"),
    ({"code": "souk_shop"}, "lower-case letters, digits"),
    ({"base_url": "souk.myshopify.com"}, "starting with https://"),
    ({"base_url": "ftp://souk.example"}, "starting with https://"),
    ({"base_url": "https://"}, "starting with https://"),
    ({"base_url": ""}, "Give the shop's address"),
    ({"poll_interval_minutes": "0"}, "Number must be between 1 and 1440."),
    ({"poll_interval_minutes": "1441"}, "Number must be between 1 and 1440."),
    ({"poll_interval_minutes": "often"}, "Not a valid integer value."),
    ({"forwarding": "sometimes"}, "Not a valid choice"),
    ({"api_version": "latest"}, "The API version looks like 2026-07."),
    ({"default_carrier_id": "999"}, "That carrier no longer exists."),
])
def test_channel_create_bad_input_refused(login, overrides, message):
    """Bad input: the form again as a 422 with the message, secrets not echoed, nothing saved."""
    resp = login("manager").post("/settings/channels/new", data=form(
        api_key=SECRET_TOKEN, webhook_secret=SECRET_HOOK, **overrides))
    assert resp.status_code == 422
    assert message in text(resp)
    assert heading(resp) == "Add channel"
    body = resp.get_data(as_text=True)
    assert 'value="Souk Shop"' in body
    assert SECRET_TOKEN not in body and SECRET_HOOK not in body
    assert channels_count() == 0


def test_channel_create_duplicate_code_refused(login, make_channel):
    """A code another channel has is refused, naming the clash; nothing saved."""
    make_channel(code="souk", name="First")
    resp = login("manager").post("/settings/channels/new", data=form())
    assert resp.status_code == 422
    assert "Another channel already has the code “souk”." in text(resp)
    assert channels_count() == 1


def test_channel_edit_keeps_its_own_code(login, make_channel):
    """Saving a channel under its own code and name is no clash."""
    channel = make_channel(name="Souk Shop", code="souk", kind="shopify",
                           base_url="https://souk.myshopify.com")
    resp = login("manager").post(f"/settings/channels/{channel.id}",
                                 data=form(poll_interval_minutes="30"))
    assert resp.status_code == 303, text(resp)
    assert stored(channel.id).poll_interval_minutes == 30


def test_channel_secrets_never_shown(login, make_channel):
    """Stored secrets show as •••• and their last four; no page or fragment holds them whole."""
    channel = make_channel(name="Woo", code="woo", kind="woocommerce",
                           base_url="https://woo.example", api_key=SECRET_TOKEN,
                           api_secret=SECRET_WOO, webhook_secret=SECRET_HOOK)
    c = login("manager")
    pages = [c.get("/settings/channels"), c.get(f"/settings/channels/{channel.id}"),
             c.hx_get(f"/settings/channels/fields?kind=woocommerce&channel_id={channel.id}"),
             c.post(f"/settings/channels/{channel.id}", data=form(
                 kind="woocommerce", code="Bad Code", api_key="ck_new_value_123456"))]
    for resp in pages:
        body = resp.get_data(as_text=True)
        for secret in (SECRET_TOKEN, SECRET_WOO, SECRET_HOOK, "ck_new_value_123456"):
            assert secret not in body
    for resp in pages[1:3]:
        shown = text(resp)
        assert "•••• 1706" in shown and "•••• 7c6b" in shown and "•••• 8293" in shown
    assert pages[3].status_code == 422


def test_channel_edit_empty_secret_fields_keep_stored(login, make_channel):
    """Saving with the secret fields left empty changes the rest and keeps every secret."""
    channel = make_channel(name="Woo", code="woo", kind="woocommerce",
                           base_url="https://woo.example", api_key=SECRET_TOKEN,
                           api_secret=SECRET_WOO, webhook_secret=SECRET_HOOK)
    resp = login("manager").post(f"/settings/channels/{channel.id}", data=form(
        name="Woo Maroc", code="woo", kind="woocommerce", base_url="https://woo.example"))
    assert resp.status_code == 303, text(resp)
    saved = stored(channel.id)
    assert saved.name == "Woo Maroc"
    assert (saved.api_key, saved.api_secret, saved.webhook_secret) == (
        SECRET_TOKEN, SECRET_WOO, SECRET_HOOK)


def test_channel_edit_new_secret_replaces_and_clear_removes(login, make_channel):
    """A typed secret replaces the stored one, a ticked box clears another; audited by name."""
    channel = make_channel(name="Woo", code="woo", kind="woocommerce",
                           base_url="https://woo.example", api_key=SECRET_TOKEN,
                           api_secret=SECRET_WOO, webhook_secret=SECRET_HOOK)
    resp = login("manager").post(f"/settings/channels/{channel.id}", data=form(
        name="Woo", code="woo", kind="woocommerce", base_url="https://woo.example",
        api_secret=" cs_second_secret_0042 ", clear_webhook_secret="y"))
    assert resp.status_code == 303, text(resp)
    saved = stored(channel.id)
    assert (saved.api_key, saved.api_secret, saved.webhook_secret) == (
        SECRET_TOKEN, "cs_second_secret_0042", None)
    note = db.session.execute(select(AuditEvent.note).filter_by(kind="channel")).scalar_one()
    assert "API secret replaced" in note and "webhook secret cleared" in note
    assert "cs_second_secret_0042" not in note and SECRET_WOO not in note


def test_channel_shopify_rotated_webhook_secret_kept_as_previous(login, make_channel):
    """Shopify signs with the old secret for a while after rotation: it is kept beside."""
    channel = make_channel(name="Souk", code="souk", kind="shopify",
                           base_url="https://souk.myshopify.com", webhook_secret=SECRET_HOOK,
                           settings={"api_version": "2026-01"})
    c = login("manager")
    resp = c.post(f"/settings/channels/{channel.id}", data=form(
        name="Souk", webhook_secret="whsec_rotated_000000001", api_version="2026-01"))
    assert resp.status_code == 303, text(resp)
    saved = stored(channel.id)
    assert saved.webhook_secret == "whsec_rotated_000000001"
    # Kept encrypted like the columns; the adapter gets it opened.
    assert SECRET_HOOK not in str(saved.settings)
    assert open_settings(saved.settings) == {"api_version": "2026-01",
                                             "previous_webhook_secret": SECRET_HOOK}
    body = c.get(f"/settings/channels/{channel.id}").get_data(as_text=True)
    assert SECRET_HOOK not in body and "whsec_rotated_000000001" not in body


def test_channel_connection_fields_follow_the_kind(login, make_channel):
    """Changing the kind swaps in the fields that kind needs, as a fragment."""
    c = login("manager")
    woo = c.hx_get("/settings/channels/fields?kind=woocommerce")
    body = woo.get_data(as_text=True)
    assert woo.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<div id="channel-connection">')
    assert 'name="api_secret"' in body and 'name="base_url"' in body
    assert 'name="api_version"' not in body
    shopify = c.hx_get("/settings/channels/fields?kind=shopify").get_data(as_text=True)
    assert 'name="api_version"' in shopify and 'name="api_secret"' not in shopify
    manual = c.hx_get("/settings/channels/fields?kind=manual").get_data(as_text=True)
    assert 'name="base_url"' not in manual and "typed in by hand" in manual
    api = c.hx_get("/settings/channels/fields?kind=api").get_data(as_text=True)
    assert "JSON API" in api
    assert c.hx_get("/settings/channels/fields?kind=nope").status_code == 404


def test_channel_missing_is_not_found(login):
    """An unknown channel id is a 404, on the page and its actions."""
    c = login("manager")
    assert c.get("/settings/channels/999").status_code == 404
    assert c.post("/settings/channels/999/sync", htmx=True).status_code == 404
    assert c.post("/settings/channels/999/keys", data={"name": "x"}).status_code == 404


# --- Sync now --------------------------------------------------------------------------


def sync_jobs(channel_id: int) -> list:
    """The sync jobs waiting on the channels queue for one channel."""
    return [job for job in get_queue("channels").jobs if tuple(job.args) == (channel_id,)]


def test_channel_sync_now_enqueues_one_job_even_when_clicked_twice(login, make_channel):
    """Two clicks, one waiting job per channel; each click answers "Sync started"."""
    shop = make_channel(kind="shopify", base_url="https://a.example")
    woo = make_channel(kind="woocommerce", base_url="https://b.example")
    c = login("manager")
    for channel in (shop, shop, woo):
        resp = c.post(f"/settings/channels/{channel.id}/sync", htmx=True)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 202 and "<html" not in body
        assert body.lstrip().startswith(f'<div id="sync-{channel.id}"')
        assert "Sync started" in body
    assert len(sync_jobs(shop.id)) == 1 and len(sync_jobs(woo.id)) == 1
    assert get_queue("channels").count == 2


def test_channel_sync_now_without_redis_says_so(app, login, make_channel, monkeypatch):
    """With the queue unreachable the button answers 503 with the message, not a 500."""
    shop = make_channel(kind="shopify", base_url="https://a.example")
    c = login("manager")
    monkeypatch.setitem(app.extensions, "redis",
                        Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0",
                                       socket_connect_timeout=1))
    resp = c.post(f"/settings/channels/{shop.id}/sync", htmx=True)
    assert resp.status_code == 503
    assert "Queue unreachable: the sync will run when it is back" in text(resp)
    assert "data-swap-unavailable" in resp.get_data(as_text=True)


def test_channel_sync_now_refused_for_channels_not_polled(login, make_channel):
    """A manual channel has nothing to sync; a switched-off one is not synced."""
    manual = make_channel(kind="manual")
    paused = make_channel(kind="shopify", active=False, base_url="https://a.example")
    c = login("manager")
    resp = c.post(f"/settings/channels/{manual.id}/sync", htmx=True)
    assert resp.status_code == 422 and "nothing to sync" in text(resp)
    resp = c.post(f"/settings/channels/{paused.id}/sync", htmx=True)
    assert resp.status_code == 422 and "switched off" in text(resp)
    assert get_queue("channels").count == 0


def test_channel_sync_now_from_plain_form_redirects_with_message(login, make_channel):
    """Without htmx the button returns to the list with the answer as a message."""
    shop = make_channel(name="Souk", kind="shopify", base_url="https://a.example")
    c = login("manager")
    resp = c.post(f"/settings/channels/{shop.id}/sync")
    assert resp.status_code == 303 and location(resp)[0] == "/settings/channels"
    assert "Souk: sync started." in text(c.get("/settings/channels"))
    assert len(sync_jobs(shop.id)) == 1


# --- API keys --------------------------------------------------------------------------


def test_api_key_issued_shown_once_and_authenticates(login, make_channel):
    """A new key's plain text is shown once, in a copyable field with a warning; only its
    hash is stored, and that hash lets the key in for this channel."""
    channel = make_channel(kind="api", code="leads")
    c = login("manager")
    resp = c.post(f"/settings/channels/{channel.id}/keys", data={"name": "Landing page"},
                  htmx=True)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<section id="api-keys">')
    assert resp.headers["Cache-Control"] == "no-store"
    token = NEW_KEY.search(body).group(1)
    assert "it will not be shown again" in squash(text(resp))
    key = db.session.execute(select(ApiKey)).scalar_one()
    assert (key.name, key.channel_id, key.created_by_id) == ("Landing page", channel.id,
                                                             c.user.id)
    assert key.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (key.prefix, key.key_hash)

    page = c.get(f"/settings/channels/{channel.id}")
    assert token not in page.get_data(as_text=True)
    listed = row_of_key(page, key.prefix)
    assert "Landing page" in listed and f"by {c.user.username}" in listed
    assert "<td>never</td>" in listed and "live" in listed

    caller = authenticate(token)
    assert caller is not None and caller.channel_code == "leads"
    used = row_of_key(c.get(f"/settings/channels/{channel.id}"), key.prefix)
    assert "<td>never</td>" not in used


def row_of_key(resp, prefix: str) -> str:
    """The keys table row of one key, as markup."""
    body = resp.get_data(as_text=True)
    return body.split(f'data-key="{prefix}"', 1)[1].split("</tr>", 1)[0]


def test_api_key_issued_from_plain_form_shows_page_with_key(login, make_channel):
    """Without htmx the channel page comes back with the new key on it (no redirect,
    which would lose it)."""
    channel = make_channel(kind="api")
    resp = login("manager").post(f"/settings/channels/{channel.id}/keys",
                                 data={"name": "Script"})
    assert resp.status_code == 200 and heading(resp) == channel.name
    token = NEW_KEY.search(resp.get_data(as_text=True)).group(1)
    assert authenticate(token) is not None
    assert resp.headers["Cache-Control"] == "no-store"


def test_api_key_without_name_refused(login, make_channel):
    """A key needs a name; nothing is issued."""
    channel = make_channel(kind="api")
    resp = login("manager").post(f"/settings/channels/{channel.id}/keys", data={"name": ""},
                                 htmx=True)
    assert resp.status_code == 422 and resp.headers["HX-Retarget"] == "#messages"
    assert db.session.scalar(select(func.count()).select_from(ApiKey)) == 0


def test_api_key_revoked_stops_working(login, make_channel):
    """Revoke marks the key revoked in the list (with a confirmation asked first), and it
    no longer lets anyone in."""
    channel = make_channel(kind="api")
    c = login("manager")
    body = c.post(f"/settings/channels/{channel.id}/keys", data={"name": "Old script"},
                  htmx=True).get_data(as_text=True)
    token = NEW_KEY.search(body).group(1)
    key = db.session.execute(select(ApiKey)).scalar_one()
    assert 'hx-confirm="Revoke “Old script”' in text(c.get(f"/settings/channels/{channel.id}"))

    resp = c.post(f"/settings/channels/{channel.id}/keys/{key.id}/revoke", htmx=True)
    assert resp.status_code == 200
    listed = row_of_key(resp, key.prefix)
    assert 'data-revoked="yes"' in resp.get_data(as_text=True)
    assert "revoked" in listed and "Revoke</button>" not in listed
    assert token not in resp.get_data(as_text=True)
    assert stored(channel.id) is not None and db.session.get(ApiKey, key.id).revoked_at
    assert authenticate(token) is None


def test_api_key_revoke_from_plain_form_redirects(login, make_channel):
    """Without htmx revoking returns to the channel page's keys (303)."""
    channel = make_channel(kind="api")
    c = login("manager")
    c.post(f"/settings/channels/{channel.id}/keys", data={"name": "Script"}, htmx=True)
    key = db.session.execute(select(ApiKey)).scalar_one()
    resp = c.post(f"/settings/channels/{channel.id}/keys/{key.id}/revoke")
    assert resp.status_code == 303
    assert location(resp)[0] == f"/settings/channels/{channel.id}"
    assert db.session.get(ApiKey, key.id).revoked_at is not None


def test_api_key_of_another_channel_not_revoked(login, make_channel):
    """A key is revoked only through its own channel's URL."""
    mine, other = make_channel(kind="api"), make_channel(kind="api")
    c = login("manager")
    c.post(f"/settings/channels/{other.id}/keys", data={"name": "Theirs"}, htmx=True)
    key = db.session.execute(select(ApiKey)).scalar_one()
    resp = c.post(f"/settings/channels/{mine.id}/keys/{key.id}/revoke", htmx=True)
    assert resp.status_code == 404
    assert db.session.get(ApiKey, key.id).revoked_at is None
