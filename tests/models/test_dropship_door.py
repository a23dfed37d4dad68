"""The supplier orders' one door: every (from, to, party) triple of the supplier table,
the per-SKU trail each move writes, version conflicts, Process, Resolve and Cancel.

The expected table is written out by hand from the design, independently of
models/status.py, so a change to the code's table shows up here.
"""

from itertools import product

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Actor, AuditEvent, Order
from models.catalog.products import SupplierSku
from models.dropship.operations import (
    FieldErrors,
    Fix,
    cancel,
    move,
    request_processing,
    resolve,
)
from models.dropship.tables import SupplierOrder
from models.errors import Conflict, InvalidInput, NotAllowed, TransitionRefused
from models.orders.operations import change_shipping
from models.status import Party, SupplierStatus, supplier_parties
from tests.dropship_support import supplier_orders, supplier_trail

OP, SUP, SYS = Party.OPERATOR, Party.SUPPLIER, Party.SYSTEM
STATUSES = ["pending", "submitted", "accepted", "shipped", "canceled", "error"]
EXPECTED = {
    ("pending", "submitted"): {OP, SYS},
    ("submitted", "accepted"): {SUP},
    ("submitted", "shipped"): {SUP},
    ("accepted", "shipped"): {SUP},
    ("pending", "canceled"): {OP, SYS},
    ("error", "canceled"): {OP, SYS},
    ("submitted", "canceled"): {OP, SUP, SYS},
    ("accepted", "canceled"): {OP, SUP, SYS},
    # A local check that fails before sending is the system's; a refusal the supplier's.
    ("pending", "error"): {SYS},
    ("submitted", "error"): {SUP, SYS},
    ("accepted", "error"): {SUP},
    # Resolve: the operator fixed it and it waits for Process again.
    ("error", "pending"): {OP},
}
PAIRS = list(product(STATUSES, repeat=2))


@pytest.fixture
def supplier_order(make_supplier, make_dropship_product, routed_order, confirm):
    """supplier_order(**supplier overrides): a pending supplier order of two mapped lines."""

    def make(**overrides) -> SupplierOrder:
        supplier = make_supplier(default_shipping_method="Standard", **overrides)
        watch = make_dropship_product(supplier, supplier_sku="ATL-W1", cost_cents=12000)
        gun = make_dropship_product(supplier, supplier_sku="ATL-G2", cost_cents=20000)
        order = routed_order([(watch, 2), (gun, 1)])
        confirm(order)
        (so,) = supplier_orders(order.id)
        return so

    return make


def _actor(party, user=None):
    """An actor acting only as this party."""
    return Actor(name=f"t-{party}", parties=frozenset({party}),
                 user_id=user.id if user is not None else None)


def _trail_count(so) -> int:
    """How many supplier trail rows the supplier order's order has."""
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.kind == "supplier", AuditEvent.order_id == so.order_id))


def test_statuses_are_the_designed_ones():
    assert [s.value for s in SupplierStatus] == STATUSES


@pytest.mark.parametrize(("src", "dst"), PAIRS)
def test_supplier_table_matches_design(src, dst):
    assert set(supplier_parties(src, dst)) == EXPECTED.get((src, dst), set())


def test_shipped_and_canceled_have_no_exit():
    for src, dst, party in product(("shipped", "canceled"), STATUSES, Party):
        assert party not in supplier_parties(src, dst)


