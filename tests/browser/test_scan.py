"""Scan mode and the desk's bulk actions in a real browser: focus, colours, tones, undo,
chunked bulk moves with progress."""

from datetime import datetime, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from extensions import db
from models import Order

TIMEOUT = 5_000
GREEN_BG, RED_BG = "rgb(220, 252, 231)", "rgb(254, 226, 226)"


def status_of(order_id: int) -> str:
    db.session.rollback()
    return db.session.get(Order, order_id).shipping_status


def log_in(page: Page, live_server: str, username: str) -> None:
    """Log in as an operator and land on the shipping desk."""
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("browser-pw-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Shipping")
    expect(page).to_have_url(f"{live_server}/shipping/")


def scan_script_ready(page: Page) -> None:
    """Wait for scan.js (deferred): a test types faster than a page loads, a scanner does not."""
    page.wait_for_function("window.codboardScan === true")


def test_scan_mode_packs_refuses_and_undoes_without_losing_focus(
    page: Page, live_server, make_user, parcel_order
):
    operator = make_user(role="operator", username="youssef", password="browser-pw-1")
    order, _ = parcel_order("created", customer_name="Fatima Zahra")
    second, _ = parcel_order("created", customer_name="Karim Tazi")
    log_in(page, live_server, operator.username)
    page.get_by_role("button", name="Scan mode").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Scan mode")
    field = page.locator("#scan-code")
    expect(field).to_be_focused()
    scan_script_ready(page)
    desk = page.locator("#scan-desk")
    scans = page.locator("#scans > li")

    page.keyboard.type(f"#{order.id}")
    page.keyboard.press("Enter")
    expect(scans).to_have_count(1)
    packed = scans.first
    expect(packed).to_have_attribute("data-outcome", "ok")
    expect(packed).to_contain_text(f"Packed #{order.id}.")
    expect(packed).to_contain_text("Fatima Zahra")
    expect(packed).to_have_css("background-color", GREEN_BG)
    expect(desk).to_have_attribute("data-last-tone", "high")
    expect(field).to_be_focused()
    expect(field).to_have_value("")
    assert status_of(order.id) == "fulfilled"

    # A scanner does not wait for the answer: two codes back to back stay two scans.
    page.keyboard.type("NO-SUCH-PARCEL")
    page.keyboard.press("Enter")
    page.keyboard.type(f"#{second.id}")
    page.keyboard.press("Enter")
    expect(scans).to_have_count(3)
    expect(scans.first).to_contain_text(f"Packed #{second.id}.")  # newest first
    unknown = scans.nth(1)
    expect(unknown).to_have_attribute("data-outcome", "refused")
    expect(unknown).to_contain_text("No order or parcel with that code.")
    expect(unknown).to_have_css("background-color", RED_BG)
    expect(field).to_be_focused()
    assert status_of(second.id) == "fulfilled"

    page.keyboard.type("ANOTHER-UNKNOWN")
    page.keyboard.press("Enter")
    expect(scans).to_have_count(4)
    expect(desk).to_have_attribute("data-last-tone", "low")

    # A click elsewhere on the page does not take the field's focus away.
    page.get_by_role("heading", name="Scans this session").click()
    expect(field).to_be_focused()

    page.locator(f'#scans > li[data-order="{order.id}"]').get_by_role(
        "button", name="Undo").click()
    undone = page.locator(f'#scans > li[data-order="{order.id}"]')
    expect(undone).to_have_attribute("data-kind", "undo")
    expect(undone).to_contain_text(f"Undone: #{order.id} is back to Created")
    expect(scans).to_have_count(4)
    expect(field).to_be_focused()
    assert status_of(order.id) == "created"


