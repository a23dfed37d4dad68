"""Restock exactly once on the real worker path: worker processes racing, a worker killed
midway whose job runs again, duplicate jobs, and reconcile finding what is missing."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy import create_engine, func, select, text, update

from extensions import db
from models import Actor, Order, StockLevel, StockMovement
from models.errors import Conflict
from models.orders.operations import change_confirmation, change_shipping
from models.shipping.operations import move_by_hand
from models.stock.ledger import ledger_mismatches
from tests.conftest import ON_POSTGRES
from workers import get_queue
from workers.reconcile import reconcile, restock_returned_order

ROOT = Path(__file__).resolve().parents[2]
RQ = str(Path(sys.executable).parent / "rq")
needs_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="row locks and parallel writers need PostgreSQL (run in CI)")


def returned_behind_the_doors_back(make_order, make_product, make_user, lines=1, qty=2):
    """A confirmed order marked Returned by a plain UPDATE (as after a crash mid-move)."""
    products = [make_product(stock=20) for _ in range(lines)]
    order = make_order(lines=[(p, qty) for p in products])
    agent = make_user("agent")
    order.claimed_by_id = agent.id
    change_confirmation(order, "confirmed", Actor.of(agent))
    change_shipping(order, "fulfilled", Actor.of(make_user("operator")))
    db.session.execute(update(Order).where(Order.id == order.id)
                       .values(shipping_status="returned", version=Order.version + 1))
    db.session.commit()
    return order, products


def restocks(order_id: int | None = None) -> int:
    """Restock movements (of one order's lines, or all)."""
    query = select(func.count()).select_from(StockMovement).where(
        StockMovement.reason == "restock")
    if order_id is not None:
        query = query.where(StockMovement.note == f"return of #{order_id}")
    return db.session.scalar(query)


def on_hand(product) -> int:
    db.session.expire_all()
    return db.session.scalar(select(StockLevel.on_hand).filter_by(product_id=product.id))


def start_worker(database_url: str, redis_url: str) -> subprocess.Popen:
    """A real `rq worker --burst` process on this test's database and Redis."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [RQ, "worker", "--burst", "--url", redis_url, "--worker-class", "rq.SimpleWorker",
         "default"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def waiting_on_a_lock(database_url: str) -> bool:
    """True when some session waits on a row lock (a fresh connection: the statistics a
    transaction sees are a snapshot)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM pg_stat_activity"
                                    " WHERE wait_event_type = 'Lock'")) > 0
    finally:
        engine.dispose()


def wait_for(predicate, seconds: float = 30.0) -> None:
    """Poll until predicate() holds; fail the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


@needs_postgres
def test_two_worker_processes_racing_on_duplicate_jobs_restock_each_line_once(
        app, database_url, redis_url, make_order, make_product, make_user):
    orders = [returned_behind_the_doors_back(make_order, make_product, make_user, lines=2)
              for _ in range(12)]
    queue = get_queue("default")
    for _copy in range(3):  # duplicates, as when a job is redelivered
        for order, _products in orders:
            queue.enqueue(restock_returned_order, order.id)
    workers = [start_worker(database_url, redis_url) for _ in range(2)]
    for worker in workers:
        _out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()[-2000:]
    db.session.expire_all()
    assert restocks() == 24  # 12 orders x 2 lines, once each
    for _order, products in orders:
        assert all(on_hand(p) == 20 for p in products)
    assert ledger_mismatches() == []
    assert FailedJobRegistry(queue=queue).count == 0


@needs_postgres
def test_a_worker_killed_mid_restock_leaves_nothing_and_the_job_runs_again_once(
        app, database_url, redis_url, make_order, make_product, make_user, run_jobs):
    order, (product,) = returned_behind_the_doors_back(make_order, make_product, make_user)
    queue = get_queue("default")
    job = queue.enqueue(restock_returned_order, order.id)
    blocker_engine = create_engine(database_url)
    blocker = blocker_engine.connect()
    # Hold the stock level's row: the job inserts its ledger row, then waits on the level.
    blocker.execute(text("SELECT 1 FROM stock_levels WHERE product_id = :p FOR UPDATE"),
                    {"p": product.id})
    worker = start_worker(database_url, redis_url)
    try:
        wait_for(lambda: job.get_status(refresh=True) == "started")
        wait_for(lambda: waiting_on_a_lock(database_url))
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.communicate(timeout=10)
        blocker.rollback()
        blocker.close()
        blocker_engine.dispose()
    db.session.expire_all()
    assert restocks() == 0 and on_hand(product) == 18  # the killed transaction rolled back
    # RQ finds the dead worker's job once its heartbeat expires (here: a clean-up dated
    # past it) and retries it; it runs again at once rather than after the backoff.
    StartedJobRegistry(queue=queue).cleanup(timestamp=time.time() + 3600)
    again = Job.fetch(job.id, connection=queue.connection)
    assert again.get_status() in {"scheduled", "failed"}
    queue.enqueue_job(again)
    # And reconcile, which reads the database, enqueues the same work once more.
    reconcile.enqueue()
    run_jobs()
    assert restocks() == 1 and on_hand(product) == 20
    assert ledger_mismatches() == []


def test_reconcile_finds_every_returned_order_missing_its_restock(
        app, make_order, make_product, make_user, run_jobs):
    missing = [returned_behind_the_doors_back(make_order, make_product, make_user)
               for _ in range(3)]
    reconcile.enqueue()
    run_jobs()
    reconcile.enqueue()
    run_jobs()
    assert restocks() == 3
    assert all(on_hand(products[0]) == 20 for _order, products in missing)


def test_duplicate_restock_jobs_in_one_worker_restock_once(
        app, make_order, make_product, make_user, run_jobs):
    order, (product,) = returned_behind_the_doors_back(make_order, make_product, make_user)
    for _ in range(3):
        get_queue("default").enqueue(restock_returned_order, order.id)
    run_jobs()
    assert restocks() == 1 and on_hand(product) == 20


def test_canceled_orders_never_touch_stock(app, parcel_order, run_jobs):
    order, _parcel = parcel_order("fulfilled")
    product = order.lines[0].product
    taken = on_hand(product)
    move_by_hand(order, "canceled", Actor.of(order.claimed_by or _operator(order)))
    db.session.commit()
    reconcile.enqueue()
    run_jobs()
    assert on_hand(product) == taken and restocks() == 0


def _operator(order):
    """An operator actor for moves in these tests."""
    from models import User

    user = User(username=f"op-{order.id}", role="operator")
    user.set_password("secret-pw")
    db.session.add(user)
    db.session.commit()
    return user


@needs_postgres
def test_two_operators_marking_returned_at_once_restock_once(app, database_url, parcel_order):
    order, _parcel = parcel_order("in_return")
    product = order.lines[0].product
    results = []

    def mark_returned():
        with app.app_context():
            mine = db.session.get(Order, order.id)
            try:
                move_by_hand(mine, "returned", Actor.of(_operator_in_thread(order.id)),
                             source="scan")
                db.session.commit()
                results.append("ok")
            except Conflict:
                db.session.rollback()
                results.append("conflict")
            except Exception as error:  # the other writer's unique row or version wins
                db.session.rollback()
                results.append(type(error).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=mark_returned) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results.count("ok") == 1, results
    assert restocks() == 1 and on_hand(product) == 50
    assert ledger_mismatches() == []


def _operator_in_thread(order_id: int):
    """A fresh operator in this thread's session."""
    from models import User

    user = User(username=f"op-{order_id}-{threading.get_ident()}", role="operator")
    user.set_password("secret-pw")
    db.session.add(user)
    db.session.flush()
    return user
