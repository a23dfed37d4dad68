"""The sandbox supplier adapter: against the sandbox over real HTTP (live server), and
against a local peer for the failures a live sandbox does not play."""

from dataclasses import replace
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select, update

from extensions import db
from models.base import utcnow
from models.sandbox import SandboxSupplierOrder
from tests.blueprints.test_sandbox_carrier import closed_port_url
from tests.workers.carriers.peer import Peer, Reply
from workers.suppliers import (
    ACCEPTED,
    CANCELED,
    FAILED,
    REJECTED,
    SHIPPED,
    CannotCancel,
    SupplierAdapter,
    SupplierConfig,
    SupplierError,
    adapter_for,
)
from workers.suppliers.sandbox import SandboxSupplier

from .orders import purchase_order, query


@pytest.fixture
def http():
    """One HTTP session per test, closed so no socket outlives it."""
    with requests.Session() as session:
        yield session


@pytest.fixture
def config(live_server) -> SupplierConfig:
    """The sandbox supplier as a manager would configure it."""
    return SupplierConfig(id=1, name="Atlas Wholesale", kind="sandbox",
                          base_url=f"{live_server}/sandbox/supplier", api_key="shop-key",
                          timeout=2.0)


@pytest.fixture
def supplier(config, http) -> SandboxSupplier:
    """The adapter reaching the live sandbox."""
    return adapter_for(config, http)


@pytest.fixture
def peer():
    """A local stand-in for the sandbox, scripted per test."""
    with Peer.running() as running:
        yield running


def at_peer(peer, http, **changes) -> SandboxSupplier:
    """The adapter pointed at the peer."""
    values = dict(id=1, name="Atlas Wholesale", kind="sandbox", base_url=peer.url,
                  api_key="shop-key", timeout=2.0)
    values.update(changes)
    return adapter_for(SupplierConfig(**values), http)


