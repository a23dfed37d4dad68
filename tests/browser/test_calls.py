"""The call screen in a real browser: keyboard shortcuts, card swaps, the cancel panel."""

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from extensions import db
from models import AuditEvent, Order, utcnow

TIMEOUT = 5_000


@pytest.fixture
def lead(make_order):
    """lead(age_minutes, **overrides): a new order that arrived that long ago."""

    def make(age_minutes: int, **overrides) -> Order:
        return make_order(created_at=utcnow() - timedelta(minutes=age_minutes), **overrides)

    return make


def reload(order_id: int) -> Order:
    db.session.rollback()
    return db.session.get(Order, order_id)


def outcomes(order_id: int) -> list[str]:
    """The confirmation values recorded on an order, oldest first."""
    db.session.rollback()
    return list(db.session.execute(
        select(AuditEvent.to_value).where(AuditEvent.order_id == order_id,
                                          AuditEvent.kind == "confirmation")
        .order_by(AuditEvent.id)).scalars())


def log_in(page: Page, live_server: str, username: str) -> None:
    """Log in as an agent and land on the call screen."""
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("browser-pw-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Call queue")
    expect(page).to_have_url(f"{live_server}/calls/")


def test_keys_take_a_call_and_confirm_it_without_reloading(
    page: Page, live_server, make_user, lead, make_product
):
    agent = make_user(role="agent", username="salma", password="browser-pw-1")
    product = make_product(sku="ARG-250", name="Argan oil 250ml", stock=30)
    first = lead(90, customer_name="Fatima Zahra", lines=[(product, 2)])
    second = lead(30, customer_name="Karim Tazi", phone="0661223344",
                  phone_normalized="+212661223344")
    log_in(page, live_server, agent.username)
    card = page.locator("article.call-card")
    expect(card).to_have_count(0)
    expect(page.locator("#next-call")).to_be_visible()
    page.evaluate("window.stillTheSamePage = 'yes'")

    page.keyboard.press("N")
    expect(card).to_have_attribute("data-order", str(first.id))
    expect(card.get_by_role("heading", level=2)).to_have_text("Fatima Zahra")
    expect(card).to_contain_text("ARG-250")

    page.keyboard.press("1")
    expect(card).to_have_attribute("data-order", str(second.id))
    expect(card.get_by_role("heading", level=2)).to_have_text("Karim Tazi")
    expect(page.locator("#agent-strip")).to_contain_text("1 calls today")
    expect(page.locator("#agent-strip")).to_contain_text("1 confirmed")
    assert page.evaluate("window.stillTheSamePage") == "yes"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    expect(page).to_have_url(f"{live_server}/calls/")

    stored = reload(first.id)
    assert (stored.confirmation_status, stored.shipping_status) == ("confirmed", "created")
    assert reload(second.id).claimed_by_id == agent.id

    page.goto(f"{live_server}/orders/{first.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order #{first.id}")
    badges = page.locator("header.order-head .badges")
    expect(badges.locator('[data-status="confirmed"]')).to_have_text("Confirmed")
    expect(badges.locator('[data-status="created"]')).to_have_text("Created")
    stock = page.locator('ol.audit li[data-kind="stock"]')
    expect(stock).to_have_count(1)
    expect(stock).to_contain_text("ARG-250")
    expect(stock).to_contain_text("-2")
    expect(stock).to_contain_text("Reserved")
    expect(stock.locator(".actor")).to_have_text("salma")


def test_enter_saves_the_open_panel_and_nothing_else(page: Page, live_server, make_user, lead):
    agent = make_user(role="agent", username="omar", password="browser-pw-1")
    first = lead(90, customer_name="Fatima Zahra", city="Casablanca")
    second = lead(30, customer_name="Karim Tazi", phone="0661223344",
                  phone_normalized="+212661223344")
    log_in(page, live_server, agent.username)
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if "/outcome" in r.url else None)

    page.get_by_role("button", name="Next call").click()
    card = page.locator("article.call-card")
    expect(card).to_have_attribute("data-order", str(first.id))

    city = card.get_by_label("City")
    city.fill("Rabat")
    city.press("Enter")
    page.wait_for_timeout(500)
    assert posted == []
    expect(card).to_have_attribute("data-order", str(first.id))
    stored = reload(first.id)
    assert (stored.confirmation_status, stored.city) == ("new", "Casablanca")
    assert stored.claimed_by_id == agent.id

    card.get_by_role("heading", level=2).click()  # leave the field, as a mouse user would
    cancel_panel = card.locator('fieldset[data-panel-for="canceled"]')
    expect(cancel_panel).to_be_hidden()
    page.keyboard.press("4")
    expect(cancel_panel).to_be_visible()
    expect(cancel_panel).to_contain_text("Why is it canceled?")
    expect(card.locator('fieldset[data-panel-for="fake"]')).to_be_hidden()
    expect(card.locator('fieldset[data-panel-for="call_later"]')).to_be_hidden()
    assert posted == []

    cancel_panel.get_by_label("Price too high").check()
    details = cancel_panel.get_by_label("Details")
    details.fill("found it cheaper")
    details.press("Enter")
    expect(card).to_have_attribute("data-order", str(second.id))
    assert len(posted) == 1

    stored = reload(first.id)
    assert stored.confirmation_status == "canceled"
    assert stored.shipping_status is None
    assert stored.city == "Rabat"  # the correction typed earlier goes with the outcome
    assert outcomes(first.id) == ["canceled"]
    db.session.rollback()
    note = db.session.scalar(select(AuditEvent.note).where(
        AuditEvent.order_id == first.id, AuditEvent.kind == "confirmation"))
    assert note == "Price too high — found it cheaper"
    assert outcomes(second.id) == []
