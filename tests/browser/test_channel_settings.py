"""Channel settings in a real browser: the kind swaps the connection fields, Sync now
answers in place (also when the queue is down), a new API key is shown once and revoked."""

import re
import socket

from playwright.sync_api import Page, expect
from redis import Redis

from workers import get_queue

TIMEOUT = 5_000


def log_in(page: Page, live_server: str, user) -> None:
    """Log in through the form."""
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("browser-pw-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Status board", timeout=TIMEOUT)


def test_channel_kind_swaps_connection_fields_and_saves(page: Page, live_server, make_user):
    """Choosing WooCommerce brings its address and consumer secret; the channel saves."""
    page.set_default_timeout(TIMEOUT)
    log_in(page, live_server, make_user(role="manager", password="browser-pw-1"))
    page.goto(f"{live_server}/settings/channels/new")
    expect(page.get_by_label("Shop address")).to_have_count(0)
    page.locator("#name").fill("Woo Maroc")
    page.locator("#code").fill("woo-maroc")
    page.get_by_label("Orders come from").select_option("woocommerce")
    expect(page.get_by_label("Shop address")).to_be_visible()
    expect(page.get_by_label("API secret (WooCommerce consumer secret)")).to_be_visible()
    page.get_by_label("Shop address").fill("https://woo.example")
    page.get_by_label("Only when paid").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Woo Maroc saved.")).to_be_visible()
    expect(page.locator("#webhook-url")).to_have_value(
        re.compile(r"/api/v1/channels/woo-maroc/webhook$"))


def test_channel_sync_now_answers_in_place(page: Page, app, live_server, make_user,
                                           make_channel, monkeypatch):
    """Sync now says it started (one job queued); with Redis down it says it will run later."""
    page.set_default_timeout(TIMEOUT)
    channel = make_channel(name="Souk", kind="shopify", base_url="https://souk.example")
    log_in(page, live_server, make_user(role="manager", password="browser-pw-1"))
    page.goto(f"{live_server}/settings/channels")
    widget = page.locator(f"#sync-{channel.id}")
    widget.get_by_role("button", name="Sync now").click()
    expect(widget).to_contain_text("Sync started")
    assert get_queue("channels").count == 1

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setitem(app.extensions, "redis", Redis.from_url(
        f"redis://127.0.0.1:{port}/0", socket_connect_timeout=1))
    page.locator(f"#sync-{channel.id}").get_by_role("button", name="Sync now").click()
    expect(page.locator(f"#sync-{channel.id}")).to_contain_text(
        "Queue unreachable: the sync will run when it is back")


def test_channel_api_key_shown_once_then_revoked(page: Page, live_server, make_user,
                                                 make_channel):
    """The new key is in a copyable field once; Revoke asks first, then marks it revoked."""
    page.set_default_timeout(TIMEOUT)
    channel = make_channel(name="Leads", kind="api")
    log_in(page, live_server, make_user(role="manager", password="browser-pw-1"))
    page.goto(f"{live_server}/settings/channels/{channel.id}")
    page.get_by_label("Name of the new key").fill("Landing page")
    page.get_by_role("button", name="New key").click()
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    expect(page.locator("#new-api-key")).to_have_value(re.compile(r"^cb_"))

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator("tr[data-revoked=yes]")).to_contain_text("revoked")
    expect(page.locator("#new-api-key")).to_have_count(0)
