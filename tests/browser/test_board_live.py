"""The manager's status board on a wall screen: an agent confirms a call elsewhere and the
board's count changes by itself, without a reload."""

import re

from playwright.sync_api import Page, expect

from .test_calls import log_in as log_in_agent

# The board polls every 5 seconds; three turns are plenty on a busy machine.
LIVE_TIMEOUT = 15_000


def log_in_manager(page: Page, live_server: str, username: str) -> None:
    """Log in as a manager and open the status board."""
    page.set_default_timeout(5_000)
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("browser-pw-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_board_counts_a_confirmation_made_on_the_call_screen_without_reload(
    page: Page, browser, live_server, make_user, make_order, make_channel,
):
    make_user(role="manager", username="nadia", password="browser-pw-1")
    make_user(role="agent", username="salma", password="browser-pw-1")
    channel = make_channel(name="Souk")
    order = make_order(channel=channel, customer_name="Fatima Zahra")

    log_in_manager(page, live_server, "nadia")
    page.goto(f"{live_server}/boards/?channel={channel.id}")
    live = page.locator("#board-live")
    confirmed = live.locator('ul[data-counts="confirmation"] a[data-conf="confirmed"]')
    expect(confirmed).to_have_text("0")
    expect(live.locator('a[data-conf="new"]')).to_have_text("1")
    page.evaluate("window.stillTheSamePage = 'yes'")

    calls = browser.new_context().new_page()
    log_in_agent(calls, live_server, "salma")
    # A click, not the N key: a busy machine may still be loading the page's keys.
    calls.get_by_role("button", name="Next call").click()
    card = calls.locator("article.call-card")
    expect(card).to_have_attribute("data-order", str(order.id))
    calls.keyboard.press("1")  # confirmed
    expect(calls.locator("#agent-strip")).to_contain_text("1 confirmed")

    expect(confirmed).to_have_text("1", timeout=LIVE_TIMEOUT)
    expect(live.locator('a[data-conf="new"]')).to_have_text("0")
    expect(live.locator('[data-rate="confirmation"] .tile-value')).to_have_text("100%")
    # The poll kept the filter and replaced the numbers in place: same page, same URL.
    assert page.evaluate("window.stillTheSamePage") == "yes"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    expect(confirmed).to_have_attribute("href", re.compile(rf"channel={channel.id}"))
