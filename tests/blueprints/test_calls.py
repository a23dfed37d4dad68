"""The call screen over HTTP: claiming, outcomes, corrections, flags, refusals, the team."""

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from extensions import db
from models import (
    Actor,
    AuditEvent,
    CallSettings,
    Order,
    OrderLine,
    StockLevel,
    StockMovement,
    utcnow,
)
from models.orders.operations import edit_order
from models.phones import normalize_phone

from .pages import audit_rows, header_statuses, location, squash, text

CASABLANCA = ZoneInfo("Africa/Casablanca")
CARD = re.compile(r'<article class="call-card" data-order="(\d+)"')
VERSION = re.compile(r'name="version" value="([^"]*)"')
ERROR = re.compile(
    r'<div class="flash flash-error call-error" role="alert" data-status="(\d+)">(.*?)</div>',
    re.S,
)
STRIP = re.compile(r'<div id="agent-strip" hx-swap-oob="true">(.*?)</div>', re.S)
FIGURE = re.compile(r"<b>([^<]*)</b>\s*([^<]+?)\s*</li>")


# --- reading the call screen ------------------------------------------------------


def body(resp) -> str:
    """The response's markup."""
    return resp.get_data(as_text=True)


def card_order(resp) -> int | None:
    """The order on the card the agent sees, or None when no card is shown."""
    found = CARD.findall(body(resp))
    assert len(found) <= 1, "more than one card on the screen"
    return int(found[0]) if found else None


def card_version(resp) -> str:
    """The version the card's outcome form sends back."""
    found = VERSION.findall(body(resp))
    assert found, "the card has no outcome form"
    return found[0]


def error_box(resp) -> tuple[int, str] | None:
    """(status, message) of the call area's error box, if there is one."""
    found = ERROR.search(body(resp))
    return (int(found.group(1)), squash(text_of(found.group(2)))) if found else None


def text_of(html_text: str) -> str:
    """Markup reduced to the text it shows."""
    return html.unescape(re.sub(r"<[^>]+>", " ", html_text))


def visible(resp) -> str:
    """The text a reader sees, whitespace collapsed."""
    return squash(text_of(body(resp)))


def idle(resp) -> bool:
    """The idle panel with its Next call button is shown."""
    return 'id="next-call"' in body(resp) and "Next call" in body(resp)


def error_page(resp) -> str:
    """The message of a full error page."""
    found = re.search(r'<article class="error-page".*?</article>', body(resp), re.S)
    return squash(text_of(found.group(0))) if found else ""


def strip(resp) -> dict[str, str]:
    """The agent's day figures sent out of band: label -> value."""
    found = STRIP.search(body(resp))
    assert found, "the agent strip is not in the response"
    return {label.strip(): value.strip() for value, label in FIGURE.findall(found.group(1))}


def next_call(client):
    """Press Next call."""
    return client.post("/calls/next", htmx=True)


def record(client, card_resp, outcome: str, **fields):
    """Submit the card's outcome form as htmx does, with the card's version."""
    order_id = card_order(card_resp)
    assert order_id is not None, "there is no card to record an outcome on"
    data = {"version": card_version(card_resp), "outcome": outcome, **fields}
    return client.post(f"/calls/{order_id}/outcome", data=data, htmx=True)


# --- reading the database ---------------------------------------------------------


def reload(order_id: int) -> Order | None:
    """The order as stored, after the request's work is over."""
    db.session.rollback()
    return db.session.get(Order, order_id)


def events(order_id: int, kind: str | None = None) -> list[AuditEvent]:
    """An order's audit events (of one kind), oldest first."""
    db.session.rollback()
    query = select(AuditEvent).where(AuditEvent.order_id == order_id)
    if kind:
        query = query.where(AuditEvent.kind == kind)
    return list(db.session.execute(query.order_by(AuditEvent.id)).scalars())


def snapshot(order_id: int) -> tuple:
    """Everything a refused request must leave as it was."""
    order = reload(order_id)
    lines = tuple((line.sku, line.quantity) for line in order.lines)
    return (order.confirmation_status, order.shipping_status, order.version, order.attempts,
            order.claimed_by_id, order.callback_at, order.phone, order.city, order.address,
            order.cod_amount_cents, lines, len(events(order_id)))


def on_hand(product_id: int) -> int:
    """Stock on hand of a product across warehouses."""
    db.session.rollback()
    return db.session.scalar(
        select(func.sum(StockLevel.on_hand)).where(StockLevel.product_id == product_id))


def shift(order_id: int, **moments: timedelta) -> None:
    """Move an order's timestamps into the past, as if that much time had gone by."""
    db.session.rollback()
    order = db.session.get(Order, order_id)
    values = {name: getattr(order, name) - delta for name, delta in moments.items()}
    db.session.execute(update(Order).where(Order.id == order_id).values(**values))
    db.session.commit()


def save_settings(**values) -> None:
    """Store queue settings as a manager would."""
    CallSettings(**values).save()
    db.session.commit()


# --- fixtures ---------------------------------------------------------------------


@pytest.fixture
def lead(make_order):
    """lead(age_minutes, phone=..., **overrides): a new order that arrived that long ago."""

    def make(age_minutes: int = 60, phone: str = "0612345678", **overrides) -> Order:
        overrides.setdefault("phone_normalized", normalize_phone(phone))
        return make_order(phone=phone, created_at=utcnow() - timedelta(minutes=age_minutes),
                          **overrides)

    return make


@pytest.fixture
def agent(make_user):
    """The agent the tests follow."""
    return make_user(role="agent", name="Salma Idrissi")


# --- role access ------------------------------------------------------------------