@pytest.mark.parametrize(("src", "dst"), PAIRS)
def test_move_obeys_every_party_for_this_pair(supplier_order, make_user, src, dst):
    """The door allows exactly the table's parties; the others change nothing."""
    so = supplier_order()
    so_id, user = so.id, make_user("operator")
    for party in Party:
        so = db.session.get(SupplierOrder, so_id)
        so.status = src
        db.session.flush()
        version, trail = so.version, _trail_count(so)
        try:
            move(so, dst, _actor(party, user), note="by the table")
            outcome = "allowed"
        except TransitionRefused:
            outcome = "refused"
        except NotAllowed:
            outcome = "not allowed"
        allowed = EXPECTED.get((src, dst), set())
        if party in allowed:
            assert outcome == "allowed", (src, dst, party)
            assert so.status == dst and so.version == version + 1
            # One trail row per line, each naming its SKU and order line.
            rows = db.session.execute(select(
                AuditEvent.order_line_id, AuditEvent.sku, AuditEvent.from_value,
                AuditEvent.to_value, AuditEvent.actor_name, AuditEvent.note)
                .where(AuditEvent.kind == "supplier", AuditEvent.order_id == so.order_id)
                .order_by(AuditEvent.id).offset(trail)).all()
            assert rows == [(line.order_line_id, line.sku, src, dst, f"t-{party}",
                             "by the table") for line in so.lines]
        else:
            assert outcome == ("not allowed" if allowed else "refused"), (src, dst, party)
            assert so.status == src and so.version == version
            assert _trail_count(so) == trail
        db.session.rollback()


def test_refusals_say_what_and_who(supplier_order):
    so = supplier_order()
    with pytest.raises(TransitionRefused, match="is Pending; it cannot become Shipped"):
        move(so, "shipped", Actor.supplier("Atlas"))
    with pytest.raises(NotAllowed, match="Only the supplier can mark supplier order"):
        so.status = "submitted"
        move(so, "accepted", Actor.system())
    db.session.rollback()


def test_a_move_other_than_error_clears_the_error(supplier_order):
    so = supplier_order()
    move(so, "error", Actor.system("check"), error="No city", error_source="check")
    assert (so.error, so.error_source) == ("No city", "check")
    move(so, "pending", Actor(name="op", parties=frozenset({OP})))
    assert (so.status, so.error, so.error_source) == ("pending", "", "")


def test_a_stale_expected_version_is_a_conflict_and_saves_nothing(supplier_order, make_user):
    so = supplier_order()
    operator = Actor.of(make_user("operator"))
    seen = so.version
    move(so, "submitted", operator)
    db.session.commit()
    trail = _trail_count(so)
    with pytest.raises(Conflict, match="changed by someone else"):
        move(so, "canceled", operator, expected_version=seen)
    db.session.expire_all()
    assert so.status == "submitted" and _trail_count(so) == trail


def test_two_sessions_moving_one_supplier_order_one_wins(app, supplier_order, make_user):
    """A move written from a copy another session changed meanwhile is refused whole."""
    so = supplier_order()
    operator = Actor.of(make_user("operator"))
    so_id, lines = so.id, list(so.lines)
    with app.app_context():  # the other operator, in a session of their own
        theirs = db.session.get(SupplierOrder, so_id)
        move(theirs, "canceled", operator, note="customer changed their mind")
        db.session.commit()
        db.session.remove()
    assert so.status == "pending"  # this session's copy has not seen it
    with pytest.raises(Conflict, match="changed meanwhile"):
        move(so, "submitted", operator)
    db.session.expire_all()
    so = db.session.get(SupplierOrder, so_id)
    assert so.status == "canceled"
    moves = db.session.execute(select(AuditEvent.to_value, AuditEvent.sku).where(
        AuditEvent.kind == "supplier", AuditEvent.order_id == so.order_id,
        AuditEvent.from_value == "pending")).all()
    assert moves == [("canceled", line.sku) for line in lines]


# ---- Process -----------------------------------------------------------------------

