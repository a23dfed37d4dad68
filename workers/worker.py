"""The RQ worker class codboard runs: forking, with the app built once before any fork."""

from rq.worker import Worker

from extensions import db


class AppWorker(Worker):
    """A forking worker whose work horses inherit one ready app.

    RQ's plain worker imports nothing of ours before it forks, so every job's work horse
    built the whole app again (seconds under load); building it in the parent makes
    each fork start with it. The fork still isolates a job that crashes or hangs.
    """

    def __init__(self, *args, **kwargs):
        """Build the jobs' app in this (parent) process."""
        super().__init__(*args, **kwargs)
        from workers import job_app

        self.app = job_app()

    def main_work_horse(self, job, queue):
        """Run one job in the forked child, on database connections of its own."""
        with self.app.app_context():
            # Pooled connections were opened by the parent; sharing a socket across a
            # fork corrupts both sides, so the child forgets them without closing them.
            for engine in db.engines.values():
                engine.dispose(close=False)
        return super().main_work_horse(job, queue)