def leave_warehouse_now() -> None:
    """Move the sandbox supplier's clock on: every accepted order is due to ship."""
    db.session.execute(update(SandboxSupplierOrder)
                       .values(ships_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def stored_orders() -> int:
    """How many orders the sandbox supplier holds."""
    db.session.expire_all()
    return db.session.execute(
        select(func.count()).select_from(SandboxSupplierOrder)).scalar_one()


def accepted(number: str = "SUP-00000001", reference: str = "#1201-1") -> Reply:
    """The sandbox's answer to an accepted order."""
    return Reply(201, json={"number": number, "reference": reference, "status": "accepted",
                            "error": None, "tracking_number": None, "carrier": None})


# --- submit -----------------------------------------------------------------------------


def test_adapter_for_sandbox_kind_is_the_sandbox_supplier(config):
    """The registry hands out this adapter for kind "sandbox"."""
    assert isinstance(adapter_for(config), SandboxSupplier)


def test_submit_accepted_order_gets_the_suppliers_number(supplier):
    """An order the sandbox takes comes back ACCEPTED with its number as supplier_ref."""
    [reply] = supplier.submit([purchase_order()]).replies
    assert (reply.supplier_order_id, reply.outcome) == (1, ACCEPTED)
    assert reply.supplier_ref.startswith("SUP-") and reply.message == ""
    assert stored_orders() == 1


def test_submit_same_order_again_is_the_same_order(supplier):
    """A retry with the same idempotency key is answered with the first order."""
    first = supplier.submit([purchase_order()]).replies[0]
    again = supplier.submit([purchase_order()]).replies[0]
    assert again.outcome == ACCEPTED and again.supplier_ref == first.supplier_ref
    assert stored_orders() == 1


def test_submit_batch_sends_each_order_and_reports_each_refusal(supplier):
    """One call for the batch: an accepted order, and refusals with the supplier's words."""
    orders = [
        purchase_order(1),
        purchase_order(2, lines=(replace(purchase_order().lines[1], quantity=4),)),
        purchase_order(3, city="Laâyoune"),
    ]
    replies = supplier.submit(orders).replies
    assert [(r.supplier_order_id, r.outcome) for r in replies] == [
        (1, ACCEPTED), (2, REJECTED), (3, REJECTED)]
    assert replies[1].message == "Out of stock: ATL-MG-PRO (3 available, 4 asked)"
    assert replies[2].message == "Address not serviceable: we do not deliver to Laâyoune"
    assert replies[1].supplier_ref.startswith("SUP-")
    assert stored_orders() == 3


def test_submit_refused_order_again_is_the_same_refusal(supplier):
    """A retry of a refused order with the same key is that refusal, not a second order."""
    order = purchase_order(city="Dakhla")
    first = supplier.submit([order]).replies[0]
    again = supplier.submit([order]).replies[0]
    assert (again.outcome, again.message, again.supplier_ref) == (
        REJECTED, first.message, first.supplier_ref)
    assert stored_orders() == 1


def test_submit_order_missing_a_field_is_refused_naming_it(supplier):
    """The sandbox's 400 names the field; the operator can correct it and resubmit."""
    [reply] = supplier.submit([purchase_order(phone=None)]).replies
    assert reply.outcome == REJECTED
    assert reply.message == "Some order fields are missing or invalid: customer.phone"


def test_submit_without_api_key_fails_every_order_and_sends_one(peer, http):
    """A refused key is not the orders' fault: FAILED, and the rest are not even sent."""
    peer.on("POST", "/orders", Reply(401, json={"error": "Missing API key"}))
    replies = at_peer(peer, http, api_key=None).submit(
        [purchase_order(1), purchase_order(2)]).replies
    assert [r.outcome for r in replies] == [FAILED, FAILED]
    assert "refused our API key (HTTP 401)" in replies[0].message
    assert replies[1].message.startswith("Not sent: ")
    assert len(peer.seen("POST", "/orders")) == 1


def test_submit_sends_the_idempotency_key_and_the_suppliers_skus(peer, http):
    """The body carries their SKUs and the customer; the key rides in Idempotency-Key."""
    peer.on("POST", "/orders", accepted())
    at_peer(peer, http).submit([purchase_order()])
    [sent] = peer.seen("POST", "/orders")
    assert sent.headers["Idempotency-Key"] == "cbs-so-1-k1"
    assert sent.headers["Authorization"] == "Bearer shop-key"
    assert sent.json() == {
        "reference": "#1201-1",
        "customer": {"name": "Salma Idrissi", "phone": "+212612345678",
                     "address": "12 rue des Fleurs, Agdal", "city": "Rabat",
                     "region": "Rabat-Salé-Kénitra"},
        "shipping_method": "Standard", "currency": "MAD",
        "lines": [{"sku": "ATL-SW-X8U", "quantity": 2}, {"sku": "ATL-MG-PRO", "quantity": 1}]}


def test_submit_server_error_fails_only_that_order(peer, http):
    """A 500 fails its own order (retried with the same key); the next one still goes."""
    peer.on("POST", "/orders", Reply(500, body=b"<html>oops</html>"), accepted("SUP-00000002"))
    replies = at_peer(peer, http).submit([purchase_order(1), purchase_order(2)]).replies
    assert [r.outcome for r in replies] == [FAILED, ACCEPTED]
    assert "answered HTTP 500" in replies[0].message
    assert replies[1].supplier_ref == "SUP-00000002"


def test_submit_timeout_fails_the_batch_without_waiting_on_each_order(peer, http):
    """A supplier slower than our timeout: FAILED, and the rest are not sent to wait too."""
    peer.on("POST", "/orders", Reply(201, json={}, delay=4.0))
    replies = at_peer(peer, http).submit([purchase_order(1), purchase_order(2)]).replies
    assert [r.outcome for r in replies] == [FAILED, FAILED]
    assert replies[0].message == "Atlas Wholesale did not answer within 2 s."
    assert replies[1].message == "Not sent: Atlas Wholesale did not answer within 2 s."
    assert len(peer.seen("POST", "/orders")) == 1


def test_submit_malformed_answer_is_failed(peer, http):
    """A 201 cut in half: we do not know what was decided, so the order is tried again."""
    peer.on("POST", "/orders", Reply(201, body=b'{"number": "SUP-0000'))
    [reply] = at_peer(peer, http).submit([purchase_order()]).replies
    assert reply.outcome == FAILED and "malformed JSON" in reply.message


def test_submit_unreachable_supplier_is_failed(http):
    """Nothing listening: FAILED, naming the supplier, never the key."""
    adapter = adapter_for(SupplierConfig(id=1, name="Atlas Wholesale", kind="sandbox",
                                         base_url=closed_port_url(), api_key="shop-key"), http)
    [reply] = adapter.submit([purchase_order()]).replies
    assert reply.outcome == FAILED and reply.message.startswith("Could not reach Atlas")
    assert "shop-key" not in reply.message


# --- status -----------------------------------------------------------------------------


def test_fetch_status_of_an_order_that_left_is_shipped_with_tracking(app, supplier):
    """Once its time has come, the order is SHIPPED with the sandbox carrier's number."""
    ref = supplier.submit([purchase_order()]).replies[0].supplier_ref
    [waiting] = supplier.fetch_status([query(purchase_order(), ref)])
    assert (waiting.outcome, waiting.tracking_number) == (ACCEPTED, None)
    leave_warehouse_now()
    [shipped] = supplier.fetch_status([query(purchase_order(), ref)])
    assert shipped.outcome == SHIPPED and shipped.carrier == "Sandbox Express"
    assert shipped.tracking_number.startswith("SBX") and len(shipped.tracking_number) == 13


def test_fetch_status_unknown_order_is_failed_and_others_still_come(supplier):
    """A number the sandbox does not know is said so; the known ones are answered."""
    ref = supplier.submit([purchase_order(1)]).replies[0].supplier_ref
    replies = supplier.fetch_status([query(purchase_order(1), ref),
                                     query(purchase_order(2), "SUP-00000000"),
                                     query(purchase_order(3), None)])
    by_id = {r.supplier_order_id: r for r in replies}
    assert set(by_id) == {1, 2}
    assert by_id[1].outcome == ACCEPTED
    assert by_id[2].outcome == FAILED and "does not know order SUP-00000000" in by_id[2].message


def test_fetch_status_asks_in_batches_of_100(peer, http):
    """150 orders: two calls, of 100 and 50 numbers."""
    def answer(seen):
        """Every asked number is an accepted order."""
        return Reply(200, json={"orders": [{"number": n, "status": "accepted"}
                                           for n in seen.json()["numbers"]], "unknown": []})

    peer.on("POST", "/orders/status", answer)
    queries = [query(purchase_order(n), f"SUP-{n:08d}") for n in range(150)]
    replies = at_peer(peer, http).fetch_status(queries)
    assert [len(s.json()["numbers"]) for s in peer.seen("POST", "/orders/status")] == [100, 50]
    assert len(replies) == 150 and {r.outcome for r in replies} == {ACCEPTED}


@pytest.mark.parametrize("reply, words", [
    (Reply(503, json={"error": "maintenance"}), "answered HTTP 503"),
    (Reply(200, body=b"<html>proxy</html>"), "malformed JSON"),
    (Reply(200, json={"unknown": []}), "malformed JSON"),
])
def test_fetch_status_failure_raises_transient(peer, http, reply, words):
    """A status call that fails is retried next time: a transient SupplierError."""
    peer.on("POST", "/orders/status", reply)
    with pytest.raises(SupplierError, match=words) as raised:
        at_peer(peer, http).fetch_status([query(purchase_order(), "SUP-00000001")])
    assert raised.value.transient


def test_fetch_status_timeout_raises_transient(peer, http):
    """A stalled status call is a transient error naming the timeout."""
    peer.on("POST", "/orders/status", Reply(200, json={"orders": []}, delay=4.0))
    with pytest.raises(SupplierError, match="did not answer within 2 s") as raised:
        at_peer(peer, http).fetch_status([query(purchase_order(), "SUP-00000001")])
    assert raised.value.transient


# --- cancel -----------------------------------------------------------------------------


def test_cancel_before_shipping_is_canceled(supplier):
    """An order still in the warehouse is canceled."""
    ref = supplier.submit([purchase_order()]).replies[0].supplier_ref
    reply = supplier.cancel(query(purchase_order(), ref))
    assert (reply.outcome, reply.supplier_ref) == (CANCELED, ref)
    [again] = supplier.fetch_status([query(purchase_order(), ref)])
    assert again.outcome == CANCELED


def test_cancel_after_shipping_is_refused_with_the_suppliers_words(app, supplier):
    """Once shipped, the sandbox says no: a SupplierError that retrying will not change."""
    app.config["SANDBOX_SUPPLIER_SHIP_SECONDS"] = 0
    ref = supplier.submit([purchase_order()]).replies[0].supplier_ref
    with pytest.raises(SupplierError, match="Already shipped with Sandbox Express") as refused:
        supplier.cancel(query(purchase_order(), ref))
    assert not refused.value.transient and "409" in refused.value.message


def test_cancel_without_the_suppliers_number_is_refused(supplier):
    """Nothing to name in the cancel call: said plainly, not retried."""
    with pytest.raises(SupplierError, match="gave no order number for #1201-1") as refused:
        supplier.cancel(query(purchase_order(), None))
    assert not refused.value.transient


def test_cancel_server_error_is_transient(peer, http):
    """A 502 on cancel is tried again later."""
    peer.on("POST", "/orders/SUP-00000001/cancel", Reply(502))
    with pytest.raises(SupplierError) as raised:
        at_peer(peer, http).cancel(query(purchase_order(), "SUP-00000001"))
    assert raised.value.transient


# --- the registry -----------------------------------------------------------------------


def test_adapter_for_unknown_kind_refuses_plainly(http):
    """A supplier of a kind codboard has no adapter for: every call says so."""
    adapter = adapter_for(SupplierConfig(id=9, name="Fax Only", kind="fax"), http)
    assert type(adapter) is SupplierAdapter
    with pytest.raises(SupplierError, match="Fax Only takes no orders") as refused:
        adapter.submit([purchase_order()])
    assert not refused.value.transient
    with pytest.raises(CannotCancel):
        adapter.cancel(query(purchase_order(), "X"))
    assert adapter.fetch_status([query(purchase_order(), "X")]) == []
