"""Logging in and out in a real browser, once per role."""

import re

import pytest
from playwright.sync_api import Page, expect

HOMES = {
    "agent": ("/calls/", "Call queue"),
    "operator": ("/shipping/", "Shipping"),
    "manager": ("/boards/", "Status board"),
    "admin": ("/settings/users", "Users"),
}
TIMEOUT = 5_000


@pytest.mark.parametrize("role", list(HOMES))
def test_login_then_logout_in_browser(page: Page, live_server, make_user, role):
    page.set_default_timeout(TIMEOUT)
    user = make_user(role=role, password="browser-pw-1")
    path, title = HOMES[role]
    h1 = page.get_by_role("heading", level=1)

    page.goto(f"{live_server}/")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)$"), timeout=TIMEOUT)
    expect(h1).to_have_text("Log in to codboard", timeout=TIMEOUT)

    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("browser-pw-1")
    page.get_by_role("button", name="Log in").click()
    expect(h1).to_have_text(title, timeout=TIMEOUT)
    expect(page).to_have_url(f"{live_server}{path}", timeout=TIMEOUT)

    page.get_by_role("button", name="Log out").click()
    expect(h1).to_have_text("Log in to codboard", timeout=TIMEOUT)
    expect(page).to_have_url(re.compile(r"/login$"), timeout=TIMEOUT)
    expect(page.get_by_text("You are logged out.")).to_be_visible(timeout=TIMEOUT)

    page.goto(f"{live_server}{path}")
    expect(h1).to_have_text("Log in to codboard", timeout=TIMEOUT)


def test_login_wrong_password_in_browser(page: Page, live_server, make_user):
    page.set_default_timeout(TIMEOUT)
    user = make_user(role="agent", password="browser-pw-1")
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Wrong username or password.")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to codboard",
                                                                timeout=TIMEOUT)
    expect(page.get_by_label("Username")).to_have_value(user.username, timeout=TIMEOUT)
