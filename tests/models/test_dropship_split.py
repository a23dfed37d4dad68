"""The split at confirmation: one supplier order per supplier of the order's dropship lines,
mapped as the mappings stand, made once, queued as the channel's auto-process says."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Actor, CallSettings, StockLevel, StockMovement, utcnow
from models.calls.outcome import record_outcome
from models.calls.queue import claim_next
from models.dropship.operations import check, split_order
from models.dropship.tables import SupplierOrder
from models.errors import TransitionRefused
from models.orders.operations import change_confirmation
from models.shipping.operations import orders_due_registration
from models.status import Effect
from tests.dropship_support import supplier_orders, supplier_trail


@pytest.fixture
def atlas(make_supplier):
    """A supplier whose default method is Standard."""
    return make_supplier(name="Atlas Wholesale", default_shipping_method="Standard")


@pytest.fixture
def nova(make_supplier):
    """A second supplier, default method Eco."""
    return make_supplier(name="Nova Dropship", default_shipping_method="Eco")


def _on_hand(product) -> int:
    """The product's stock on hand."""
    return db.session.scalar(select(StockLevel.on_hand).filter_by(product_id=product.id))


def _all_supplier_orders() -> int:
    """How many supplier orders exist."""
    return db.session.scalar(select(func.count()).select_from(SupplierOrder))


def test_an_order_not_yet_confirmed_has_no_supplier_orders(
        atlas, make_dropship_product, routed_order, make_user, confirm):
    watch = make_dropship_product(atlas, supplier_sku="ATL-W1")
    order = routed_order([(watch, 1)])
    assert order.lines[0].supplier_id == atlas.id  # routed to the supplier at intake
    agent = make_user("agent")
    order.claimed_by_id = agent.id
    change_confirmation(order, "call_later", Actor.of(agent),
                        callback_at=utcnow() + timedelta(hours=2))
    db.session.commit()
    assert _all_supplier_orders() == 0

    confirm(order)
    (so,) = supplier_orders(order.id)
    assert (so.supplier_id, so.status, so.channel_id) == (atlas.id, "pending", order.channel_id)
    assert so.process_requested_at is None


def test_two_suppliers_and_own_stock_make_two_supplier_orders_and_only_own_stock_moves(
        atlas, nova, make_dropship_product, make_product, routed_order, confirm):
    watch = make_dropship_product(atlas, supplier_sku="ATL-W1", cost_cents=12950)
    gun = make_dropship_product(atlas, supplier_sku="ATL-G2", cost_cents=21000)
    lamp = make_dropship_product(nova, supplier_sku="NV-LAMP", cost_cents=4500)
    soap = make_product(stock=10)
    order = routed_order([(watch, 2), (soap, 3), (gun, 1), (lamp, 4)],
                         customer_name="Salma Idrissi", phone="0612345678",
                         address="12 rue des Fleurs, Agdal", city="Rabat",
                         region="Rabat-Salé-Kénitra")
    confirm(order)

    first, second = supplier_orders(order.id)
    assert (first.supplier_id, second.supplier_id) == (atlas.id, nova.id)
    assert [(line.sku, line.supplier_sku, line.quantity, line.unit_cost_cents)
            for line in first.lines] == [(watch.sku, "ATL-W1", 2, 12950),
                                         (gun.sku, "ATL-G2", 1, 21000)]
    assert [(line.sku, line.supplier_sku, line.quantity) for line in second.lines] == [
        (lamp.sku, "NV-LAMP", 4)]
    assert (first.cost_cents, second.cost_cents) == (2 * 12950 + 21000, 4 * 4500)
    assert (first.customer_name, first.phone, first.address, first.city, first.region) == (
        "Salma Idrissi", "0612345678", "12 rue des Fleurs, Agdal", "Rabat",
        "Rabat-Salé-Kénitra")
    assert first.idempotency_key != second.idempotency_key
    # Our stock gave the soap; no supplier line touched the ledger.
    assert _on_hand(soap) == 7
    moved = db.session.scalars(select(StockMovement.order_line_id).where(
        StockMovement.reason == "reserve")).all()
    assert moved == [next(line.id for line in order.lines if line.product_id == soap.id)]
    # The split is in each SKU's trail.
    assert [(e.sku, e.to_value, e.note) for e in supplier_trail(first)] == [
        (watch.sku, "pending", f"split to Atlas Wholesale: {watch.sku} → ATL-W1 ×2; "
                               f"{gun.sku} → ATL-G2 ×1"),
        (gun.sku, "pending", f"split to Atlas Wholesale: {watch.sku} → ATL-W1 ×2; "
                             f"{gun.sku} → ATL-G2 ×1")]