def test_process_queues_once_and_says_why_not_otherwise(supplier_order, make_user):
    so = supplier_order()
    operator = Actor.of(make_user("operator"))
    assert request_processing([so], operator, batch="b1") == {so.id: "queued"}
    first = so.process_requested_at
    assert (so.process_requested_by_id, so.batch) == (operator.user_id, "b1")
    # A double click: the second press finds it queued and changes nothing.
    assert request_processing([so], operator) == {so.id: "already queued"}
    assert so.process_requested_at == first and so.batch == "b1"
    notes = [e.note for e in supplier_trail(so)]
    assert notes.count("Process requested") == len(so.lines)

    errored = supplier_order()
    move(errored, "error", Actor.system("check"), error="No city", error_source="check")
    submitted = supplier_order()
    move(submitted, "submitted", operator)
    assert request_processing([errored, submitted], operator) == {
        errored.id: "in error: Resolve it first (No city)",
        submitted.id: "already submitted"}
    assert errored.process_requested_at is None and submitted.process_requested_at is None


def test_an_agent_cannot_process(supplier_order, make_user):
    so = supplier_order()
    with pytest.raises(NotAllowed):
        request_processing([so], Actor.of(make_user("agent")))
    assert so.process_requested_at is None


# ---- Resolve -----------------------------------------------------------------------

def _refused_by_supplier(so, operator):
    """Walk a supplier order to error the way a refusal does."""
    move(so, "submitted", operator)
    move(so, "error", Actor.supplier("Atlas"), error="Out of stock", error_source="supplier",
         answered_at=so.created_at, supplier_ref="SUP-9")
    db.session.commit()


def test_resolve_corrects_trails_and_processes_again_with_a_new_key(supplier_order,
                                                                    make_user):
    so = supplier_order()
    operator = Actor.of(make_user("operator"))
    _refused_by_supplier(so, operator)
    old_key, first, second = so.idempotency_key, so.lines[0], so.lines[1]
    changes = resolve(so, operator, Fix(address="7 Avenue Hassan II, Agdal", city="Rabat",
                                        quantities={first.id: 1}, skus={second.id: "ATL-G3"},
                                        remember=True), process=True)
    db.session.commit()
    assert changes == [
        "address: “12 Rue Ibn Battouta” → “7 Avenue Hassan II, Agdal”",
        "city: “Casablanca” → “Rabat”",
        f"quantity of {first.sku}: 2 → 1", f"{second.sku} mapped to ATL-G3 (was ATL-G2)"]
    assert (so.status, so.error, so.error_source) == ("pending", "", "")
    assert so.process_requested_at is not None
    # The refused request's key would get the refusal back: the corrected order is new.
    assert so.idempotency_key != old_key
    assert so.cost_cents == 1 * 12000 + 1 * 20000
    remembered = db.session.scalar(select(SupplierSku.supplier_sku).where(
        SupplierSku.product_id == second.order_line.product_id))
    assert remembered == "ATL-G3"
    notes = [(e.sku, e.from_value, e.to_value, e.note) for e in supplier_trail(so)][-6:]
    assert notes[0][3] == "; ".join(changes)
    assert (notes[2][1], notes[2][2], notes[2][3]) == ("error", "pending", "resolved")
    assert notes[-1][3] == "Process requested"
    # The customer's order keeps its own address: only the supplier's copy changed.
    assert db.session.get(Order, so.order_id).address == "12 Rue Ibn Battouta"


def test_resolve_checks_every_field_first_and_saves_nothing(supplier_order, make_user):
    so = supplier_order()
    operator = Actor.of(make_user("operator"))
    move(so, "error", Actor.system("check"), error="x", error_source="check")
    db.session.commit()
    line = so.lines[0]
    with pytest.raises(FieldErrors) as caught:
        resolve(so, operator, Fix(customer_name="Salma", phone="12", address="short",
                                  city=" ", quantities={line.id: 0, 999999: 1},
                                  skus={line.id: " "}))
    assert caught.value.errors == {
        "phone": "“12” is not a phone number.", "address": "Too short to deliver to.",
        "city": "Required.", f"quantity-{line.id}": "Between 1 and 999.",
        "quantity-999999": "Not a line of this supplier order.",
        f"sku-{line.id}": "A supplier SKU (1 to 64 characters)."}
    db.session.rollback()
    assert (so.status, so.customer_name, line.quantity) == ("error", so.customer_name, 2)
    assert so.customer_name != "Salma"


