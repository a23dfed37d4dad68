"""A CSV upload in a real browser: the operator uploads, watches the check finish on its
own, sees a refused row in red with its reason, imports, and an agent calls the orders."""

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from .test_calls import log_in as log_in_agent
from .test_scan import RED_BG
from .test_scan import log_in as log_in_operator

MIXED = (Path(__file__).resolve().parent.parent / "fixtures" / "csv"
         / "good_bad_duplicate.csv").read_bytes()


def test_an_uploaded_csv_is_previewed_imported_and_called(
    page: Page, browser, live_server, make_user, make_channel, make_product, run_jobs,
):
    make_product(sku="TSHIRT-M", name="T-shirt M", price_cents=14900)
    make_product(sku="CAP-BLACK", name="Black cap", price_cents=5000)
    make_channel(name="Souk", code="souk")
    make_user(role="operator", username="youssef", password="browser-pw-1")
    make_user(role="agent", username="salma", password="browser-pw-1")

    log_in_operator(page, live_server, "youssef")
    page.goto(f"{live_server}/intake/csv")
    page.get_by_label("Channel").select_option(label="Souk")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "orders.csv", "mimeType": "text/csv", "buffer": MIXED}])
    page.get_by_role("button", name="Upload and check").click()
    expect(page).to_have_url(re.compile(rf"{live_server}/intake/csv/\d+$"))
    section = page.locator("#csv-import")
    expect(section).to_have_attribute("data-state", "checking")
    expect(section.locator("progress")).to_be_visible()

    run_jobs()  # the check; the section polls and swaps itself
    expect(section).to_have_attribute("data-state", "checked")
    expect(section.locator('[data-count="ready"]')).to_contain_text("2 orders ready")
    refused = section.locator('tr[data-line="4"]')
    expect(refused).to_contain_text("Quantity “deux” is not a whole number.")
    expect(refused.locator("td").first).to_have_css("background-color", RED_BG)
    expect(section.get_by_role("button", name="Download refused rows")).to_be_visible()

    section.get_by_role("button", name="Import 2 orders").click()
    expect(section).to_have_attribute("data-state", "importing")
    run_jobs()  # the import
    expect(section).to_have_attribute("data-state", "imported")
    expect(section).to_contain_text("Import finished: 2 orders created.")

    calls = browser.new_context().new_page()
    log_in_agent(calls, live_server, "salma")
    calls.keyboard.press("N")
    card = calls.locator("article.call-card")
    expect(card.get_by_role("heading", level=2)).to_have_text("Fatima Zahra")
    expect(card).to_contain_text("TSHIRT-M")
    expect(card).to_contain_text("CAP-BLACK")
