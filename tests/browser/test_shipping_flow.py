"""The shipping flow a user sees, in Chromium against the sandbox carrier over real HTTP:
confirmed on the call screen, registered, packed by scan, moved by the carrier on its
own, back In return, scanned Returned, one restock on the product's ledger."""

from playwright.sync_api import Page, expect
from sqlalchemy import update

from extensions import db
from models import Order, SandboxParcel
from models.shipping.operations import parcel_of
from workers.shipping import sync_carrier

from .test_calls import log_in as log_in_agent
from .test_scan import log_in as log_in_operator


def test_a_confirmed_order_travels_and_comes_back_into_stock_once(
    app, page: Page, browser, live_server, make_user, make_order, make_carrier, make_product,
    run_jobs,
):
    app.config["PUBLIC_URL"] = live_server
    sandbox = make_carrier(kind="sandbox", code="sbx", name="Sandbox Express",
                           base_url=f"{live_server}/sandbox/carrier", api_key="k",
                           webhook_secret="k")
    product = make_product(sku="ARG-250", name="Argan oil 250ml", stock=30)
    order = make_order(carrier=sandbox, customer_name="Fatima Zahra", lines=[(product, 2)])
    make_user(role="agent", username="salma", password="browser-pw-1")
    make_user(role="operator", username="youssef", password="browser-pw-1")

    log_in_agent(page, live_server, "salma")
    page.keyboard.press("N")
    expect(page.locator("article.call-card")).to_have_attribute("data-order", str(order.id))
    page.keyboard.press("1")  # Confirmed
    expect(page.locator("#agent-strip")).to_contain_text("1 confirmed")
    run_jobs()  # the confirmation nudged the registration job
    tracking = parcel_of(order.id).tracking_number
    assert tracking.startswith("SBX")

    desk = browser.new_context().new_page()
    log_in_operator(desk, live_server, "youssef")
    desk.goto(f"{live_server}/orders/{order.id}")
    expect(desk.locator("code.tracking-number")).to_have_text(tracking)

    desk.goto(f"{live_server}/shipping/scan")
    desk.wait_for_function("window.codboardScan === true")  # scan.js is deferred
    desk.keyboard.type(f"#{order.id}\n")
    expect(desk.locator("#scans li").first).to_contain_text(f"Packed #{order.id}")

    # The customer refuses it: the sandbox carrier brings it back, on its own.
    db.session.execute(update(SandboxParcel).where(SandboxParcel.tracking_number == tracking)
                       .values(journey="refused_return"))
    db.session.commit()
    sync_carrier.enqueue(sandbox.id)
    run_jobs()
    db.session.expire_all()
    assert db.session.get(Order, order.id).shipping_status == "in_return"

    desk.keyboard.type(f"{tracking}\n")
    expect(desk.locator("#scans li").first).to_contain_text("back in stock")
    desk.goto(f"{live_server}/orders/{order.id}")
    timeline = desk.locator("table.timeline")
    expect(timeline).to_contain_text("RETURN_TO_SENDER")
    expect(timeline).to_contain_text("REFUSED")
    desk.goto(f"{live_server}/stock/{product.id}")
    expect(desk.locator('#ledger tr[data-reason="Restocked"]')).to_have_count(1)
    expect(desk.locator('#ledger tr[data-reason="Reserved"]')).to_have_count(1)
    expect(desk.locator("#ledger")).to_contain_text(f"#{order.id}")
