"""Every (from, to, actor) triple of both state machines, against the tables in DESIGN.md.

The expected tables below are written out by hand from the design, independently
of models/status.py, so a change to the code's tables shows up here.
"""

from datetime import timedelta
from itertools import product

import pytest

from extensions import db
from models import Actor, Order, utcnow
from models.errors import NotAllowed, TransitionRefused
from models.orders.operations import change_confirmation, change_shipping
from models.status import (
    Confirmation,
    DeliveryMode,
    Party,
    Shipping,
    confirmation_parties,
    shipping_parties,
)

A, OP, M, C, S = Party.AGENT, Party.OPERATOR, Party.MANAGER, Party.CARRIER, Party.SYSTEM
CH = Party.CHANNEL
OUTCOMES = ["no_answer", "call_later", "confirmed", "canceled", "fake"]

EXPECTED_CONFIRMATION = {
    **{("new", to): {A} for to in OUTCOMES},
    **{("no_answer", to): {A} for to in OUTCOMES},
    **{("call_later", to): {A} for to in OUTCOMES},
    # The shop canceled it before anyone confirmed; a prepaid order skips the call.
    ("new", "canceled"): {A, CH},
    ("no_answer", "canceled"): {A, S, CH},
    ("call_later", "canceled"): {A, S, CH},
    ("new", "confirmed"): {A, S},
    ("canceled", "new"): {M},
    ("fake", "new"): {M},
}

# from -> to -> (parties for a carrier order, parties for local delivery)
EXPECTED_SHIPPING = {
    ("created", "fulfilled"): ({OP}, {OP}),
    ("created", "canceled"): ({OP}, {OP}),
    # A supplier shipping every line of an order hands the parcel to a carrier itself.
    ("created", "shipped"): ({Party.SUPPLIER}, {Party.SUPPLIER}),
    ("fulfilled", "created"): ({OP}, {OP}),
    ("fulfilled", "shipped"): ({C}, {OP}),
    ("fulfilled", "canceled"): ({OP}, {OP}),
    ("fulfilled", "returned"): ({OP}, {OP}),
    **{("shipped", to): ({C}, {OP})
       for to in ["package_issue", "delivered", "canceled", "in_return"]},
    **{("package_issue", to): ({C}, {OP})
       for to in ["shipped", "delivered", "canceled", "in_return"]},
    ("delivered", "in_return"): ({C, OP}, {OP}),
    ("in_return", "returned"): ({OP}, {OP}),
}

CONF_PAIRS = list(product([c.value for c in Confirmation], repeat=2))
SHIP_PAIRS = list(product([s.value for s in Shipping], repeat=2))
MODES = [m.value for m in DeliveryMode]


def test_vocabularies_are_the_designed_ones():
    assert [c.value for c in Confirmation] == [
        "new", "no_answer", "call_later", "confirmed", "canceled", "fake"]
    assert [s.value for s in Shipping] == [
        "created", "fulfilled", "shipped", "package_issue", "delivered", "in_return",
        "returned", "canceled"]


@pytest.mark.parametrize(("src", "dst"), CONF_PAIRS)
def test_confirmation_table_matches_design(src, dst):
    assert set(confirmation_parties(src, dst)) == EXPECTED_CONFIRMATION.get((src, dst), set())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("src", "dst"), SHIP_PAIRS)
def test_shipping_table_matches_design(src, dst, mode):
    carrier, local = EXPECTED_SHIPPING.get((src, dst), (set(), set()))
    expected = local if mode == "local" else carrier
    assert set(shipping_parties(src, dst, mode)) == expected


def test_locked_confirmations_have_no_agent_exit():
    for src in ("confirmed", "canceled", "fake"):
        for dst in Confirmation:
            assert A not in confirmation_parties(src, dst)


def test_terminal_shipping_statuses_have_no_exit():
    for src in ("returned", "canceled"):
        for dst in Shipping:
            assert not shipping_parties(src, dst, "carrier")
            assert not shipping_parties(src, dst, "local")


def _actor(party, user):
    """An actor acting only as this party (agents act as the order's holder)."""
    return Actor(name=f"t-{party}", parties=frozenset({party}), user_id=user.id)


def test_confirmation_operation_obeys_every_triple(make_order, make_user):
    """The one door allows exactly the table's triples and refuses the rest unchanged."""
    user = make_user("agent")
    order = make_order(quantity=1)
    order_id = order.id
    for (src, dst), party in product(CONF_PAIRS, list(Party)):
        order = db.session.get(Order, order_id)
        order.confirmation_status = src
        order.claimed_by_id = user.id
        db.session.flush()
        version = order.version
        allowed = party in EXPECTED_CONFIRMATION.get((src, dst), set())
        kwargs = {"note": "reason", "callback_at": utcnow() + timedelta(hours=1)}
        try:
            change_confirmation(order, dst, _actor(party, user), **kwargs)
            outcome = "allowed"
        except TransitionRefused:
            outcome = "refused"
        except NotAllowed:
            outcome = "not allowed"
        if allowed:
            assert outcome == "allowed", (src, dst, party)
            assert order.confirmation_status == dst
        else:
            assert outcome != "allowed", (src, dst, party)
            assert order.confirmation_status == src and order.version == version
            if not EXPECTED_CONFIRMATION.get((src, dst)):
                assert outcome == "refused", (src, dst, party)
        db.session.rollback()


@pytest.mark.parametrize("mode", MODES)
def test_shipping_operation_obeys_every_triple(make_order, make_user, mode):
    """Every shipping triple for this delivery mode: allowed moves apply, others change nothing."""
    user = make_user("operator")
    order = make_order(quantity=1, confirmation_status="confirmed", shipping_status="created",
                       delivery_mode=mode)
    order_id = order.id
    for (src, dst), party in product(SHIP_PAIRS, list(Party)):
        order = db.session.get(Order, order_id)
        order.shipping_status = src
        db.session.flush()
        version = order.version
        carrier, local = EXPECTED_SHIPPING.get((src, dst), (set(), set()))
        allowed = party in (local if mode == "local" else carrier)
        try:
            change_shipping(order, dst, _actor(party, user))
            outcome = "allowed"
        except TransitionRefused:
            outcome = "refused"
        except NotAllowed:
            outcome = "not allowed"
        if src == dst and party in (C, S):
            # A repeated scan from the carrier sync is a no-op, not an error.
            assert outcome == "allowed" and order.version == version
        elif allowed:
            assert outcome == "allowed", (src, dst, party)
            assert order.shipping_status == dst
        else:
            assert outcome != "allowed", (src, dst, party)
            assert order.shipping_status == src and order.version == version
        db.session.rollback()

