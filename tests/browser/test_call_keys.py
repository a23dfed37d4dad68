"""The call screen's keys (1–5, N, Esc) and what screen readers are told, on a desktop.

Keys never fire from a field, a tick box, a radio button or a select, nor while a panel
is open; Esc closes the panel and gives the focus back to its button. After an outcome the
focus is on the new card's heading and the live region says what was recorded.

Each test proves "nothing happened" without waiting: after the ignored keys, one key
pressed from the card records No answer, and that must be the only request and the only
outcome the order ever got.
"""

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from extensions import db
from models import Order, utcnow

from .test_calls import outcomes

TIMEOUT = 5_000
KEYS = ["1", "2", "3", "4", "5", "n", "N"]


@pytest.fixture
def browser_context_args(browser_context_args):
    """A desktop screen, where the keys are used."""
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def call(page: Page, live_server, make_user, make_order, make_product):
    """An agent logged in with the first of two orders on the card; posts are recorded."""
    agent = make_user(role="agent", username="salma", password="browser-pw-1")
    argan = make_product(sku="ARG-250", name="Argan oil 250ml", stock=30)
    first = make_order(created_at=utcnow() - timedelta(minutes=90), customer_name="Fatima Zahra",
                       phone="0612345678", phone_normalized="+212612345678",
                       lines=[(argan, 2)])
    second = make_order(created_at=utcnow() - timedelta(minutes=30), customer_name="Karim Tazi",
                        phone="0661223344", phone_normalized="+212661223344")
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill(agent.username)
    page.get_by_label("Password").fill("browser-pw-1")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server}/calls/")
    page.get_by_role("button", name="Next call").click()
    card = page.locator("article.call-card")
    expect(card).to_have_attribute("data-order", str(first.id))
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    return {"page": page, "card": card, "first": first, "second": second, "posted": posted}


def press_all(page: Page) -> None:
    """Every outcome key and N, one after the other, wherever the focus is."""
    for key in KEYS:
        page.keyboard.press(key)


def no_panel_open(card) -> None:
    """All three panels are closed."""
    for name in ("call_later", "canceled", "fake"):
        expect(card.locator(f'fieldset[data-panel-for="{name}"]')).to_be_hidden()


def then_only_no_answer_was_recorded(call) -> None:
    """From the card, key 2 records No answer: the one request and the one outcome."""
    page, card, first = call["page"], call["card"], call["first"]
    card.get_by_role("heading", level=2).click()
    page.keyboard.press("2")
    expect(card).to_have_attribute("data-order", str(call["second"].id))
    assert [url.rsplit("/", 2)[-2:] for url in call["posted"]] == [[str(first.id), "outcome"]]
    assert outcomes(first.id) == ["no_answer"]
    db.session.rollback()
    assert db.session.get(Order, first.id).confirmation_status == "no_answer"


@pytest.mark.parametrize("field", ["phone", "city", "address", "qty"])
def test_keys_type_into_fields_and_record_nothing(call, field):
    page, card = call["page"], call["card"]
    box = card.locator(f"input[name^={field}]").first
    before = box.input_value()
    box.focus()
    press_all(page)
    # The keys went into the field (a number field keeps the digits only).
    assert box.input_value() != before
    no_panel_open(card)
    assert call["posted"] == []
    box.fill(before)
    then_only_no_answer_was_recorded(call)


def test_keys_do_nothing_on_a_tick_box(call):
    page, card = call["page"], call["card"]
    remove = card.get_by_role("checkbox", name="Remove ARG-250")
    remove.focus()
    press_all(page)
    expect(remove).not_to_be_checked()
    no_panel_open(card)
    then_only_no_answer_was_recorded(call)


def test_keys_do_nothing_on_a_select(call):
    page, card = call["page"], call["card"]
    language = page.get_by_role("combobox", name="Language")
    language.focus()
    press_all(page)
    expect(language).to_have_value("en")
    no_panel_open(card)
    then_only_no_answer_was_recorded(call)


