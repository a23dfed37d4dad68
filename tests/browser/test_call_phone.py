"""The call screen on a phone (390 × 844, touch): no sideways scroll, a bottom outcome bar,
tap targets a thumb can hit, one tap to dial, and an outcome recorded by a tap."""

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from extensions import db
from models import Order, User, utcnow

TIMEOUT = 5_000
PHONE = {"width": 390, "height": 844}
MIN_TAP = 44

# Every visible control of the card and the bar, with the box a finger actually hits:
# a radio or checkbox is tapped through its label.
TAP_TARGETS = """
() => Array.from(document.querySelectorAll(
    "article.call-card :is(a, button, input:not([type=hidden]), select, textarea)"))
  .filter(el => el.offsetParent !== null || getComputedStyle(el).position === "fixed")
  .map(el => {
    const target = el.matches("[type=radio], [type=checkbox]") && el.closest("label")
      ? el.closest("label") : el;
    const box = target.getBoundingClientRect();
    return {what: el.outerHTML.slice(0, 90), width: box.width, height: box.height};
  })
"""


@pytest.fixture
def browser_context_args(browser_context_args):
    """A phone: small screen, touch, mobile viewport rules."""
    return {**browser_context_args, "viewport": PHONE, "has_touch": True, "is_mobile": True,
            "device_scale_factor": 2}


@pytest.fixture
def busy_card(make_user, make_order, make_product):
    """busy_card(language) -> (agent, first order, second order): a card with everything on it."""

    def make(language: str = ""):
        agent = make_user(role="agent", username="salma", password="browser-pw-1",
                          language=language)
        argan = make_product(sku="ARG-250-LONG-REFERENCE", stock=30,
                             name="Huile d'argan cosmétique pressée à froid 250ml — flacon")
        soap = make_product(sku="SAV-NOIR", name="صابون أسود بالأوكالبتوس", stock=30)
        phone = {"phone": "06 61 22 33 44", "phone_normalized": "+212661223344"}
        make_order(created_at=utcnow() - timedelta(days=30), confirmation_status="fake", **phone)
        make_order(created_at=utcnow() - timedelta(days=1), confirmation_status="confirmed",
                   **phone)
        first = make_order(created_at=utcnow() - timedelta(minutes=90),
                           customer_name="Fatima Zahra El Amrani Benjelloun",
                           address="Résidence Al Amal, immeuble 12, appartement 34, "
                                   "boulevard Mohammed VI", city="Casablanca",
                           lines=[(argan, 2), (soap, 1)], **phone)
        second = make_order(created_at=utcnow() - timedelta(minutes=30),
                            customer_name="كريم التازي", phone="0677889900",
                            phone_normalized="+212677889900")
        return agent, first, second

    return make


def log_in(page: Page, live_server: str, username: str) -> None:
    """Log in and land on the call screen (in whatever language the user speaks)."""
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{live_server}/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill("browser-pw-1")
    page.locator("form button[type=submit]").last.tap()
    expect(page).to_have_url(f"{live_server}/calls/")


def take_call(page: Page, order: Order):
    """Tap Next call and wait for the order's card."""
    page.locator("#next-call").tap()
    card = page.locator("article.call-card")
    expect(card).to_have_attribute("data-order", str(order.id))
    return card


def assert_fits_a_phone(page: Page) -> None:
    """No sideways scroll; the outcome bar fully on screen; every tap target big enough."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth"), f"page is {width}px wide"
    card_width = page.evaluate("document.querySelector('article.call-card').scrollWidth")
    assert card_width <= PHONE["width"], f"card is {card_width}px wide"
    bar = page.evaluate("""() => {
        const r = document.querySelector('#outcome-form .outcomes').getBoundingClientRect();
        return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};
    }""")
    assert bar["top"] >= 0 and bar["left"] >= 0, bar
    assert bar["bottom"] <= PHONE["height"] and bar["right"] <= PHONE["width"], bar
    targets = page.evaluate(TAP_TARGETS)
    assert len(targets) > 10
    small = [t for t in targets if t["width"] < MIN_TAP or t["height"] < MIN_TAP]
    assert small == [], "tap targets under 44×44:\n" + "\n".join(map(str, small))


def test_call_card_fits_a_phone_and_a_tap_confirms(page: Page, live_server, busy_card):
    agent, first, second = busy_card()
    log_in(page, live_server, agent.username)
    card = take_call(page, first)
    expect(card.locator("[data-flag=duplicate]")).to_be_visible()
    expect(card.locator("[data-flag=fake]")).to_be_visible()
    phone = card.locator("a.phone")
    expect(phone).to_have_attribute("href", "tel:+212661223344")
    expect(phone).to_have_attribute("dir", "ltr")

    assert_fits_a_phone(page)
    # The bar stays on screen however far the card is scrolled.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert_fits_a_phone(page)
    # Nothing of the card hides behind the bar: its last control ends above it.
    assert page.evaluate("""() => {
        const bar = document.querySelector('#outcome-form .outcomes').getBoundingClientRect();
        const rows = document.querySelectorAll('.lines tr');
        return rows[rows.length - 1].getBoundingClientRect().bottom <= bar.top;
    }""")

    # Each order line is one block: product, then quantity and price, no table columns.
    first_line = card.locator(".lines tbody tr").first
    assert first_line.evaluate("tr => getComputedStyle(tr).display") == "grid"

    # A panel opened by a tap keeps its choices big enough for a thumb too.
    card.locator("button[data-panel=canceled]").tap()
    expect(card.locator("#panel-canceled")).to_be_visible()
    assert_fits_a_phone(page)
    page.keyboard.press("Escape")
    expect(card.locator("#panel-canceled")).to_be_hidden()

    card.locator("button[value=confirmed]").tap()
    expect(card).to_have_attribute("data-order", str(second.id))
    # The new card's heading has the focus (so it is on screen) and the tap is announced.
    expect(card.get_by_role("heading", level=2)).to_be_focused()
    expect(page.locator("#call-announce")).to_have_text(
        f"Order #{first.id} confirmed. Next: Order #{second.id}.")
    db.session.rollback()
    stored = db.session.get(Order, first.id)
    assert (stored.confirmation_status, stored.shipping_status) == ("confirmed", "created")
    assert db.session.get(Order, second.id).claimed_by_id == agent.id


def test_arabic_call_card_fits_a_phone(page: Page, live_server, busy_card):
    agent, first, second = busy_card("ar")
    log_in(page, live_server, agent.username)
    assert page.evaluate("document.documentElement.dir") == "rtl"
    card = take_call(page, first)
    expect(card.locator("button[value=confirmed]")).to_contain_text("مؤكد")
    expect(card.locator("a.phone")).to_have_attribute("href", "tel:+212661223344")
    assert_fits_a_phone(page)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert_fits_a_phone(page)

    card.locator("button[value=no_answer]").tap()
    expect(card).to_have_attribute("data-order", str(second.id))
    expect(page.locator("#call-announce")).to_have_text(
        f"الطلب #{first.id}: تم تسجيل عدم الرد. التالي: الطلب #{second.id}.")
    db.session.rollback()
    assert db.session.get(Order, first.id).confirmation_status == "no_answer"
    assert db.session.get(User, agent.id).language == "ar"
