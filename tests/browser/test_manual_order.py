"""Manual orders and held orders in a real browser: lines added with htmx, the phone check,
the order reaching an agent's call queue, and Send from the orders list."""

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from extensions import db
from models import Order

TIMEOUT = 5_000


def log_in(page: Page, live_server: str, username: str) -> None:
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("browser-pw-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Log in to codboard")
    # Keys and htmx hooks come from deferred scripts: they listen once the page has loaded.
    page.wait_for_load_state("load")


def test_an_operator_enters_an_order_and_an_agent_gets_it(
        page: Page, live_server, make_user, make_channel, make_product, make_order):
    make_user(role="operator", username="nadia", password="browser-pw-1")
    make_user(role="agent", username="salma", password="browser-pw-1")
    make_channel(name="Phone orders", kind="manual")
    make_product(sku="ARG-250", name="Argan oil 250ml", price_cents=9900)
    make_product(sku="SOAP-1", name="Black soap", price_cents=2500)
    # An earlier order from the same number, confirmed already: not in the queue any more.
    earlier = make_order(phone="0661223344", phone_normalized="+212661223344",
                         confirmation_status="confirmed", shipping_status="created")

    log_in(page, live_server, "nadia")
    page.goto(f"{live_server}/orders/")
    page.get_by_role("button", name="New order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New order")
    page.evaluate("window.stillTheSamePage = 'yes'")

    page.get_by_label("Customer name").fill("Yasmine Alaoui")
    page.get_by_label("Phone", exact=True).fill("06 61 22 33 44")
    check = page.locator("#phone-check")
    expect(check).to_contain_text("1 other order with this number")
    expect(check.get_by_role("link", name=f"#{earlier.id}")).to_be_visible()
    expect(check).to_contain_text("Confirmed")
    page.get_by_label("Address").fill("4 Avenue Hassan II")
    page.get_by_label("City").fill("Rabat")

    rows = page.locator("#line-rows tr")
    rows.nth(0).get_by_label("Product").select_option(label="ARG-250 — Argan oil 250ml — 99.00 MAD")
    page.get_by_role("button", name="Add line").click()
    expect(rows).to_have_count(2)
    rows.nth(1).get_by_label("Product").select_option(label="SOAP-1 — Black soap — 25.00 MAD")
    rows.nth(1).get_by_label("Quantity").fill("3")
    rows.nth(1).get_by_label("Quantity").dispatch_event("change")
    expect(page.locator("#lines-total")).to_contain_text("174.00 MAD")
    # A third line, removed again: the total follows.
    page.get_by_role("button", name="Add line").click()
    rows.nth(2).get_by_label("Product").select_option(label="ARG-250 — Argan oil 250ml — 99.00 MAD")
    expect(page.locator("#lines-total")).to_contain_text("273.00 MAD")
    rows.nth(2).get_by_role("button", name="Remove").click()
    expect(rows).to_have_count(2)
    expect(page.locator("#lines-total")).to_contain_text("174.00 MAD")
    assert page.evaluate("window.stillTheSamePage") == "yes"  # all of it without a reload

    page.get_by_role("button", name="Create order").click()
    expect(page.locator("#messages")).to_contain_text("created — it is in the call queue")
    db.session.rollback()
    order = db.session.execute(
        select(Order).where(Order.customer_name == "Yasmine Alaoui")).scalar_one()
    expect(page).to_have_url(f"{live_server}/orders/{order.id}")
    assert [(line.sku, line.quantity) for line in order.lines] == [("ARG-250", 1), ("SOAP-1", 3)]
    assert order.cod_amount_cents == 17400

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to codboard")
    log_in(page, live_server, "salma")
    page.keyboard.press("N")
    card = page.locator("article.call-card")
    expect(card).to_have_attribute("data-order", str(order.id))
    expect(card.get_by_role("heading", level=2)).to_have_text("Yasmine Alaoui")
    expect(card).to_contain_text("SOAP-1")


def test_an_operator_sends_held_orders_from_the_list(page: Page, live_server, make_user,
                                                     make_order):
    make_user(role="operator", username="nadia", password="browser-pw-1")
    waiting = [make_order(push_status="not_sent", push_detail="Forwarding is off.")
               for _ in range(2)]
    broken = make_order(push_status="error", push_detail="Unknown SKU “ZZ-9”.")
    broken.lines[0].product_id, broken.lines[0].sku = None, "ZZ-9"
    db.session.commit()

    log_in(page, live_server, "nadia")
    page.goto(f"{live_server}/orders/?push=error")
    held = page.locator(f"#push-{broken.id}")
    held.locator("summary").focus()
    page.keyboard.press("Enter")  # the reason opens from the keyboard
    expect(held.locator("details small")).to_have_text("Unknown SKU “ZZ-9”.")

    page.get_by_label("Push").select_option(label="Any")
    expect(page).to_have_url(re.compile(r"/orders/$"))
    page.get_by_label("Select all Not sent and Error orders on this page").check()
    page.get_by_role("button", name="Send").click()

    report = page.locator("#send-report")
    for order in waiting:
        expect(report).to_contain_text(f"#{order.id} sent to the call queue.")
        expect(page.locator(f"#push-{order.id} [data-status]")).to_have_text("Sent")
    expect(report).to_contain_text(
        f"#{broken.id} still not sent: SKU ZZ-9 is not in the catalogue.")
    expect(page.locator(f"#push-{broken.id} details small")).to_have_text(
        "SKU ZZ-9 is not in the catalogue.")
    db.session.rollback()
    assert [db.session.get(Order, o.id).push_status for o in waiting] == ["sent", "sent"]
