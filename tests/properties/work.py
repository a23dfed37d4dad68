"""A burst of every queued job in this process, as the conftest's run_jobs does, without the
worker's command channel: the stateful test starts a few hundred bursts, and joining the
pub/sub thread of each costs a fifth of a second while no one ever sends it a command."""

from rq import SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from workers import QUEUE_NAMES, get_queue


class BurstWorker(SimpleWorker):
    """RQ's in-process worker, not listening for stop or kill commands."""

    def subscribe(self):
        """No command channel: nothing is ever sent to a burst that ends by itself."""


def run_jobs(app) -> None:
    """Run every queued job with a real RQ worker; fail loudly on job errors."""
    queues = [get_queue(name) for name in QUEUE_NAMES]
    BurstWorker(queues, connection=app.extensions["redis"]).work(burst=True)
    errors = []
    for queue in queues:
        # A failed job is either in the failed registry or scheduled for a retry.
        for registry in (FailedJobRegistry(queue=queue), ScheduledJobRegistry(queue=queue)):
            for job in Job.fetch_many(registry.get_job_ids(), connection=queue.connection):
                result = job and job.latest_result()
                if result is not None and result.exc_string:
                    errors.append(f"{job.func_name}: {result.exc_string}")
    assert not errors, "\n".join(errors)