def test_operator_cannot_take_calls_or_see_the_team(login, lead):
    order = lead()
    operator = login("operator")
    assert operator.post("/calls/next", htmx=True).status_code == 403
    assert operator.post("/calls/next").status_code == 403
    assert operator.get("/calls/team").status_code == 403
    assert operator.get("/calls/").status_code == 403
    assert reload(order.id).claimed_by_id is None


def test_manager_calls_home_is_the_team_view(login):
    resp = login("manager").get("/calls/")
    assert resp.status_code in (302, 303)
    assert location(resp)[0] == "/calls/team"


@pytest.mark.parametrize("path", ["/calls/team", "/calls/settings"])
def test_agent_cannot_open_manager_pages(login, path):
    assert login("agent").get(path).status_code == 403


def test_agent_cannot_change_the_settings(login):
    resp = login("agent").post("/calls/settings", data={
        "retry_delay_minutes": "1", "max_attempts": "1", "claim_timeout_minutes": "1",
        "phone_region": "FR"})
    assert resp.status_code == 403
    db.session.rollback()
    assert CallSettings.load() == CallSettings()


def test_agent_cannot_release_or_assign(login, lead, agent):
    order = lead()
    holder = login(agent)
    assert card_order(next_call(holder)) == order.id
    other = login("agent")
    assert other.post(f"/calls/{order.id}/release").status_code == 403
    assert other.post("/calls/assign", data={"order_id": order.id,
                                             "agent_id": other.user.id}).status_code == 403
    assert reload(order.id).claimed_by_id == agent.id


# --- next call ------------------------------------------------------------------


def test_next_call_shows_the_oldest_new_order_on_a_card(
    login, lead, make_product, make_channel
):
    argan = make_product(sku="ARG-250", name="Argan oil 250ml", price_cents=9900)
    soap = make_product(sku="SAV-NOIR", name="Black soap", price_cents=3500)
    lead(age_minutes=30, customer_name="Karim Tazi")
    oldest = lead(
        age_minutes=90, customer_name="Fatima Zahra", phone="06 61-22 33 44",
        channel=make_channel(name="Instagram shop"), lines=[(argan, 2), (soap, 1)],
        cod_amount_cents=23300,
    )
    resp = next_call(login("agent"))
    assert resp.status_code == 200
    assert "<html" not in body(resp)
    assert card_order(resp) == oldest.id
    page = visible(resp)
    assert "Fatima Zahra" in page
    assert "Karim Tazi" not in page
    assert 'href="tel:+212661223344"' in body(resp)
    assert "06 61-22 33 44" in page
    assert "Instagram shop" in page
    rows = re.findall(r'<td class="sku"><bdi dir="ltr">([^<]+)</bdi></td>'
                      r'<td class="product"><bdi>([^<]+)</bdi></td>.*?value="(\d+)".*?'
                      r'<td class="num price">([^<]+)</td>', body(resp), re.S)
    assert [(sku, name, int(qty), price) for sku, name, qty, price in rows] == [
        ("ARG-250", "Argan oil 250ml", 2, "99.00 MAD"),
        ("SAV-NOIR", "Black soap", 1, "35.00 MAD"),
    ]
    assert "Cash to collect 233.00 MAD" in page
    assert strip(resp)["calls today"] == "0"


