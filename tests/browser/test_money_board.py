"""The money board in a browser: the remittances page's fetch button shows a carrier that
cannot be reached; the overdue setting refused and saved in place; the live refresh."""

from playwright.sync_api import Page, expect

from extensions import db
from tests.blueprints.test_money_board import closed_port_url

from .test_board_live import LIVE_TIMEOUT, log_in_manager


def test_fetch_from_an_unreachable_carrier_says_so(page: Page, live_server, make_user,
                                                    make_carrier):
    make_user(role="manager", username="nadia", password="browser-pw-1")
    carrier = make_carrier(name="Sandbox Express", kind="sandbox", base_url=closed_port_url(),
                           api_key="k")
    log_in_manager(page, live_server, "nadia")
    page.goto(f"{live_server}/boards/money/remittances?carrier_id={carrier.id}")
    page.get_by_role("button", name="Fetch statement from the carrier's API").click()
    alert = page.locator("#remittance-board .flash-error")
    expect(alert).to_contain_text("Could not reach Sandbox Express")
    expect(alert).to_contain_text("Nothing was imported.")


def test_overdue_setting_and_live_refresh(page: Page, live_server, make_user, make_order,
                                          make_carrier):
    make_user(role="manager", username="nadia", password="browser-pw-1")
    carrier = make_carrier(name="Amana")
    log_in_manager(page, live_server, "nadia")
    page.goto(f"{live_server}/boards/money")
    expect(page.locator("#money-live")).to_contain_text("No confirmed orders yet.")
    field = page.locator("#overdue-days")
    field.fill("0")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#money .flash-error")).to_contain_text("from 1 to 365")
    page.locator("#overdue-days").fill("7")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#money .flash-success")).to_contain_text("overdue after 7 days")
    make_order(carrier=carrier, confirmation_status="confirmed", shipping_status="shipped",
               cod_amount_cents=4200)
    db.session.commit()
    shipped = page.locator(f'tr[data-carrier="{carrier.id}"] td[data-figure="shipped"] a')
    expect(shipped).to_have_text("1", timeout=LIVE_TIMEOUT)
    shipped.click()
    expect(page).to_have_url(f"{live_server}/orders/?ship=shipped&carrier={carrier.id}")
