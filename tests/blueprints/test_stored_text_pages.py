"""System notes stored in English, made through the real doors, read on the order page in
French and on the call card in Arabic."""

import re

from extensions import db
from models import Actor, Order
from models.intake.channel_orders import cancel_from_channel
from models.orders.operations import reopen_order
from models.settings import CallSettings

from .pages import squash, text
from .test_calls import card_order, next_call, record
from .test_scan import entry, scan


def page_words(resp) -> str:
    """The page's text as laid out, tags dropped."""
    return squash(re.sub(r"<[^>]+>", " ", text(resp)))


def reader(login, make_user, role: str, language: str):
    """A client of a user whose saved language is `language`."""
    return login(make_user(role=role, language=language))


def fresh(order_id: int) -> Order:
    """The order as stored now."""
    db.session.rollback()
    return db.session.get(Order, order_id)


def test_system_notes_on_the_order_page_in_french(login, make_user, make_order,
                                                 parcel_order):
    # A channel cancels a new order.
    dropped = make_order()
    assert cancel_from_channel(dropped, Actor.channel("shop")) == "canceled"
    db.session.commit()
    # The agent's no-answer reaches the last attempt: the system cancels it.
    CallSettings(max_attempts=1, retry_delay_minutes=1).save()
    db.session.commit()
    silent = make_order(phone="0661223344")
    agent = reader(login, make_user, "agent", "en")
    card = next_call(agent)
    assert card_order(card) == silent.id
    assert record(agent, card, "no_answer").status_code == 200
    assert fresh(silent.id).confirmation_status == "canceled"
    # An operator packs a parcel by scan, then takes the scan back.
    packed, _parcel = parcel_order("created")
    operator = reader(login, make_user, "operator", "en")
    assert entry(scan(operator, f"#{packed.id}"))[0] == "ok"
    assert operator.post(f"/shipping/scan/{packed.id}/undo", htmx=True).status_code == 200

    manager = reader(login, make_user, "manager", "fr")
    expected = {dropped.id: ["Annulée par le canal"],
                silent.id: ["injoignable après 1 tentative"],
                packed.id: [f"scanné #{packed.id}", "scan d'emballage annulé"]}
    for order_id, notes in expected.items():
        page = page_words(manager.get(f"/orders/{order_id}"))
        for note in notes:
            assert note in page, (order_id, note)
        for english in ("Canceled by the channel", "unreachable after", "scanned #",
                        "packing scan undone"):
            assert english not in page, (order_id, english)
    # Stored in English all the same: it does not depend on who was logged in.
    assert fresh(silent.id).confirmation_status == "canceled"


def test_earlier_call_with_a_picked_reason_in_arabic(login, make_user, make_order):
    order = make_order()
    agent = reader(login, make_user, "agent", "fr")
    card = next_call(agent)
    assert card_order(card) == order.id
    assert record(agent, card, "canceled", reason="Price too high",
                  note="found it cheaper").status_code == 200
    manager = make_user(role="manager")
    reopen_order(fresh(order.id), Actor.of(manager), reason="customer called back")
    db.session.commit()

    arabic = reader(login, make_user, "agent", "ar")
    card = next_call(arabic)
    assert card_order(card) == order.id
    words = page_words(card)
    assert "السعر مرتفع جداً — found it cheaper" in words
    assert "Price too high" not in words