def test_the_call_screen_confirmation_splits_too(atlas, make_dropship_product, routed_order,
                                                 make_user):
    watch = make_dropship_product(atlas, supplier_sku="ATL-W1")
    order = routed_order([(watch, 2)])
    agent = Actor.of(make_user("agent"))
    settings = CallSettings()
    assert claim_next(agent, settings).id == order.id
    record_outcome(order.id, "confirmed", agent, settings)
    db.session.commit()
    (so,) = supplier_orders(order.id)
    assert [(line.sku, line.name, line.supplier_sku, line.quantity) for line in so.lines] == [
        (watch.sku, watch.name, "ATL-W1", 2)]


@pytest.mark.parametrize("rate", ["Livraison à domicile", "LIVRAISON A DOMICILE",
                                  "  livraison   à Domicile "])
def test_shipping_method_comes_from_the_mapping_whatever_the_case_and_accents(
        atlas, make_dropship_product, routed_order, confirm, map_rate, rate):
    map_rate(atlas, "Livraison a domicile", "Express 24h")
    order = routed_order([(make_dropship_product(atlas), 1)], shipping_method=rate)
    confirm(order)
    assert supplier_orders(order.id)[0].shipping_method == "Express 24h"


def test_an_unmapped_rate_takes_the_supplier_default(atlas, make_supplier,
                                                     make_dropship_product, routed_order,
                                                     confirm, map_rate):
    map_rate(atlas, "Livraison gratuite", "Free Ground")
    order = routed_order([(make_dropship_product(atlas), 1)], shipping_method="Express")
    confirm(order)
    assert supplier_orders(order.id)[0].shipping_method == "Standard"

    bare = make_supplier(default_shipping_method="")
    order = routed_order([(make_dropship_product(bare), 1)], shipping_method="Express")
    confirm(order)
    (so,) = supplier_orders(order.id)
    assert so.shipping_method == ""
    assert any("No shipping method" in p for p in check(so))


def test_an_unmapped_sku_is_split_with_an_empty_supplier_sku(atlas, make_dropship_product,
                                                             routed_order, confirm):
    mapped = make_dropship_product(atlas, supplier_sku="ATL-W1", cost_cents=1000)
    bare = make_dropship_product(atlas, mapped=False)
    order = routed_order([(mapped, 1), (bare, 2)])
    confirm(order)
    (so,) = supplier_orders(order.id)
    assert [(line.sku, line.supplier_sku, line.unit_cost_cents) for line in so.lines] == [
        (mapped.sku, "ATL-W1", 1000), (bare.sku, "", 0)]
    assert so.cost_cents == 1000
    assert supplier_trail(so)[0].note.endswith(f"{bare.sku} not mapped")
    assert check(so) == [f"SKU {bare.sku} has no Atlas Wholesale SKU mapped."]


