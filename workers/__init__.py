"""The Redis connection, named queues and the job decorator every job uses.

Jobs take ids and primitives, reload what they need inside, and are safe to
run twice. They run inside an app context from one app per worker process.
"""

from collections.abc import Callable
from functools import wraps

from flask import Flask, current_app, has_app_context
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus

QUEUE_NAMES = ("default", "carriers", "channels", "suppliers")
PENDING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}

_app: Flask | None = None


def init_app(app: Flask) -> None:
    """Bind the Redis connection to the app and make it the app jobs run in."""
    global _app
    app.extensions["redis"] = Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
    )
    _app = app


def job_app() -> Flask:
    """The app jobs run in: the last one created in this process, else a new one."""
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def redis_connection() -> Redis:
    """The Redis connection of the current app (or of the jobs' app)."""
    app = current_app if has_app_context() else job_app()
    return app.extensions["redis"]


def get_queue(name: str = "default") -> Queue:
    """One of the named queues."""
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=redis_connection())


def job(queue: str = "default", *, timeout: int = 300, retry: Retry | None = None):
    """Make a function an RQ job on a named queue, run inside an app context.

    The wrapped function gains ``enqueue(*args, job_id=None, **kwargs)``; with a
    job id it enqueues nothing while a job with that id is waiting or running.
    """

    def decorate(fn: Callable) -> Callable:
        @wraps(fn)
        def run(*args, **kwargs):
            from extensions import db

            with job_app().app_context():
                try:
                    return fn(*args, **kwargs)
                finally:
                    db.session.remove()

        def enqueue(*args, job_id: str | None = None, **kwargs) -> Job:
            q = get_queue(queue)
            options = dict(
                args=args, kwargs=kwargs, job_id=job_id, unique=job_id is not None,
                job_timeout=timeout, retry=retry or Retry(max=3, interval=[10, 60, 300]),
            )
            try:
                return q.enqueue(run, **options)
            except DuplicateJobError:
                # Same id still waiting or running: that job will do the work.
                existing = Job.fetch(job_id, connection=q.connection)
                if existing.get_status() in PENDING:
                    return existing
                existing.delete()
                return q.enqueue(run, **options)

        run.enqueue = enqueue
        run.queue_name = queue
        return run

    return decorate


NUDGE_TTL = 300  # seconds; a lost job's flag expires and reconcile enqueues again


def nudge(fn: Callable, key: str, *args, **kwargs) -> bool:
    """Enqueue fn unless a nudge with this key is already waiting; never fails the caller.

    Bursts (webhooks, confirmations) collapse into one batch job: the job clears its
    flag first thing (`clear_nudge`), so work committed after it started gets a new job.
    Returns False when Redis is unreachable: the database still says the work is due,
    and reconcile enqueues it when Redis is back.
    """
    from redis.exceptions import RedisError

    flag = f"codboard:nudge:{key}"
    try:
        if redis_connection().set(flag, 1, nx=True, ex=NUDGE_TTL):
            try:
                fn.enqueue(*args, **kwargs)
            except Exception:
                redis_connection().delete(flag)
                raise
        return True
    except RedisError:
        current_app.logger.warning("Redis unreachable: %s waits for reconcile", key)
        return False


def clear_nudge(key: str) -> None:
    """Called by a nudged job before it reads what is due."""
    redis_connection().delete(f"codboard:nudge:{key}")
