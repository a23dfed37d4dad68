"""The forking worker production runs: jobs run in a forked work horse on the app its
parent built, each once, on database connections of their own."""

from rq.job import Job

from tests.workers.test_restock_exactly_once import (
    on_hand,
    restocks,
    returned_behind_the_doors_back,
)
from workers import get_queue
from workers.reconcile import restock_returned_order
from workers.worker import AppWorker


def test_forked_work_horses_run_jobs_on_the_parents_app(app, make_order, make_product,
                                                        make_user):
    orders = [returned_behind_the_doors_back(make_order, make_product, make_user)
              for _ in range(3)]
    jobs = [restock_returned_order.enqueue(order.id) for order, _products in orders]
    worker = AppWorker([get_queue()], connection=app.extensions["redis"])
    assert worker.app is app  # built (here: reused) before any fork

    worker.work(burst=True)

    for job in jobs:
        job = Job.fetch(job.id, connection=app.extensions["redis"])
        assert job.is_finished, job.latest_result().exc_string
        assert job.worker_name == worker.name
    for order, products in orders:
        assert restocks(order.id) == 1
        assert on_hand(products[0]) == 20  # 2 taken at confirmation, 2 back
