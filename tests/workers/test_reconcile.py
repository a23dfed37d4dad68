"""Jobs on a real Redis with a real RQ worker: deduplication, reconcile and the cron entry."""

from sqlalchemy import select, update

from extensions import db
from models import Actor, Order, StockLevel, StockMovement
from models.orders.operations import change_confirmation, change_shipping
from workers import get_queue
from workers.reconcile import reconcile, restock_returned_order


def _returned_without_restock(make_order, make_product, make_user, qty=3):
    """An order marked returned behind the door's back (as after a crash or a bad import)."""
    product = make_product(stock=10)
    order = make_order(lines=[(product, qty)])
    agent = make_user("agent")
    order.claimed_by_id = agent.id
    change_confirmation(order, "confirmed", Actor.of(agent))
    change_shipping(order, "fulfilled", Actor.of(make_user("operator")))
    db.session.execute(update(Order).where(Order.id == order.id)
                       .values(shipping_status="returned", version=Order.version + 1))
    db.session.commit()
    return order, product


def _on_hand(product):
    return db.session.execute(
        select(StockLevel.on_hand).filter_by(product_id=product.id)).scalar_one()


def test_reconcile_restocks_a_returned_order_once(make_order, make_product, make_user,
                                                  run_jobs):
    order, product = _returned_without_restock(make_order, make_product, make_user)
    assert _on_hand(product) == 7
    reconcile.enqueue()
    run_jobs()
    db.session.expire_all()
    assert _on_hand(product) == 10
    reconcile.enqueue()
    reconcile.enqueue()
    run_jobs()
    db.session.expire_all()
    assert _on_hand(product) == 10
    restocks = db.session.execute(
        select(StockMovement).filter_by(reason="restock")).scalars().all()
    assert len(restocks) == 1 and restocks[0].actor_name == "reconcile"


def test_same_job_id_is_enqueued_once_while_waiting(make_order, make_product, make_user,
                                                    run_jobs):
    order, product = _returned_without_restock(make_order, make_product, make_user)
    first = restock_returned_order.enqueue(order.id, job_id=f"restock-{order.id}")
    second = restock_returned_order.enqueue(order.id, job_id=f"restock-{order.id}")
    assert first.id == second.id and get_queue("default").count == 1
    run_jobs()
    # Once finished, the same id can be enqueued again (and finds nothing to do).
    third = restock_returned_order.enqueue(order.id, job_id=f"restock-{order.id}")
    assert get_queue("default").count == 1
    run_jobs()
    assert third.get_status(refresh=True) == "finished" and third.return_value() == 0
    db.session.expire_all()
    assert _on_hand(product) == 10


def test_running_the_restock_job_twice_moves_stock_once(make_order, make_product, make_user,
                                                        run_jobs):
    order, product = _returned_without_restock(make_order, make_product, make_user, qty=2)
    queue = get_queue("default")
    # Two copies of the job, as when Redis redelivers after a lost worker.
    queue.enqueue(restock_returned_order, order.id)
    queue.enqueue(restock_returned_order, order.id)
    run_jobs()
    db.session.expire_all()
    assert _on_hand(product) == 10


def test_cron_config_runs_reconcile_every_minute_and_carrier_sync_every_5(app):
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=app.extensions["redis"])
    scheduler.load_config_from_file("workers.cron_config")
    jobs = {j.func_name: j for j in scheduler.get_jobs()}
    assert (jobs["workers.reconcile.reconcile"].cron,
            jobs["workers.reconcile.reconcile"].queue_name) == ("* * * * *", "default")
    sync = jobs["workers.shipping.sync_all_carriers"]
    assert (sync.interval, sync.queue_name) == (300, "carriers")