def test_desk_bulk_fulfilled_in_chunks_of_fifty_reports_each_order(
    page: Page, live_server, make_user, make_order, make_product, make_channel, make_carrier
):
    operator = make_user(role="operator", username="hanane", password="browser-pw-1")
    product, channel, carrier = make_product(stock=0), make_channel(), make_carrier()
    start = datetime(2026, 11, 1, 8, 0)
    made = [make_order(lines=[(product, 1)], channel=channel, carrier=carrier,
                       confirmation_status="confirmed", shipping_status="created",
                       confirmed_at=start + timedelta(minutes=i)).id for i in range(60)]
    refused = make_order(lines=[(product, 1)], channel=channel, carrier=carrier,
                         confirmation_status="confirmed", shipping_status="delivered",
                         confirmed_at=start - timedelta(days=1)).id
    log_in(page, live_server, operator.username)
    page.get_by_label("Select every order on this page").check()
    expect(page.locator("#selected-count")).to_have_text("50 selected")
    page.get_by_role("link", name="Next 50 »").click()
    expect(page.locator(f'tr[data-order="{made[-1]}"]')).to_be_visible()
    page.get_by_label("Select every order on this page").check()
    expect(page.locator("#selected-count")).to_have_text("61 selected")

    page.get_by_role("button", name="Fulfilled", exact=True).click()
    expect(page.locator("#bulk-progress-text")).to_have_text("All 61 orders processed.")
    reports = page.locator("#bulk-report .bulk-report")
    expect(reports).to_have_count(2)  # one per chunk of 50
    expect(page.locator('#bulk-report li[data-ok="yes"]')).to_have_count(60)
    expect(page.locator(f'#bulk-report li[data-order="{refused}"]')).to_contain_text(
        f"Order #{refused} is Delivered; it cannot move to Fulfilled.")
    expect(page.locator("#selected-count")).to_have_text("None selected")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Order).where(
        Order.shipping_status == "fulfilled")) == 60
    assert status_of(refused) == "delivered"


def log_in_speaking(page: Page, live_server: str, username: str, heading: str) -> None:
    """Log in as an operator whose saved language gives the desk this heading."""
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{live_server}/login")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill("browser-pw-1")
    page.locator('form button[type="submit"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def test_desk_selection_and_bulk_report_in_french(page: Page, live_server, make_user,
                                                  parcel_order):
    operator = make_user(role="operator", username="salma", password="browser-pw-1",
                         language="fr")
    order, _ = parcel_order("created")
    log_in_speaking(page, live_server, operator.username, "Expédition")
    expect(page.locator("#selected-count")).to_have_text("Aucune sélection")
    page.get_by_label(f"Sélectionner #{order.id}").check()
    expect(page.locator("#selected-count")).to_have_text("Sélectionnées : 1")
    page.get_by_role("button", name="Préparé", exact=True).click()
    report = page.locator("#bulk-report .bulk-report")
    expect(report.locator("header")).to_have_text("Préparé — réussies : 1.")
    expect(report.locator(f'li[data-order="{order.id}"]')).to_contain_text("désormais Préparé")
    expect(page.locator("#selected-count")).to_have_text("Aucune sélection")
    assert status_of(order.id) == "fulfilled"


def test_scan_mode_in_arabic_right_to_left(page: Page, live_server, make_user, parcel_order):
    operator = make_user(role="operator", username="omar", password="browser-pw-1",
                         language="ar")
    order, _ = parcel_order("fulfilled")
    log_in_speaking(page, live_server, operator.username, "الشحن")
    page.get_by_role("button", name="وضع المسح").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("وضع المسح")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    field = page.locator("#scan-code")
    expect(field).to_be_focused()
    scan_script_ready(page)
    page.keyboard.type(f"#{order.id}")
    page.keyboard.press("Enter")
    entry = page.locator("#scans > li").first
    expect(entry).to_have_attribute("data-outcome", "refused")
    expect(entry.locator(".scan-message")).to_have_text(
        f"مُغلّف مسبقًا: سبق مسح #{order.id}؛ لم يتغير شيء.")
    expect(field).to_be_focused()
    # The hint reads right to left; a typed code reads left to right.
    expect(field).to_have_css("direction", "rtl")
    page.keyboard.type("RR123456785MA")
    expect(field).to_have_css("direction", "ltr")