@pytest.mark.parametrize("key, name", [("3", "call_later"), ("4", "canceled"), ("5", "fake")])
def test_an_open_panel_stops_the_keys_and_esc_closes_it(call, key, name):
    page, card = call["page"], call["card"]
    opener = card.locator(f'button[data-panel="{name}"]')
    panel = card.locator(f'fieldset[data-panel-for="{name}"]')
    card.get_by_role("heading", level=2).click()
    page.keyboard.press(key)
    expect(panel).to_be_visible()
    expect(opener).to_have_attribute("aria-expanded", "true")
    # The focus is on the panel's first choice, a radio button: no key fires there...
    assert page.evaluate("document.activeElement.type") == "radio"
    press_all(page)
    expect(panel).to_be_visible()
    # ...nor anywhere else while the panel is open.
    panel.locator("legend").click()
    assert page.evaluate("document.activeElement.type") != "radio"
    press_all(page)
    expect(panel).to_be_visible()
    for other in {"call_later", "canceled", "fake"} - {name}:
        expect(card.locator(f'fieldset[data-panel-for="{other}"]')).to_be_hidden()
    assert call["posted"] == []

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(opener).to_be_focused()
    expect(opener).to_have_attribute("aria-expanded", "false")
    then_only_no_answer_was_recorded(call)


def test_esc_in_a_panels_field_closes_the_panel(call):
    card = call["card"]
    card.get_by_role("button", name="Canceled…").click()
    details = card.locator('fieldset[data-panel-for="canceled"]').get_by_label("Details")
    details.fill("found it cheaper")
    details.press("Escape")
    expect(details).to_be_hidden()
    expect(card.get_by_role("button", name="Canceled…")).to_be_focused()
    assert call["posted"] == []


def test_after_an_outcome_focus_is_on_the_new_card_and_it_is_announced(call):
    page, card, first, second = call["page"], call["card"], call["first"], call["second"]
    announce = page.locator("#call-announce")
    expect(announce).to_have_attribute("role", "status")
    expect(announce).to_have_attribute("aria-live", "polite")
    expect(announce).to_have_text("")
    card.get_by_role("heading", level=2).click()
    page.keyboard.press("1")
    expect(card).to_have_attribute("data-order", str(second.id))
    heading = card.get_by_role("heading", level=2)
    expect(heading).to_have_text("Karim Tazi")
    expect(heading).to_be_focused()
    expect(page.locator("#call-announce")).to_have_text(
        f"Order #{first.id} confirmed. Next: Order #{second.id}.")
    assert outcomes(first.id) == ["confirmed"]

    # Keys go on working from the focused heading; the last call leaves the queue empty.
    page.keyboard.press("2")
    expect(page.locator("#next-call")).to_be_focused()
    expect(page.locator("#call-announce")).to_have_text(
        f"Order #{second.id}: no answer recorded. No more orders to call.")


def test_buttons_carry_their_key_for_screen_readers(call):
    card = call["card"]
    for key, name in [("1", "Confirmed"), ("2", "No answer"), ("3", "Call later…"),
                      ("4", "Canceled…"), ("5", "Fake…")]:
        # The name is the outcome alone; the key is announced as a shortcut.
        button = card.get_by_role("button", name=name, exact=True)
        expect(button).to_have_attribute("aria-keyshortcuts", key)
    call["page"].get_by_role("heading", level=2).click()
    call["page"].keyboard.press("1")
    expect(call["card"]).to_have_attribute("data-order", str(call["second"].id))


@pytest.mark.parametrize(("key", "code"), [
    ("&", "Digit1"),       # French AZERTY: the 1 key unshifted
    ("\u0661", "Digit1"),  # Arabic layout: Arabic-Indic one on the digit row
    ("\u0661", ""),        # the digit alone, with no physical key known
    ("1", "Numpad1"),
])
def test_key_one_confirms_on_any_keyboard_layout(call, key, code):
    page, card, first = call["page"], call["card"], call["first"]
    card.get_by_role("heading", level=2).click()
    page.evaluate(
        """([key, code]) => document.activeElement.dispatchEvent(
            new KeyboardEvent("keydown", {key, code, bubbles: true, cancelable: true}))""",
        [key, code])
    expect(card).to_have_attribute("data-order", str(call["second"].id))
    assert outcomes(first.id) == ["confirmed"]


def test_the_n_key_of_an_arabic_layout_takes_the_next_call(call, make_order):
    page, card = call["page"], call["card"]
    page.keyboard.press("2")  # No answer: the card shows the second order
    expect(card).to_have_attribute("data-order", str(call["second"].id))
    page.keyboard.press("2")
    expect(page.locator("#next-call")).to_be_visible()
    third = make_order(customer_name="Nadia Amrani", phone="0662334455",
                       phone_normalized="+212662334455")
    page.evaluate("""() => document.body.dispatchEvent(new KeyboardEvent(
        "keydown", {key: "\u0649", code: "KeyN", bubbles: true, cancelable: true}))""")
    expect(page.locator("article.call-card")).to_have_attribute("data-order", str(third.id))