def test_confirming_twice_or_splitting_again_makes_nothing_twice(
        atlas, nova, make_dropship_product, routed_order, confirm, make_user):
    order = routed_order([(make_dropship_product(atlas), 1), (make_dropship_product(nova), 1)])
    confirm(order)
    keys = {so.id: so.idempotency_key for so in supplier_orders(order.id)}
    with pytest.raises(TransitionRefused):
        confirm(order)
    db.session.rollback()
    assert split_order(order.id, order.lines, Actor.system()) == []
    db.session.commit()
    assert {so.id: so.idempotency_key for so in supplier_orders(order.id)} == keys
    assert _all_supplier_orders() == 2
    splits = [e for so in supplier_orders(order.id) for e in supplier_trail(so)
              if e.note.startswith("split")]
    assert len(splits) == 2


def test_a_split_interrupted_after_one_supplier_finishes_the_other(
        atlas, nova, make_dropship_product, routed_order, confirm):
    watch, lamp = make_dropship_product(atlas), make_dropship_product(nova)
    order = routed_order([(watch, 1), (lamp, 1)])
    confirm(order)
    first, second = supplier_orders(order.id)
    db.session.delete(second)
    db.session.commit()
    split_order(order.id, order.lines, Actor.system())
    db.session.commit()
    again = supplier_orders(order.id)
    assert [so.supplier_id for so in again] == [atlas.id, nova.id]
    assert again[0].id == first.id and again[0].idempotency_key == first.idempotency_key


@pytest.mark.parametrize(("mode", "mapped", "queued"), [
    ("off", True, False),
    ("managed", True, True),
    # Managed submits only what would pass: an unmapped line waits, unqueued, for Resolve.
    ("managed", False, False),
    # Always submits; what fails lands in error when the job checks it.
    ("always", False, True),
])
def test_auto_process_follows_the_channel_setting(atlas, make_dropship_product, make_channel,
                                                  routed_order, confirm, mode, mapped,
                                                  queued):
    channel = make_channel(dropship_process=mode)
    order = routed_order([(make_dropship_product(atlas, mapped=mapped), 1)], channel=channel)
    outcome = confirm(order)
    (so,) = supplier_orders(order.id)
    assert so.status == "pending"
    assert (so.process_requested_at is not None) == queued
    assert (Effect.SUBMIT_TO_SUPPLIER in outcome.due) == queued
    if queued:
        assert so.process_requested_by_id is None
        assert supplier_trail(so)[-1].actor_name == "auto-process"


def test_a_managed_order_failing_a_check_stays_pending_and_unqueued(
        atlas, make_dropship_product, make_channel, routed_order, confirm):
    channel = make_channel(dropship_process="managed")
    order = routed_order([(make_dropship_product(atlas), 1)], channel=channel, address="n/a")
    confirm(order)
    (so,) = supplier_orders(order.id)
    assert (so.status, so.process_requested_at) == ("pending", None)
    assert check(so) == ["The address is missing or too short to deliver to."]


def test_only_an_order_with_own_stock_lines_is_due_for_parcel_registration(
        atlas, make_dropship_product, make_product, routed_order, confirm):
    all_dropship = routed_order([(make_dropship_product(atlas), 1),
                                 (make_dropship_product(atlas), 2)])
    mixed = routed_order([(make_dropship_product(atlas), 1), (make_product(stock=5), 1)])
    confirm(all_dropship)
    outcome = confirm(mixed)
    due = [order_id for _carrier, order_id in orders_due_registration()]
    assert due == [mixed.id]
    assert Effect.REGISTER_PARCEL in outcome.due


def test_a_prepaid_order_confirmed_by_the_system_is_split_too(atlas, make_dropship_product,
                                                              make_channel, routed_order):
    from models.intake.create import confirm_by_system

    channel = make_channel(confirm_by="system", code="prepaid-shop")
    order = routed_order([(make_dropship_product(atlas, supplier_sku="ATL-W1"), 1)],
                         channel=channel)
    assert confirm_by_system(order, Actor.system("channel:prepaid-shop")) is True
    db.session.commit()
    (so,) = supplier_orders(order.id)
    assert [line.supplier_sku for line in so.lines] == ["ATL-W1"]
    assert supplier_trail(so)[0].actor_name == "channel:prepaid-shop"
