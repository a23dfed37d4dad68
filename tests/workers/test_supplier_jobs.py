"""Supplier jobs with a real RQ worker and Redis against a supplier over real HTTP (a local
JSON API that keeps one order per Idempotency-Key): each order reaches the supplier once,
whatever clicks, races, timeouts and retries happen on the way."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

import workers.suppliers.jobs as supplier_jobs
from extensions import db
from models import Actor, Order, Parcel, utcnow
from models.dropship.operations import Fix, cancel, request_processing, resolve, take_for_submission
from models.dropship.tables import SupplierOrder
from tests.dropship_support import supplier_orders, supplier_trail
from tests.workers.carriers.peer import Reply
from workers import get_queue
from workers.reconcile import reconcile
from workers.suppliers.jobs import sync_due_suppliers, sync_supplier

UPS_NUMBER = "1Z5R89390357567127"


@pytest.fixture
def operator(make_user):
    """An operator, as an actor."""
    return Actor.of(make_user("operator"))


@pytest.fixture
def queued(make_dropship_product, routed_order, confirm, operator):
    """queued(supplier, n=1, mapped=True): n confirmed orders whose supplier order an
    operator pressed Process on (nothing enqueued yet); committed."""

    def make(supplier, n: int = 1, mapped: bool = True, **order) -> list[SupplierOrder]:
        made = []
        for _ in range(n):
            product = make_dropship_product(supplier, mapped=mapped, cost_cents=12950)
            placed = routed_order([(product, 2)], **order)
            confirm(placed)
            made += supplier_orders(placed.id)
        request_processing(made, operator)
        db.session.commit()
        return made

    return make


def process(supplier, run_jobs) -> None:
    """Nudge the supplier's process job and run the queues dry."""
    supplier_jobs.request_processing(supplier.id)
    run_jobs()
    db.session.expire_all()


def backdate(*orders, minutes: int = 3) -> None:
    """Time passes: these submissions are older than the resend delay."""
    for so in orders:
        db.session.execute(update(SupplierOrder).where(SupplierOrder.id == so.id).values(
            submitted_at=so.submitted_at - timedelta(minutes=minutes),
            version=SupplierOrder.version))
    db.session.commit()
    db.session.expire_all()


def test_process_submits_queued_orders_with_their_key(http_supplier, supplier_peer, queued,
                                                      run_jobs):
    supplier = http_supplier()
    first, second = queued(supplier, n=2)
    process(supplier, run_jobs)
    assert (first.status, first.supplier_ref) == ("accepted", "SUP-1")
    assert (second.status, second.supplier_ref) == ("accepted", "SUP-2")
    assert first.submitted_at and first.answered_at and first.attempts == 1
    posts = supplier_peer.seen("POST", "/orders")
    assert [p.headers["Idempotency-Key"] for p in posts] == [first.idempotency_key,
                                                              second.idempotency_key]
    assert posts[0].headers["Authorization"] == "Bearer sup-key"
    line = first.lines[0]
    assert posts[0].json() == {
        "external_reference": first.reference, "currency": "MAD",
        "shipping_address": {"name": first.customer_name, "phone": first.phone,
                             "address1": first.address, "city": first.city,
                             "province": first.region},
        "shipping_method": "Standard",
        "items": [{"sku": line.supplier_sku, "quantity": 2, "price": "129.50"}]}
    trail = supplier_trail(first)
    submitted = next(e for e in trail if e.to_value == "submitted")
    assert submitted.actor_user_id is not None  # recorded for the operator who pressed Process
    assert trail[-1].note == f"accepted by {supplier.name} as SUP-1"


def test_a_double_click_submits_once(http_supplier, supplier_peer, queued, operator,
                                     run_jobs):
    supplier = http_supplier()
    (so,) = queued(supplier)
    assert request_processing([so], operator) == {so.id: "already queued"}
    db.session.commit()
    supplier_jobs.request_processing(supplier.id)
    supplier_jobs.request_processing(supplier.id)
    assert get_queue("suppliers").count == 1
    run_jobs()
    process(supplier, run_jobs)  # and a later nudge finds nothing to send
    assert so.status == "accepted"
    assert supplier_peer.posts == 1 and len(supplier_peer.made) == 1