def test_resolve_refuses_a_locked_order_and_a_supplier_taking_no_edits(supplier_order,
                                                                      make_user):
    operator = Actor.of(make_user("operator"))
    so = supplier_order()
    move(so, "submitted", operator)
    with pytest.raises(TransitionRefused, match="its details are locked"):
        resolve(so, operator, Fix(city="Rabat"))
    strict = supplier_order(edit_before_submit=False)
    with pytest.raises(TransitionRefused, match="takes no changes before submission"):
        resolve(strict, operator, Fix(city="Rabat"))
    with pytest.raises(NotAllowed):
        resolve(supplier_order(), Actor.supplier("Atlas"), Fix(city="Rabat"))


# ---- Cancel ------------------------------------------------------------------------

def test_cancel_of_a_pending_order_is_immediate_and_needs_a_reason(supplier_order, make_user):
    so = supplier_order()
    operator = Actor.of(make_user("operator"))
    request_processing([so], operator)
    with pytest.raises(InvalidInput, match="Say why"):
        cancel(so, operator, "  ")
    assert cancel(so, operator, "customer changed their mind") is False
    assert (so.status, so.cancel_reason, so.process_requested_at) == (
        "canceled", "customer changed their mind", None)
    assert supplier_trail(so)[-1].note == "customer changed their mind"


def test_cancel_of_a_submitted_order_is_asked_of_the_supplier_once(supplier_order, make_user):
    so = supplier_order()
    operator = Actor.of(make_user("operator"))
    move(so, "submitted", operator)
    assert cancel(so, operator, "wrong size") is True
    asked = so.cancel_requested_at
    assert so.status == "submitted" and asked is not None
    assert cancel(so, operator, "asked again") is True
    assert so.cancel_requested_at == asked and so.cancel_reason == "wrong size"
    move(so, "shipped", Actor.supplier("Atlas"))
    with pytest.raises(TransitionRefused, match="it cannot be canceled"):
        cancel(so, operator, "too late")


def test_canceling_the_order_cancels_its_open_supplier_orders(supplier_order, make_user):
    so = supplier_order()
    operator = Actor.of(make_user("operator"))
    order = db.session.get(Order, so.order_id)
    outcome = change_shipping(order, "canceled", operator, note="customer refused by phone")
    db.session.commit()
    assert so.status == "canceled" and so.cancel_reason == "customer refused by phone"
    assert outcome.due == []  # nothing left for the supplier's job

    submitted = supplier_order()
    move(submitted, "submitted", operator)
    order = db.session.get(Order, submitted.order_id)
    outcome = change_shipping(order, "canceled", operator, note="fraud")
    assert submitted.status == "submitted" and submitted.cancel_requested_at is not None
    assert "submit_to_supplier" in outcome.due


def test_a_conflicting_move_undoes_only_itself(app, supplier_order, make_user):
    """Work done earlier in the same transaction (a status file's earlier rows) survives."""
    first, second = supplier_order(), supplier_order()
    operator = Actor.of(make_user("operator"))
    second_id = second.id
    with app.app_context():  # another operator cancels the second one meanwhile
        theirs = db.session.get(SupplierOrder, second_id)
        move(theirs, "canceled", operator, note="customer changed their mind")
        db.session.commit()
        db.session.remove()
    move(first, "canceled", operator, note="duplicate order")
    with pytest.raises(Conflict):
        move(second, "submitted", operator)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(SupplierOrder, first.id).status == "canceled"
    assert db.session.get(SupplierOrder, second_id).status == "canceled"
    kept = db.session.get(SupplierOrder, first.id)
    assert [e.note for e in supplier_trail(kept)
            if e.to_value == "canceled"] == ["duplicate order"] * len(kept.lines)
