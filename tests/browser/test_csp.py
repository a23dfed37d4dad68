"""Every main screen under the Content-Security-Policy in Chromium: nothing blocked, and
htmx still swaps (keys on the call card, list filters, the scan desk)."""

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from extensions import db
from models import Carrier
from tests.browser.screens import (  # noqa: F401
    PASSWORD,
    SCREENS,
    TIMEOUT,
    Screen,
    open_screen,
    seeded,
)

from .test_calls import outcomes

# Runs before any page script: keeps what the browser blocked, and htmx's own refusals
# (an hx-on or a trigger filter it was not allowed to evaluate), on window.
RECORDER = """
window.__blocked = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__blocked.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
    " at " + e.sourceFile + ":" + e.lineNumber + " " + e.sample);
});
["htmx:evalDisallowedError", "htmx:syntax:error"].forEach(function (name) {
  document.addEventListener(name, function (e) {
    window.__blocked.push(name + " on " + (e.target.outerHTML || "").slice(0, 160));
  });
});
"""

# Screens outside the role navigation that must run under the policy too.
EXTRA = [
    Screen("API docs", None, "/api/v1/docs"),
    Screen("status board TV", "manager", "/boards/tv"),
    Screen("packing slip", "operator", "/shipping/slips?ids={order}"),
]


@pytest.fixture
def watched(page: Page):
    """The page with a recorder of policy violations; call it for what was blocked so far."""
    console: list[str] = []
    page.add_init_script(RECORDER)
    page.on("console", lambda m: console.append(m.text)
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text
            else None)
    page.on("pageerror", lambda e: console.append(f"page error: {e}"))

    def blocked() -> list[str]:
        return console + (page.evaluate("window.__blocked || []"))

    return blocked


@pytest.mark.parametrize("screen", SCREENS + EXTRA, ids=lambda s: s.name)
def test_screen_runs_under_the_policy(page: Page, live_server, seeded,  # noqa: F811
                                      watched, screen):
    response = page.request.get(f"{live_server}/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    if screen.role is None and screen.name != "login":
        page.set_default_timeout(TIMEOUT)
        page.goto(f"{live_server}{screen.url(seeded)}")
        page.wait_for_load_state("networkidle")
    else:
        open_screen(page, live_server, seeded, screen, "en")
    if screen.name == "API docs":
        # Swagger UI drew the operations from openapi.json: its scripts ran.
        expect(page.locator(".opblock").first).to_be_visible()
    blocked = watched()
    assert blocked == [], f"{screen.name} {page.url}:\n" + "\n".join(blocked)


def test_the_recorder_sees_an_inline_script_blocked(page: Page, live_server, seeded,  # noqa: F811
                                                    watched):
    open_screen(page, live_server, seeded, SCREENS[0], "en")
    page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.ran = true'; document.body.append(s); }""")
    expect(page.locator("body")).to_have_attribute("hx-boost", "true")
    page.wait_for_function("window.__blocked.length > 0")
    assert page.evaluate("window.ran") is None
    assert any("script-src" in line for line in watched())


def test_call_card_panel_and_outcome_key_under_the_policy(page: Page, live_server,
                                                          seeded, watched):  # noqa: F811
    open_screen(page, live_server, seeded, next(s for s in SCREENS if s.held), "en")
    card = page.locator("article.call-card")
    held = int(card.get_attribute("data-order"))
    page.get_by_role("button", name="Call later").click()
    expect(card.locator('fieldset[data-panel-for="call_later"]')).to_be_visible()
    page.keyboard.press("Escape")
    expect(card.locator('fieldset[data-panel-for="call_later"]')).to_be_hidden()
    card.get_by_role("heading", level=2).click()
    page.keyboard.press("2")
    expect(card).not_to_have_attribute("data-order", str(held))
    assert outcomes(held) == ["no_answer"]
    assert watched() == []


def test_orders_filters_and_select_all_under_the_policy(page: Page, live_server,
                                                        seeded, watched):  # noqa: F811
    open_screen(page, live_server, seeded, next(s for s in SCREENS if s.name == "orders list"),
                "en")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(5)
    page.get_by_label("Search").fill("يوسف")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/orders/\?q="))
    page.get_by_label("Search").fill("")
    expect(rows).to_have_count(5)
    page.locator("select[name=conf]").select_option("confirmed")
    expect(page).to_have_url(re.compile(r"conf=confirmed"))
    expect(rows).not_to_have_count(5)
    assert watched() == []


def test_scan_desk_under_the_policy(page: Page, live_server, seeded, watched):  # noqa: F811
    open_screen(page, live_server, seeded, next(s for s in SCREENS if s.name == "scan"), "en")
    page.wait_for_function("window.codboardScan === true")
    page.locator("#scan-code").fill(f"#{seeded.order_id}")
    page.keyboard.press("Enter")
    expect(page.locator("#scans > li")).to_have_count(1)
    expect(page.locator("#scans > li").first).to_contain_text(f"#{seeded.order_id}")
    assert watched() == []


def test_copy_button_copies_the_webhook_address(page: Page, live_server, seeded,  # noqa: F811
                                                watched):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    carrier = db.session.execute(select(Carrier).filter_by(code="amana")).scalar_one()
    screen = Screen("carrier", "manager", f"/settings/carriers/{carrier.id}")
    open_screen(page, live_server, seeded, screen, "en")
    address = page.locator("#webhook-url").input_value()
    page.locator("#webhook").get_by_role("button", name="Copy").click()
    expect(page.locator("#webhook").get_by_role("button")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == address
    assert watched() == []


# Lets a test say the tab is hidden (a wall screen switched to another page), and counts the
# requests the live board's poll starts (counted in the page, as its timers fire).
HIDDEN = """Object.defineProperty(Document.prototype, "hidden",
  {configurable: true, get: function () { return window.tabHidden === true; }});
window.polls = 0;
document.addEventListener("htmx:beforeRequest", function (e) {
  if (e.target.id === "board-live") { window.polls += 1; }
});"""


def test_live_board_skips_its_poll_while_the_tab_is_hidden(page: Page, live_server,
                                                           seeded, watched):  # noqa: F811
    page.add_init_script(HIDDEN)
    page.clock.install()
    open_screen(page, live_server, seeded, next(s for s in SCREENS if s.name == "status board"),
                "en")
    page.evaluate("window.tabHidden = true")
    page.clock.pause_at(page.evaluate("Date.now()") + 100)
    polled = page.evaluate("window.polls")
    page.clock.run_for(11_000)  # two turns of the 5 s poll
    assert page.evaluate("window.polls") == polled
    page.evaluate("window.tabHidden = false")
    page.clock.run_for(5_000)
    assert page.evaluate("window.polls") == polled + 1
    assert watched() == []