def test_card_escapes_customer_data(login, lead):
    lead(customer_name="<script>alert(1)</script>", address='"><img src=x onerror=alert(2)>')
    card = next_call(login("agent"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body(card)
    assert "<script>alert(1)" not in body(card)
    assert "<img src=x" not in body(card)


def test_next_call_again_keeps_the_same_order(login, lead, agent):
    first = lead(age_minutes=90)
    second = lead(age_minutes=30)
    c = login(agent)
    held = card_order(next_call(c))
    again = next_call(c)
    assert held == first.id
    assert card_order(again) == first.id
    assert reload(first.id).claimed_by_id == agent.id
    assert reload(second.id).claimed_by_id is None
    # The call screen shows the held order too, after a page reload.
    page = c.get("/calls/")
    assert "<html" in body(page)
    assert card_order(page) == first.id
    assert len(events(first.id, "claim")) == 1


def test_next_call_with_empty_queue_says_so(login):
    resp = next_call(login("agent"))
    assert resp.status_code == 200
    assert card_order(resp) is None
    assert "The queue is empty" in text(resp)
    assert idle(resp)


def test_next_call_without_htmx_redirects_to_the_call_screen(login, lead):
    order = lead()
    c = login("agent")
    resp = c.post("/calls/next")
    assert resp.status_code == 303
    assert location(resp)[0] == "/calls/"
    assert card_order(c.get("/calls/")) == order.id


def test_two_agents_get_different_orders(login, lead):
    first, second = lead(age_minutes=90), lead(age_minutes=30)
    one, two = login("agent"), login("agent")
    assert card_order(next_call(one)) == first.id
    assert card_order(next_call(two)) == second.id
    assert card_order(next_call(login("agent"))) is None


def test_queue_order_callbacks_then_new_then_retries(login, lead):
    retry_twice = lead(age_minutes=600, confirmation_status="no_answer", attempts=2,
                       last_attempt_at=utcnow() - timedelta(hours=3))
    retry = lead(age_minutes=300, confirmation_status="no_answer", attempts=1,
                 last_attempt_at=utcnow() - timedelta(hours=2))
    new_late = lead(age_minutes=30)
    new_early = lead(age_minutes=60)
    callback = lead(age_minutes=10, confirmation_status="call_later",
                    callback_at=utcnow() - timedelta(minutes=5))
    lead(age_minutes=400, confirmation_status="call_later",
         callback_at=utcnow() + timedelta(hours=1))
    lead(age_minutes=500, confirmation_status="no_answer", attempts=1,
         last_attempt_at=utcnow() - timedelta(minutes=5))
    got = [card_order(next_call(login("agent"))) for _ in range(6)]
    assert got == [callback.id, new_early.id, new_late.id, retry.id, retry_twice.id, None]


# --- outcomes -----------------------------------------------------------------------

OUTCOMES = [
    ("confirmed", {}, ""),
    ("no_answer", {}, ""),
    ("call_later", {"callback": "1h"}, ""),
    ("canceled", {"reason": "Price too high", "note": "found it cheaper"},
     "Price too high — found it cheaper"),
    ("fake", {"reason": "Prank"}, "Prank"),
]


@pytest.mark.parametrize(("outcome", "fields", "note"), OUTCOMES,
                         ids=[o[0] for o in OUTCOMES])
def test_outcome_is_recorded_and_the_next_card_comes(login, lead, agent, outcome, fields,
                                                     note):
    first = lead(age_minutes=90)
    second = lead(age_minutes=30, phone="0661223344")
    c = login(agent)
    card = next_call(c)
    assert card_order(card) == first.id

    resp = record(c, card, outcome, **fields)
    assert resp.status_code == 200
    assert "<html" not in body(resp)
    assert error_box(resp) is None
    assert card_order(resp) == second.id
    figures = strip(resp)
    assert figures["calls today"] == "1"
    assert figures["confirmed"] == ("1" if outcome == "confirmed" else "0")

    order = reload(first.id)
    assert order.confirmation_status == outcome
    assert order.attempts == 1
    assert order.claimed_by_id is None and order.claimed_at is None
    assert order.agent_id == agent.id
    assert abs(order.last_attempt_at - utcnow()) < timedelta(minutes=1)
    assert order.shipping_status == ("created" if outcome == "confirmed" else None)
    if outcome == "call_later":
        assert abs(order.callback_at - (utcnow() + timedelta(hours=1))) < timedelta(minutes=1)
    else:
        assert order.callback_at is None
    [event] = events(first.id, "confirmation")
    assert (event.from_value, event.to_value) == ("new", outcome)
    assert (event.actor_user_id, event.actor_name) == (agent.id, agent.username)
    assert event.note == note
    assert reload(second.id).claimed_by_id == agent.id


def test_last_outcome_leaves_the_idle_panel(login, lead):
    order = lead()
    c = login("agent")
    resp = record(c, next_call(c), "no_answer")
    assert resp.status_code == 200
    assert card_order(resp) is None
    assert idle(resp)
    assert strip(resp)["calls today"] == "1"
    assert reload(order.id).confirmation_status == "no_answer"


def test_confirmed_reserves_stock_and_opens_shipping(login, lead, agent, make_product):
    product = make_product(stock=50)
    order = lead(lines=[(product, 3)])
    c = login(agent)
    assert record(c, next_call(c), "confirmed").status_code == 200
    stored = reload(order.id)
    assert (stored.confirmation_status, stored.shipping_status) == ("confirmed", "created")
    assert stored.confirmed_at is not None
    assert on_hand(product.id) == 47
    [movement] = db.session.execute(select(StockMovement).where(
        StockMovement.product_id == product.id, StockMovement.reason == "reserve")).scalars()
    assert (movement.quantity, movement.actor_name) == (-3, agent.username)
    kinds = [(e.kind, e.to_value) for e in events(order.id)]
    assert kinds[-3:] == [("confirmation", "confirmed"), ("shipping", "created"),
                          ("stock", "-3")]


def test_confirmed_with_too_little_stock_is_refused(login, lead, make_product):
    product = make_product(stock=2)
    order = lead(lines=[(product, 3)])
    c = login("agent")
    card = next_call(c)
    before = snapshot(order.id)
    resp = record(c, card, "confirmed")
    assert resp.status_code == 409
    assert error_box(resp)[0] == 409
    assert "Not enough" in error_box(resp)[1]
    assert snapshot(order.id) == before
    assert on_hand(product.id) == 2


@pytest.mark.parametrize("days_ahead", [1, 40])
def test_call_later_at_a_typed_local_time(login, lead, days_ahead):
    order = lead()
    c = login("agent")
    card = next_call(c)
    local = (datetime.now(CASABLANCA) + timedelta(days=days_ahead)).replace(
        hour=15, minute=30, second=0, microsecond=0)
    resp = record(c, card, "call_later", callback="custom",
                  callback_at=local.strftime("%Y-%m-%dT%H:%M"))
    assert resp.status_code == 200
    stored = reload(order.id)
    assert stored.confirmation_status == "call_later"
    assert stored.callback_at == local.astimezone(UTC).replace(tzinfo=None)


def test_call_later_evening_and_morning_are_local_times(login, lead):
    evening, morning = lead(age_minutes=90), lead(age_minutes=30)
    c = login("agent")
    after_evening = record(c, next_call(c), "call_later", callback="evening")
    record(c, after_evening, "call_later", callback="morning")
    at_evening = reload(evening.id).callback_at.replace(tzinfo=UTC).astimezone(CASABLANCA)
    at_morning = reload(morning.id).callback_at.replace(tzinfo=UTC).astimezone(CASABLANCA)
    now = datetime.now(CASABLANCA)
    assert (at_evening.hour, at_evening.minute) == (18, 0)
    assert timedelta(0) < at_evening - now <= timedelta(days=1)
    assert (at_morning.hour, at_morning.minute) == (10, 0)
    assert at_morning.date() == now.date() + timedelta(days=1)


def test_call_later_order_comes_back_when_due(login, lead, agent):
    order = lead()
    c = login(agent)
    record(c, next_call(c), "call_later", callback="1h")
    assert card_order(next_call(c)) is None
    shift(order.id, callback_at=timedelta(hours=1, minutes=1))
    back = next_call(c)
    assert card_order(back) == order.id
    assert "attempt 2" in visible(back)
    assert "Earlier calls" in text(back)


# --- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["canceled", "fake"])
def test_cancel_or_fake_without_reason_keeps_the_card(login, lead, outcome):
    order = lead()
    c = login("agent")
    card = next_call(c)
    before = snapshot(order.id)
    resp = record(c, card, outcome, reason="", note="  ", city="Rabat")
    assert resp.status_code == 422
    assert "<html" not in body(resp)
    assert card_order(resp) == order.id
    status, message = error_box(resp)
    assert status == 422
    assert "Say why" in message
    assert snapshot(order.id) == before
    # The kept card can still be used.
    assert record(c, resp, outcome, reason="Wrong number").status_code == 200
    assert reload(order.id).confirmation_status == outcome


def test_outcome_on_an_order_another_agent_holds_is_forbidden(login, lead, agent):
    order = lead()
    holder = login(agent)
    card = next_call(holder)
    before = snapshot(order.id)
    intruder = login("agent")
    resp = intruder.post(f"/calls/{order.id}/outcome", htmx=True, data={
        "version": card_version(card), "outcome": "confirmed", "city": "Tanger"})
    assert resp.status_code == 403
    assert "<html" not in body(resp)
    status, message = error_box(resp)
    assert status == 403
    assert "not in your hands" in message
    assert card_order(resp) is None
    assert idle(resp)
    assert snapshot(order.id) == before
    assert reload(order.id).claimed_by_id == agent.id


def test_outcome_after_the_manager_released_the_order_is_stale(login, lead, agent):
    order = lead()
    c = login(agent)
    card = next_call(c)
    assert login("manager").post(f"/calls/{order.id}/release").status_code == 303
    before = snapshot(order.id)
    resp = record(c, card, "confirmed", address="Somewhere else")
    assert resp.status_code == 409
    status, message = error_box(resp)
    assert status == 409
    assert "changed by someone else" in message
    assert idle(resp)
    assert snapshot(order.id) == before
    assert reload(order.id).confirmation_status == "new"


def test_outcome_after_a_manager_corrected_the_order_is_stale(login, lead, agent, make_user):
    order = lead(city="Casablanca")
    c = login(agent)
    card = next_call(c)
    manager = make_user(role="manager")
    edit_order(reload(order.id), Actor.of(manager), city="Tanger")
    db.session.commit()
    before = snapshot(order.id)
    resp = record(c, card, "confirmed", city="Casablanca")
    assert resp.status_code == 409
    assert "changed by someone else" in error_box(resp)[1]
    assert idle(resp)
    assert snapshot(order.id) == before
    assert reload(order.id).city == "Tanger"


def test_outcome_after_the_claim_expired_and_another_agent_took_it(login, lead, agent):
    order = lead()
    late = login(agent)
    card = next_call(late)
    shift(order.id, claimed_at=timedelta(minutes=11))
    other = login("agent")
    assert card_order(next_call(other)) == order.id
    before = snapshot(order.id)
    resp = record(late, card, "no_answer")
    assert resp.status_code == 409
    assert "changed by someone else" in error_box(resp)[1]
    assert idle(resp)
    assert snapshot(order.id) == before
    assert reload(order.id).claimed_by_id == other.user.id


def test_double_submitted_outcome_is_recorded_once(login, lead):
    order = lead()
    c = login("agent")
    card = next_call(c)
    assert record(c, card, "no_answer").status_code == 200
    before = snapshot(order.id)
    resp = record(c, card, "no_answer")
    assert resp.status_code == 409
    assert snapshot(order.id) == before
    assert reload(order.id).attempts == 1


@pytest.mark.parametrize("locked", ["confirmed", "canceled", "fake"])
def test_outcome_on_a_locked_order_is_refused(login, lead, agent, locked):
    fields = {"reason": "Prank"} if locked in ("canceled", "fake") else {}
    order = lead()
    c = login(agent)
    assert record(c, next_call(c), locked, **fields).status_code == 200
    before = snapshot(order.id)
    current = str(reload(order.id).version)
    for outcome in ("confirmed", "no_answer", "canceled"):
        resp = c.post(f"/calls/{order.id}/outcome", htmx=True, data={
            "version": current, "outcome": outcome, "reason": "Changed their mind"})
        assert resp.status_code in (403, 409), outcome
        assert error_box(resp)[0] == resp.status_code
        assert idle(resp)
    assert snapshot(order.id) == before


BAD_INPUT = [
    ({"version": "abc"}, "version"),
    ({"version": ""}, "empty version"),
    ({"version": "1.5"}, "decimal version"),
    ({"outcome": "maybe"}, "unknown outcome"),
    ({"outcome": ""}, "no outcome"),
    ({"outcome": "new"}, "new is not an outcome"),
    ({"outcome": "call_later"}, "call later without time"),
    ({"outcome": "call_later", "callback": "someday"}, "unknown callback"),
    ({"outcome": "call_later", "callback": "custom"}, "custom without time"),
    ({"outcome": "call_later", "callback": "custom", "callback_at": "tomorrow"},
     "garbage time"),
    ({"outcome": "call_later", "callback": "custom", "callback_at": "2020-01-01T10:00"},
     "time in the past"),
    ({"qty": "abc"}, "garbage quantity"),
    ({"qty": "0"}, "zero quantity"),
    ({"qty": "1000"}, "huge quantity"),
    ({"reason": "x" * 121, "outcome": "canceled"}, "reason too long"),
]


@pytest.mark.parametrize(("fields", "case"), BAD_INPUT, ids=[case for _, case in BAD_INPUT])
def test_bad_input_is_refused_with_the_card_kept(login, lead, fields, case):
    order = lead()
    c = login("agent")
    card = next_call(c)
    line_id = reload(order.id).lines[0].id
    data = {"version": card_version(card), "outcome": "confirmed", **fields}
    if "qty" in data:
        data[f"qty-{line_id}"] = data.pop("qty")
    before = snapshot(order.id)
    resp = c.post(f"/calls/{order.id}/outcome", data=data, htmx=True)
    assert resp.status_code == 422, case
    assert card_order(resp) == order.id
    assert error_box(resp)[0] == 422
    assert snapshot(order.id) == before


def test_outcome_without_csrf_token_is_refused(login, lead):
    order = lead()
    c = login("agent")
    card = next_call(c)
    before = snapshot(order.id)
    resp = c.post(f"/calls/{order.id}/outcome", csrf=False, htmx=True,
                  data={"version": card_version(card), "outcome": "confirmed"})
    assert resp.status_code == 400
    assert snapshot(order.id) == before


@pytest.mark.parametrize("order_id", ["999999", "99999999999999999999"])
def test_outcome_for_an_unknown_order_is_not_found(login, order_id):
    resp = login("agent").post(f"/calls/{order_id}/outcome", htmx=True,
                               data={"version": "1", "outcome": "confirmed"})
    assert resp.status_code == 404


@pytest.mark.parametrize("order_id", ["999999", "99999999999999999999"])
def test_release_of_an_unknown_order_is_not_found(login, order_id):
    assert login("manager").post(f"/calls/{order_id}/release").status_code == 404


# --- corrections on the phone ---------------------------------------------------------


def test_corrections_are_saved_with_the_confirmation(login, lead, agent, make_product):
    argan = make_product(sku="ARG-250", price_cents=9900, stock=20)
    soap = make_product(sku="SAV-NOIR", price_cents=3500, stock=20)
    order = lead(lines=[(argan, 1), (soap, 2)], cod_amount_cents=19900,
                 address="12 Rue Ibn Battouta", city="Casablanca")
    argan_line, soap_line = (line.id for line in reload(order.id).lines)
    c = login(agent)
    card = next_call(c)
    resp = record(c, card, "confirmed", phone="+212 661-22 33 44",
                  address="7 Avenue Hassan II, 3e étage", city="Rabat",
                  **{f"qty-{argan_line}": "3", f"qty-{soap_line}": "2",
                     f"remove-{soap_line}": "1"})
    assert resp.status_code == 200, error_box(resp)

    stored = reload(order.id)
    assert stored.confirmation_status == "confirmed"
    assert stored.phone == "+212 661-22 33 44"
    assert stored.phone_normalized == "+212661223344"
    assert (stored.address, stored.city) == ("7 Avenue Hassan II, 3e étage", "Rabat")
    assert [(line.sku, line.quantity) for line in stored.lines] == [("ARG-250", 3)]
    assert db.session.get(OrderLine, soap_line) is None
    # 1 × 99.00 + 2 × 35.00 became 3 × 99.00: the cash to collect follows the lines.
    assert stored.cod_amount_cents == 19900 + (3 * 9900) - (9900 + 2 * 3500)
    assert on_hand(argan.id) == 17
    assert on_hand(soap.id) == 20

    page = login("manager").get(f"/orders/{order.id}")
    assert page.status_code == 200
    edits = [row for row in audit_rows(page) if row.kind == "edit"]
    notes = {row.note for row in edits}
    assert notes == {"address corrected", "city corrected", "phone corrected",
                     "quantity of ARG-250", "line SAV-NOIR removed"}
    assert {row.actor for row in edits} == {agent.username}
    phone_row = next(row for row in edits if row.note == "phone corrected")
    assert "0612345678" in phone_row.text and "+212 661-22 33 44" in phone_row.text
    assert "Rabat" in visible(page)


def test_corrections_only_change_what_was_edited(login, lead):
    order = lead(city="Fès", address="Derb Lamnasra 4")
    c = login("agent")
    card = next_call(c)
    line_id = reload(order.id).lines[0].id
    resp = record(c, card, "no_answer", phone=order.phone, city="Fès",
                  address="Derb Lamnasra 4", **{f"qty-{line_id}": "1"})
    assert resp.status_code == 200
    assert events(order.id, "edit") == []


@pytest.mark.parametrize("phone", ["abc123", "12", "   "])
def test_invalid_phone_correction_saves_nothing(login, lead, phone):
    order = lead()
    c = login("agent")
    card = next_call(c)
    line_id = reload(order.id).lines[0].id
    before = snapshot(order.id)
    resp = record(c, card, "confirmed", phone=phone, city="Agadir",
                  **{f"qty-{line_id}": "4"})
    assert resp.status_code == 422
    assert card_order(resp) == order.id
    assert error_box(resp)[0] == 422
    assert snapshot(order.id) == before


def test_refused_corrections_stay_on_the_kept_card(login, lead):
    order = lead(address="12 Rue Ibn Battouta")
    c = login("agent")
    card = next_call(c)
    resp = record(c, card, "confirmed", phone="06 61 2x", address="7 Avenue Hassan II")
    assert resp.status_code == 422
    assert card_order(resp) == order.id
    assert "is not a phone number" in error_box(resp)[1]
    # The agent fixes the phone, not everything typed a moment ago.
    assert 'name="phone" value="06 61 2x"' in body(resp)
    assert 'name="address" value="7 Avenue Hassan II"' in body(resp)
    assert reload(order.id).address == "12 Rue Ibn Battouta"


def test_removing_every_line_is_refused(login, lead):
    order = lead()
    c = login("agent")
    card = next_call(c)
    line_id = reload(order.id).lines[0].id
    before = snapshot(order.id)
    resp = record(c, card, "confirmed", **{f"remove-{line_id}": "1"})
    assert resp.status_code == 422
    assert "cancel it instead" in error_box(resp)[1]
    assert snapshot(order.id) == before


# --- attempts -----------------------------------------------------------------------


def test_unreachable_after_max_attempts_is_canceled_by_the_system(login, lead, agent):
    save_settings(max_attempts=2, retry_delay_minutes=1)
    order = lead()
    c = login(agent)
    first = record(c, next_call(c), "no_answer")
    assert first.status_code == 200
    assert reload(order.id).confirmation_status == "no_answer"
    assert card_order(next_call(c)) is None  # the retry delay has not passed yet

    shift(order.id, last_attempt_at=timedelta(minutes=2))
    retry = next_call(c)
    assert card_order(retry) == order.id
    resp = record(c, retry, "no_answer")
    assert resp.status_code == 200
    assert card_order(resp) is None

    stored = reload(order.id)
    assert stored.confirmation_status == "canceled"
    assert stored.attempts == 2
    assert stored.claimed_by_id is None
    last = events(order.id, "confirmation")[-1]
    assert (last.from_value, last.to_value, last.actor_name) == ("no_answer", "canceled",
                                                                 "system")
    assert "unreachable" in last.note
    assert card_order(next_call(c)) is None


def test_no_answer_below_max_attempts_stays_in_the_queue(login, lead):
    save_settings(max_attempts=3, retry_delay_minutes=1)
    order = lead()
    first, second = login("agent"), login("agent")
    record(first, next_call(first), "no_answer")
    shift(order.id, last_attempt_at=timedelta(minutes=2))
    resp = record(second, next_call(second), "no_answer")
    assert resp.status_code == 200
    stored = reload(order.id)
    assert (stored.confirmation_status, stored.attempts) == ("no_answer", 2)
    assert {e.actor_name for e in events(order.id, "confirmation")} == {
        first.user.username, second.user.username}


# --- flags on the card ----------------------------------------------------------------


def test_duplicate_flag_links_to_the_other_open_order(login, lead):
    earlier = lead(age_minutes=60 * 24 * 3, phone="+212 6 61 22 33 44",
                   confirmation_status="confirmed", shipping_status="created")
    unrelated = lead(age_minutes=60 * 24 * 2, phone="0700112233",
                     confirmation_status="confirmed", shipping_status="created")
    order = lead(age_minutes=30, phone="0661223344")
    c = login("agent")
    card = next_call(c)
    assert card_order(card) == order.id
    flag = re.search(r'data-flag="duplicate">(.*?)</span>', body(card), re.S)
    assert flag, "no duplicate flag"
    assert "Possible duplicate" in flag.group(1)
    assert f'href="/orders/{earlier.id}"' in flag.group(1)
    assert f"/orders/{unrelated.id}" not in body(card)
    assert c.get(f"/orders/{earlier.id}").status_code == 200
    assert c.get(f"/orders/{unrelated.id}").status_code == 403


def test_no_duplicate_flag_for_old_or_closed_orders(login, lead):
    lead(age_minutes=60 * 24 * 8, phone="0661223344")
    lead(age_minutes=60, phone="0661223344", confirmation_status="canceled")
    lead(age_minutes=60, phone="0661223344", confirmation_status="confirmed",
         shipping_status="delivered")
    order = lead(age_minutes=1, phone="0661223344", confirmation_status="call_later",
                 callback_at=utcnow() - timedelta(minutes=1))
    card = next_call(login("agent"))
    assert card_order(card) == order.id
    assert "Possible duplicate" not in text(card)


def test_previously_fake_flag(login, lead):
    lead(age_minutes=60 * 24 * 30, phone="+212661223344", confirmation_status="fake")
    lead(age_minutes=60 * 24 * 30, phone="0700112233", confirmation_status="fake")
    order = lead(age_minutes=10, phone="06 61 22 33 44")
    card = next_call(login("agent"))
    assert card_order(card) == order.id
    assert "Previously fake: 1 order" in visible(card)
    assert "Previously fake: 1 orders" not in visible(card)


@pytest.mark.parametrize("phone", ["0512", "+212 1"])
def test_invalid_phone_flag(login, lead, phone):
    order = lead(phone=phone)
    card = next_call(login("agent"))
    assert card_order(card) == order.id
    assert "Phone number looks invalid" in text(card)
    assert "Possible duplicate" not in text(card)


def test_valid_phone_has_no_flags(login, lead):
    lead(phone="0661223344")
    card = next_call(login("agent"))
    page = text(card)
    for flag in ("Phone number looks invalid", "Possible duplicate", "Previously fake"):
        assert flag not in page


# --- the agent's day ------------------------------------------------------------------


def test_strip_counts_calls_confirmations_rate_and_streak(login, lead):
    for age in (50, 40, 30, 20):
        lead(age_minutes=age)
    c = login("agent")
    card = next_call(c)
    assert strip(card) == {"calls today": "0", "confirmed": "0", "confirmation rate": "—",
                           "in a row": "0"}
    card = record(c, card, "confirmed")
    assert strip(card) == {"calls today": "1", "confirmed": "1", "confirmation rate": "100%",
                           "in a row": "1"}
    card = record(c, card, "confirmed")
    assert strip(card) == {"calls today": "2", "confirmed": "2", "confirmation rate": "100%",
                           "in a row": "2"}
    card = record(c, card, "no_answer")
    assert strip(card) == {"calls today": "3", "confirmed": "2", "confirmation rate": "67%",
                           "in a row": "0"}
    # Another agent's calls are not counted.
    other = login("agent")
    assert strip(next_call(other))["calls today"] == "0"
    page = c.get("/calls/")
    assert "<b>3</b> calls today" in body(page)


# --- managers: team, release, assign, settings ----------------------------------------


TEAM_COLUMNS = ("agent", "on call", "since", "last action", "calls", "confirmed", "rate",
                "action")


def team_row(resp, username: str) -> dict[str, str]:
    """One agent's row of the team table: column -> text."""
    found = re.search(rf'<tr data-agent="{re.escape(username)}">(.*?)</tr>', body(resp), re.S)
    assert found, f"{username} is not in the team table"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)
    return dict(zip(TEAM_COLUMNS, (squash(text_of(c)) for c in cells), strict=True))


def test_team_view_lists_agents_with_their_call(login, lead, make_user):
    busy = make_user(role="agent", name="Salma Idrissi")
    free = make_user(role="agent", name="Omar Benali")
    make_user(role="agent", name="Gone Agent", active=False)
    order = lead(age_minutes=90)
    lead(age_minutes=60)
    lead(age_minutes=30)
    c = login(busy)
    record(c, next_call(c), "confirmed")
    held = next_call(c)
    held_id = card_order(held)
    assert held_id not in (None, order.id)

    resp = login("manager").get("/calls/team")
    assert resp.status_code == 200
    row = team_row(resp, busy.username)
    assert (row["agent"], row["on call"]) == ("Salma Idrissi", f"#{held_id}")
    assert (row["calls"], row["confirmed"], row["rate"]) == ("1", "1", "100%")
    assert row["action"] == "Release"
    row = team_row(resp, free.username)
    assert (row["agent"], row["on call"], row["calls"], row["rate"]) == (
        "Omar Benali", "free", "0", "—")
    assert row["action"] == ""
    assert "Gone Agent" not in text(resp)
    stats = re.findall(r'<span class="stat-n[^"]*">([^<]*)</span><span>([^<]*)</span>',
                       body(resp))
    assert dict((label, n) for n, label in stats)["new leads"] == "1"


def test_team_view_without_agents(login, lead):
    lead()
    resp = login("manager").get("/calls/team")
    assert resp.status_code == 200
    assert "No agents yet" in text(resp)


def test_release_puts_the_order_back_at_the_head_of_the_queue(login, lead, agent):
    head = lead(age_minutes=90)
    later = lead(age_minutes=30)
    c = login(agent)
    assert card_order(next_call(c)) == head.id
    manager = login("manager")
    resp = manager.post(f"/calls/{head.id}/release")
    assert resp.status_code == 303
    assert location(resp)[0] == "/calls/team"
    assert reload(head.id).claimed_by_id is None
    assert team_row(manager.get("/calls/team"), agent.username)["on call"] == "free"
    released = events(head.id, "claim")[-1]
    assert (released.note, released.from_value) == ("released", agent.username)
    assert released.actor_user_id == manager.user.id

    other = login("agent")
    assert card_order(next_call(other)) == head.id
    assert card_order(next_call(c)) == later.id


def test_release_of_an_unclaimed_order_changes_nothing(login, lead):
    order = lead()
    before = snapshot(order.id)
    assert login("manager").post(f"/calls/{order.id}/release").status_code == 303
    assert snapshot(order.id) == before


def test_assign_gives_an_order_to_a_free_agent(login, lead, agent):
    lead(age_minutes=90)
    chosen = lead(age_minutes=30)
    manager = login("manager")
    resp = manager.post("/calls/assign", data={"order_id": chosen.id, "agent_id": agent.id})
    assert resp.status_code == 303
    c = login(agent)
    screen = c.get("/calls/")
    assert card_order(screen) == chosen.id
    assigned = events(chosen.id, "claim")[-1]
    assert (assigned.note, assigned.to_value) == ("assigned", agent.username)
    assert team_row(manager.get("/calls/team"), agent.username)["on call"] == f"#{chosen.id}"
    # The assigned card works like a claimed one.
    assert record(c, screen, "no_answer").status_code == 200
    assert reload(chosen.id).confirmation_status == "no_answer"


def test_assign_to_a_busy_agent_is_refused(login, lead, agent):
    held = lead(age_minutes=90)
    waiting = lead(age_minutes=30)
    c = login(agent)
    assert card_order(next_call(c)) == held.id
    before = snapshot(waiting.id)
    resp = login("manager").post("/calls/assign",
                                 data={"order_id": waiting.id, "agent_id": agent.id})
    assert resp.status_code == 422
    assert "Salma Idrissi is already on a call" in text(resp)
    assert snapshot(waiting.id) == before
    assert reload(held.id).claimed_by_id == agent.id


def test_assign_to_an_agent_whose_claim_expired(login, lead, agent):
    stale = lead(age_minutes=90)
    waiting = lead(age_minutes=30)
    c = login(agent)
    assert card_order(next_call(c)) == stale.id
    shift(stale.id, claimed_at=timedelta(minutes=30))
    manager = login("manager")
    row = team_row(manager.get("/calls/team"), agent.username)
    assert row["on call"] == f"#{stale.id} claim expired"
    resp = manager.post("/calls/assign", data={"order_id": waiting.id, "agent_id": agent.id})
    assert resp.status_code == 303, error_page(resp)
    assert card_order(c.get("/calls/")) == waiting.id
    assert reload(stale.id).claimed_by_id is None


@pytest.mark.parametrize("order_id", [
    "999999",
    "212612345678",  # a phone number typed into the order number field
    "99999999999999999999",
    "",
    "abc",
], ids=["unknown", "phone number", "twenty digits", "empty", "letters"])
def test_assign_with_a_bad_order_number_is_refused(login, agent, order_id):
    resp = login("manager").post("/calls/assign",
                                 data={"order_id": order_id, "agent_id": agent.id})
    assert resp.status_code == 422
    message = error_page(resp)
    assert (f"There is no order #{order_id}" in message
            or "Pick an order number and an agent" in message), message


def test_assign_a_closed_order_is_refused(login, lead, agent):
    order = lead(confirmation_status="canceled")
    resp = login("manager").post("/calls/assign",
                                 data={"order_id": order.id, "agent_id": agent.id})
    assert resp.status_code == 422
    assert "not waiting for a call" in text(resp)
    assert reload(order.id).claimed_by_id is None


def test_assign_to_someone_who_is_not_an_agent_is_refused(login, lead, make_user):
    order = lead()
    operator = make_user(role="operator")
    resp = login("manager").post("/calls/assign",
                                 data={"order_id": order.id, "agent_id": operator.id})
    assert resp.status_code == 422
    assert reload(order.id).claimed_by_id is None


def field_value(resp, name: str) -> str:
    """The value a form field shows."""
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', body(resp))
    assert found, f"no {name} field"
    value = re.search(r'value="([^"]*)"', found.group(0))
    return value.group(1) if value else ""


SETTINGS = {"retry_delay_minutes": "45", "max_attempts": "3", "claim_timeout_minutes": "15",
            "phone_region": "fr"}


def test_settings_page_shows_and_saves_the_values(login):
    manager = login("manager")
    page = manager.get("/calls/settings")
    assert page.status_code == 200
    assert field_value(page, "retry_delay_minutes") == "30"
    assert field_value(page, "phone_region") == "MA"
    resp = manager.post("/calls/settings", data=SETTINGS)
    assert resp.status_code == 303
    assert location(resp)[0] == "/calls/team"
    db.session.rollback()
    assert CallSettings.load() == CallSettings(retry_delay_minutes=45, max_attempts=3,
                                               claim_timeout_minutes=15, phone_region="FR")
    page = manager.get("/calls/settings")
    assert field_value(page, "retry_delay_minutes") == "45"
    assert field_value(page, "phone_region") == "FR"


@pytest.mark.parametrize(("field", "value"), [
    ("retry_delay_minutes", "0"), ("retry_delay_minutes", "1441"), ("max_attempts", "0"),
    ("max_attempts", "21"), ("claim_timeout_minutes", "0"), ("claim_timeout_minutes", "241"),
    ("max_attempts", "two"), ("max_attempts", ""), ("phone_region", "MAR"),
    ("phone_region", ""),
])
def test_settings_out_of_range_are_refused(login, field, value):
    resp = login("manager").post("/calls/settings", data={**SETTINGS, field: value})
    assert resp.status_code == 422
    assert 'class="field-error"' in body(resp)
    db.session.rollback()
    assert CallSettings.load() == CallSettings()


@pytest.mark.parametrize("region", ["UK", "XX", "12"])
def test_settings_refuse_an_unknown_country_code(login, region):
    # With such a code every number typed without +212 would be "not a phone number".
    resp = login("manager").post("/calls/settings", data={**SETTINGS, "phone_region": region})
    assert resp.status_code == 422
    assert 'class="field-error"' in body(resp)
    db.session.rollback()
    assert CallSettings.load().phone_region == "MA"


def test_settings_change_the_queue(login, lead):
    order = lead()
    manager = login("manager")
    assert manager.post("/calls/settings", data={**SETTINGS, "max_attempts": "1",
                                                 "phone_region": "MA"}).status_code == 303
    c = login("agent")
    record(c, next_call(c), "no_answer")
    assert reload(order.id).confirmation_status == "canceled"


# --- the whole story in the history ---------------------------------------------------


def test_history_of_a_full_call_sequence(login, lead, agent, make_product):
    product = make_product(sku="ARG-250", stock=10)
    order = lead(lines=[(product, 2)])
    c = login(agent)
    resp = record(c, next_call(c), "no_answer")
    assert resp.status_code == 200 and card_order(resp) is None
    shift(order.id, last_attempt_at=timedelta(minutes=31))
    resp = record(c, next_call(c), "call_later", callback="1h")
    assert resp.status_code == 200 and card_order(resp) is None
    shift(order.id, callback_at=timedelta(minutes=61))
    card = next_call(c)
    assert card_order(card) == order.id
    assert "attempt 3" in visible(card)
    resp = record(c, card, "confirmed")
    assert resp.status_code == 200

    page = login("manager").get(f"/orders/{order.id}")
    assert header_statuses(page) == ["confirmed", "created"]
    rows = list(reversed(audit_rows(page)))  # the page lists newest first
    assert [(r.kind, r.statuses) for r in rows] == [
        ("claim", []),
        ("confirmation", ["new", "no_answer"]),
        ("claim", []),
        ("confirmation", ["no_answer", "call_later"]),
        ("claim", []),
        ("confirmation", ["call_later", "confirmed"]),
        ("shipping", ["created"]),
        ("stock", []),
    ]
    assert {r.actor for r in rows} == {agent.username}
    assert "ARG-250" in rows[-1].text and "-2" in rows[-1].text
    assert rows[-1].note == "Reserved"
    assert on_hand(product.id) == 8
    assert reload(order.id).attempts == 3