def _pause_after_taking(racers: set, barrier: threading.Barrier):
    """Hold each racing thread right after it read the queued rows, until both have."""

    def hook(conn, cursor, statement, *args):
        """Wait at the barrier after a racer's read of the queued rows."""
        if (threading.get_ident() in racers and "FROM supplier_orders" in statement
                and "process_requested_at IS NOT NULL" in statement):
            barrier.wait()

    return hook


def test_two_operators_taking_the_same_rows_submit_each_once(app, http_supplier, queued,
                                                             supplier_peer, run_jobs):
    """Both read the same queued rows; each row moves to submitted for one of them only."""
    supplier = http_supplier()
    orders = queued(supplier, n=3)
    supplier_id = supplier.id
    racers, barrier = set(), threading.Barrier(2, timeout=30)
    taken, errors = [], []

    def operator_takes():
        """One operator's take, in a session of its own."""
        racers.add(threading.get_ident())
        with app.app_context():
            try:
                send, failed = take_for_submission(supplier_id)
                db.session.commit()
                taken.append(sorted(so.id for so in send))
            except Exception as exc:  # reported below; a thread must not die silently
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    hook = _pause_after_taking(racers, barrier)
    event.listen(db.engine, "after_cursor_execute", hook)
    try:
        threads = [threading.Thread(target=operator_takes) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(db.engine, "after_cursor_execute", hook)
    assert errors == []
    assert sorted(taken) == [[], sorted(so.id for so in orders)]
    db.session.expire_all()
    submitted = [e for so in orders for e in supplier_trail(so) if e.to_value == "submitted"]
    assert len(submitted) == len(orders)  # one move per order (each has one line)
    # The rows were taken but their job never called: the resend sends each once.
    backdate(*orders)
    process(supplier, run_jobs)
    assert supplier_peer.posts == 3 and len(supplier_peer.made) == 3


def test_a_timed_out_submission_is_resent_with_the_same_key_and_made_once(
        app, http_supplier, supplier_peer, queued, run_jobs):
    app.config["HTTP_TIMEOUT"] = 1.5
    supplier = http_supplier()
    (so,) = queued(supplier)
    supplier_peer.delays = [5]  # the supplier makes the order but answers too late
    process(supplier, run_jobs)
    assert (so.status, so.answered_at) == ("submitted", None)
    assert so.last_error == f"{supplier.name} did not answer within 1.5 s."
    assert len(supplier_peer.made) == 1

    process(supplier, run_jobs)  # too soon to resend: still waiting for an answer
    assert supplier_peer.posts == 1
    backdate(so)
    assert sync_due_suppliers() >= 1
    run_jobs()
    db.session.expire_all()
    assert (so.status, so.supplier_ref, so.last_error) == ("accepted", "SUP-1", "")
    keys = [p.headers["Idempotency-Key"] for p in supplier_peer.seen("POST", "/orders")]
    assert keys == [so.idempotency_key, so.idempotency_key]
    assert len(supplier_peer.made) == 1  # the supplier deduped the resend by its key


def test_a_local_check_failure_is_an_error_and_nothing_is_sent(http_supplier, supplier_peer,
                                                               queued, run_jobs):
    supplier = http_supplier()
    (so,) = queued(supplier, mapped=False)
    process(supplier, run_jobs)
    assert (so.status, so.error_source, so.process_requested_at) == ("error", "check", None)
    assert so.error == f"SKU {so.lines[0].sku} has no {supplier.name} SKU mapped."
    assert supplier_trail(so)[-1].actor_name == "check"
    assert supplier_peer.posts == 0


def test_a_batch_that_failed_its_checks_does_not_stop_the_next_batch(
        http_supplier, supplier_peer, queued, run_jobs, monkeypatch):
    monkeypatch.setattr(supplier_jobs, "BATCH", 1)
    supplier = http_supplier()
    (bad,) = queued(supplier, mapped=False)
    (good,) = queued(supplier)
    process(supplier, run_jobs)
    assert (bad.status, good.status) == ("error", "accepted")
    assert supplier_peer.posts == 1


def test_a_refusal_is_an_error_with_the_supplier_message(http_supplier, supplier_peer,
                                                         queued, run_jobs):
    supplier = http_supplier()
    (so,) = queued(supplier)
    supplier_peer.refuse[so.lines[0].supplier_sku] = "Discontinued item."
    process(supplier, run_jobs)
    assert (so.status, so.error, so.error_source) == ("error", "Discontinued item.",
                                                      "supplier")
    assert supplier_peer.made == {}


@pytest.mark.parametrize("failure", [Reply(503, body="busy"), Reply(200, body="{not json")],
                         ids=["5xx", "malformed"])
def test_a_failing_supplier_keeps_the_order_submitted_and_it_is_resent(
        http_supplier, supplier_peer, queued, run_jobs, failure):
    supplier = http_supplier()
    (so,) = queued(supplier)
    supplier_peer.answers = [failure]
    process(supplier, run_jobs)
    assert (so.status, so.answered_at) == ("submitted", None)
    assert so.last_error.startswith(supplier.name) and so.error == ""
    backdate(so)
    process(supplier, run_jobs)
    assert (so.status, so.last_error) == ("accepted", "")
    assert [p.headers["Idempotency-Key"] for p in supplier_peer.seen("POST", "/orders")] == [
        so.idempotency_key] * 2


def test_an_order_resolved_after_a_refusal_goes_again_and_is_resent_after_a_failure(
        http_supplier, supplier_peer, queued, operator, run_jobs):
    """The corrected order is a new request (new key); if that request gets no answer, it
    is the one sent again, never the refused one."""
    supplier = http_supplier()
    (so,) = queued(supplier)
    supplier_peer.answers = [Reply(422, json={"message": "Address incomplete."})]
    process(supplier, run_jobs)
    assert (so.status, so.error) == ("error", "Address incomplete.")
    first_key = so.idempotency_key
    resolve(so, operator, Fix(address="7 Avenue Hassan II, Agdal"), process=True)
    db.session.commit()
    supplier_peer.answers = [Reply(503, body="busy")]
    process(supplier, run_jobs)
    assert (so.status, so.answered_at, so.supplier_ref) == ("submitted", None, None)
    backdate(so)
    process(supplier, run_jobs)
    assert (so.status, so.supplier_ref) == ("accepted", "SUP-1")
    keys = [p.headers["Idempotency-Key"] for p in supplier_peer.seen("POST", "/orders")]
    assert keys == [first_key, so.idempotency_key, so.idempotency_key]
    assert first_key != so.idempotency_key
    assert supplier_peer.order("SUP-1").body["shipping_address"]["address1"] == (
        "7 Avenue Hassan II, Agdal")


def test_sync_picks_up_shipped_then_its_tracking(http_supplier, supplier_peer, queued,
                                                make_carrier, run_jobs):
    ups = make_carrier(name="UPS", code="ups")
    supplier = http_supplier()
    (so,) = queued(supplier)
    process(supplier, run_jobs)
    made = supplier_peer.order("SUP-1")
    made.status = "shipped"  # before the carrier's number exists
    now = utcnow()
    assert sync_supplier(supplier.id, now=now) == "1 shipped"
    db.session.expire_all()
    assert (so.status, so.tracking_number) == ("shipped", None)
    made.tracking_number, made.carrier = UPS_NUMBER, "ups"
    assert sync_supplier(supplier.id, now=now + timedelta(minutes=1)) == "nothing open"
    assert sync_supplier(supplier.id, now=now + timedelta(minutes=5)) == "1 shipped"
    db.session.expire_all()
    assert (so.status, so.tracking_number, so.carrier_name) == ("shipped", UPS_NUMBER, "ups")
    assert so.last_synced_at is not None
    parcel = db.session.scalar(select(Parcel).where(Parcel.supplier_order_id == so.id))
    assert (parcel.carrier_id, parcel.leads) == (ups.id, True)
    order = db.session.get(Order, so.order_id)
    assert (order.shipping_status, order.tracking_number) == ("shipped", UPS_NUMBER)
    assert len(supplier_peer.seen("GET", "/orders/SUP-1")) == 2
    db.session.refresh(supplier)
    assert supplier.last_sync_at is not None and supplier.last_error is None


def test_a_sync_within_the_poll_interval_asks_nothing(http_supplier, supplier_peer, queued,
                                                      run_jobs):
    supplier = http_supplier(poll_interval_minutes=10)
    (so,) = queued(supplier)
    process(supplier, run_jobs)
    now = utcnow()
    assert sync_supplier(supplier.id, now=now) == "1 no_change"
    assert sync_supplier(supplier.id, now=now + timedelta(minutes=5)) == "nothing open"
    assert len(supplier_peer.seen("GET", "/orders/SUP-1")) == 1


def test_cancel_of_a_submitted_order_goes_through_the_supplier(http_supplier, supplier_peer,
                                                               queued, operator, run_jobs):
    supplier = http_supplier()
    (so,) = queued(supplier)
    process(supplier, run_jobs)
    assert cancel(so, operator, "customer changed their mind") is True
    db.session.commit()
    process(supplier, run_jobs)
    assert (so.status, so.manual_follow_up, so.cancel_requested_at) == (
        "canceled", False, None)
    assert supplier_peer.order("SUP-1").status == "cancelled"
    assert len(supplier_peer.seen("POST", "/orders/SUP-1/cancel")) == 1
    assert supplier_trail(so)[-1].note == (
        f"canceled with {supplier.name}: customer changed their mind")


def test_a_supplier_that_cannot_cancel_leaves_it_to_a_person(http_supplier, supplier_peer,
                                                             queued, operator, run_jobs):
    from tests.dropship_support import SETTINGS

    supplier = http_supplier(settings={**SETTINGS, "cancel_path": ""})
    (so,) = queued(supplier)
    process(supplier, run_jobs)
    cancel(so, operator, "wrong size")
    db.session.commit()
    process(supplier, run_jobs)
    assert (so.status, so.manual_follow_up) == ("canceled", True)
    assert "by hand" in supplier_trail(so)[-1].note
    assert supplier_peer.seen("POST", "/orders/SUP-1/cancel") == []


def test_a_supplier_answering_a_cancel_with_a_live_order_leaves_it_to_a_person(
        http_supplier, supplier_peer, queued, operator, run_jobs):
    """Their answer says the order still goes ahead: it is not canceled with them."""
    supplier = http_supplier()
    (so,) = queued(supplier)
    process(supplier, run_jobs)
    supplier_peer.on("POST", "/orders/SUP-1/cancel",
                     Reply(200, json={"id": "SUP-1", "status": "processing"}))
    cancel(so, operator, "wrong size")
    db.session.commit()
    process(supplier, run_jobs)
    assert (so.status, so.manual_follow_up) == ("canceled", True)
    assert supplier_trail(so)[-1].actor_name == "cancel"


def test_reconcile_enqueues_a_queued_order_whose_job_was_lost(app, http_supplier,
                                                              supplier_peer, queued,
                                                              run_jobs):
    supplier = http_supplier()
    (so,) = queued(supplier)
    supplier_jobs.request_processing(supplier.id)
    app.extensions["redis"].flushdb()  # Redis restarted: the job and its nudge are gone
    assert get_queue("suppliers").count == 0
    assert reconcile()["suppliers"] == 1
    run_jobs()
    db.session.expire_all()
    assert so.status == "accepted" and supplier_peer.posts == 1


def test_reconcile_leaves_a_switched_off_supplier_alone(http_supplier, queued):
    supplier = http_supplier()
    queued(supplier)
    supplier.active = False
    db.session.commit()
    assert reconcile()["suppliers"] == 0
    assert get_queue("suppliers").count == 0


def test_an_operator_canceling_while_the_batch_is_sent_loses_no_answer(
        app, http_supplier, supplier_peer, queued, operator, run_jobs):
    """The second order is changed while the supplier answers it: both answers are applied
    to the orders as they are now, and the cancellation then goes to the supplier."""
    supplier = http_supplier()
    first, second = queued(supplier, n=2)
    second_id = second.id

    def operator_cancels_the_second():
        """An operator cancels the second order meanwhile, in a session of their own."""
        with app.app_context():
            cancel(db.session.get(SupplierOrder, second_id), operator, "customer called")
            db.session.commit()

    supplier_peer.meanwhile = [None, operator_cancels_the_second]
    process(supplier, run_jobs)
    assert (first.status, first.supplier_ref) == ("accepted", "SUP-1")
    assert (second.status, second.supplier_ref, second.manual_follow_up) == (
        "canceled", "SUP-2", False)
    assert second.cancel_reason == "customer called"
    assert supplier_peer.order("SUP-2").status == "cancelled"
    assert supplier_peer.posts == 2


def test_sync_due_suppliers_nudges_only_suppliers_with_work(http_supplier, make_supplier,
                                                            queued, run_jobs):
    busy = http_supplier()
    queued(busy)
    idle = http_supplier()
    off = http_supplier()
    queued(off)
    off.active = False
    db.session.commit()
    sync_due_suppliers()
    jobs = [(job.func_name.rsplit(".", 1)[-1], job.args)
            for job in get_queue("suppliers").get_jobs()]
    assert jobs == [("process_supplier", (busy.id,))]
    assert idle.id not in {args[0] for _name, args in jobs}


def test_the_carrier_sync_follows_a_supplier_parcel_beside_our_own(
        http_supplier, supplier_peer, make_dropship_product, make_product, make_carrier,
        routed_order, confirm, operator, run_jobs):
    """Our own part is not packed yet, so the order is not one the sync follows; the
    supplier's parcel is asked about all the same, and its journey moves nothing."""
    from models.shipping.tables import CarrierStatusMapping, ParcelEvent
    from tests.workers.carriers.peer import Peer
    from tests.workers.carriers.test_http_json import DELIVERED, PICKED, SETTINGS, history
    from workers.shipping import sync_carrier

    supplier = http_supplier()
    placed = routed_order([(make_dropship_product(supplier), 1), (make_product(stock=5), 1)])
    confirm(placed)
    (so,) = supplier_orders(placed.id)
    request_processing([so], operator)
    db.session.commit()
    process(supplier, run_jobs)
    supplier_peer.order("SUP-1").status = "shipped"
    supplier_peer.order("SUP-1").tracking_number = "RPD-88120"
    supplier_peer.order("SUP-1").carrier = "Rapido"
    with Peer.running() as rapido_api:
        rapido = make_carrier(name="Rapido", kind="http_json", base_url=rapido_api.url,
                              api_key="rk", settings=SETTINGS)
        db.session.add_all(CarrierStatusMapping(carrier_id=rapido.id, raw_status=raw,
                                                maps_to=ours)
                           for raw, ours in (("PICKED_UP", "shipped"),
                                             ("DELIVERED", "delivered")))
        db.session.commit()
        assert sync_supplier(supplier.id) == "1 shipped"
        parcel = db.session.scalar(select(Parcel).where(Parcel.supplier_order_id == so.id))
        assert (parcel.carrier_id, parcel.leads) == (rapido.id, False)
        rapido_api.on("GET", "/api/v1/parcels/RPD-88120",
                      Reply(200, json=history(PICKED, DELIVERED)))
        sync_carrier.enqueue(rapido.id)
        run_jobs()
    db.session.expire_all()
    assert db.session.scalars(select(ParcelEvent.maps_to).where(
        ParcelEvent.parcel_id == parcel.id).order_by(ParcelEvent.id)).all() == [
        "shipped", "delivered"]
    assert (parcel.final, parcel.last_synced_at is not None) == (True, True)
    assert db.session.get(Order, placed.id).shipping_status == "created"
