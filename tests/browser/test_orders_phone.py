"""The orders list on a phone (390×844): one card per order, nothing to scroll sideways,
and a tap on a card opens the order; in English and in Arabic (right to left)."""

import re

import pytest
from playwright.sync_api import Page, expect

TIMEOUT = 5_000
PHONE = {"width": 390, "height": 844}


def log_in(page: Page, live_server: str, username: str) -> None:
    """Log in through the form (by field id: the labels follow the browser's language)."""
    page.goto(f"{live_server}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill("browser-pw-1")
    page.locator("form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def card_box(page: Page, order_id: int) -> dict:
    """Where the order's card is on the screen."""
    return page.locator(f"tr[data-order='{order_id}']").bounding_box()


@pytest.mark.parametrize(("language", "direction", "total"), [
    ("en", "ltr", "1,756.00 MAD"), ("ar", "rtl", "1.756,00")])
def test_orders_list_is_a_stack_of_cards_on_a_phone(page: Page, live_server, make_user,
                                                    make_order, language, direction, total):
    page.set_default_timeout(TIMEOUT)
    page.set_viewport_size(PHONE)
    make_user(role="manager", username="boss", password="browser-pw-1", language=language)
    orders = [make_order(customer_name="Yasmine Alaoui", cod_amount_cents=175600,
                         confirmation_status="confirmed", shipping_status="shipped"),
              make_order(customer_name="عبد الرحيم بنعلي", cod_amount_cents=175600)]
    log_in(page, live_server, "boss")
    page.goto(f"{live_server}/orders/")
    expect(page.locator("html")).to_have_attribute("dir", direction)
    expect(page.locator("#results tr.order-row")).to_have_count(2)

    # Nothing sticks out sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    for order in orders:
        card = page.locator(f"tr[data-order='{order.id}']")
        # The five things a card shows, visible; the desk-only columns are not.
        expect(card.get_by_role("link", name=f"#{order.id}")).to_be_visible()
        expect(card.locator(".col-customer")).to_have_text(order.customer_name)
        expect(card.locator(".col-conf .badge")).to_be_visible()
        expect(card.locator(".col-ship .badge")).to_be_visible()
        expect(card.locator(".col-cod")).to_contain_text(total)
        for hidden in (".col-received", ".col-phone", ".col-city", ".col-channel",
                       ".col-push", ".col-agent"):
            expect(card.locator(hidden)).to_be_hidden()
        box = card_box(page, order.id)
        assert box["width"] <= PHONE["width"] and box["height"] >= 44

    # Cards stack one above the other rather than sitting in table columns.
    top, bottom = sorted((card_box(page, o.id) for o in orders), key=lambda box: box["y"])
    assert bottom["y"] >= top["y"] + top["height"]

    # The filters stay usable: typing a name narrows the cards.
    page.locator("#q").fill("Yasmine")
    expect(page.locator("#results tr.order-row")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # A tap anywhere on the card (here on its total, away from the link) opens the order.
    total = page.locator(f"tr[data-order='{orders[0].id}'] .col-cod")
    total.scroll_into_view_if_needed()
    total_box = total.bounding_box()
    page.mouse.click(total_box["x"] + total_box["width"] / 2,
                     total_box["y"] + total_box["height"] / 2)
    expect(page).to_have_url(re.compile(rf"/orders/{orders[0].id}$"))
    expect(page.locator("h1")).to_contain_text(f"#{orders[0].id}")


def test_the_pager_links_are_thumb_sized(page: Page, live_server, make_user, make_order):
    page.set_default_timeout(TIMEOUT)
    page.set_viewport_size(PHONE)
    make_user(role="manager", username="boss", password="browser-pw-1", language="ar")
    channel = make_order().channel
    for _ in range(50):
        make_order(channel=channel)
    log_in(page, live_server, "boss")
    page.goto(f"{live_server}/orders/")
    older = page.locator(".pager a[rel=next]")
    expect(older).to_be_visible()
    box = older.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_desktop_table_stays_a_table(page: Page, live_server, make_user, make_order):
    page.set_default_timeout(TIMEOUT)
    page.set_viewport_size({"width": 1280, "height": 900})
    make_user(role="manager", username="boss", password="browser-pw-1")
    make_order(customer_name="Yasmine Alaoui")
    log_in(page, live_server, "boss")
    page.goto(f"{live_server}/orders/")
    expect(page.locator("table.orders thead")).to_be_visible()
    row = page.locator("#results tr.order-row")
    assert row.evaluate("r => getComputedStyle(r).display") == "table-row"
    expect(row.locator(".col-phone")).to_be_visible()
