"""The orders list in a real browser: filters swap only the results and live in the URL."""

import re

from playwright.sync_api import Page, expect

TIMEOUT = 5_000


def test_filters_swap_results_and_update_url(page: Page, live_server, make_user, make_order):
    page.set_default_timeout(TIMEOUT)
    make_user(role="manager", username="boss", password="browser-pw-1")
    rabat = make_order(city="Rabat", customer_name="Yasmine Alaoui")
    make_order(city="Fès", customer_name="Karim Tazi")

    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("browser-pw-1")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server}/orders/")
    expect(page.locator("#results tbody tr")).to_have_count(2)
    # Mark the form: a full reload would lose this, a results-only swap keeps it.
    page.evaluate("document.getElementById('filters').dataset.kept = 'yes'")

    page.get_by_label("City").fill("Rabat")
    page.get_by_label("City").dispatch_event("change")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results")).to_contain_text("Yasmine Alaoui")
    expect(page).to_have_url(re.compile(r"/orders/\?city=Rabat$"))
    assert page.evaluate("document.getElementById('filters').dataset.kept") == "yes"

    page.get_by_label("Search").fill("karim")
    expect(page.locator("#results")).to_contain_text("No orders match these filters")

    page.go_back()
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results")).to_contain_text(f"#{rabat.id}")
