"""What the stateful test does between and inside its examples, made cheap enough to run a
few hundred times: empty the tables but the people, and run the queued jobs."""

from rq import SimpleWorker

from tests.conftest import empty_tables, job_errors
from workers import QUEUE_NAMES, get_queue

# Kept between examples: logging people in hashes their password (scrypt, up to half a
# second each on a busy machine), and nothing refers to a user but rows that are emptied.
KEPT = ("users",)


def empty_but_users() -> None:
    """Empty every table but the users, as the conftest's teardown empties all of them."""
    empty_tables(keep=KEPT)


class BurstWorker(SimpleWorker):
    """RQ's in-process worker, not listening for stop or kill commands: joining the pub/sub
    thread of each burst costs a fifth of a second, and no one ever sends it a command."""

    def subscribe(self):
        """No command channel: nothing is ever sent to a burst that ends by itself."""


def run_jobs(app) -> None:
    """Run every queued job with a real RQ worker; fail loudly on job errors."""
    queues = [get_queue(name) for name in QUEUE_NAMES]
    BurstWorker(queues, connection=app.extensions["redis"]).work(burst=True)
    errors = job_errors(queues)
    assert not errors, "\n".join(errors)
