"""The processes of a chaos run: a private Redis, two gunicorns, two RQ workers, one rq cron."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from rq import Worker

from workers import QUEUE_NAMES
from workers.redis_server import redis_answers

BIN = Path(sys.executable).parent
WORKERS = ("worker1", "worker2")


class Cluster:
    """Starts, supervises, kills and restarts the run's processes; counts what it did."""

    def __init__(self, env: dict[str, str], web_ports: tuple[int, int], redis_port: int,
                 logdir: Path) -> None:
        self.env, self.web_ports, self.redis_port, self.logdir = env, web_ports, redis_port, logdir
        self.redis_url = f"redis://127.0.0.1:{redis_port}/0"
        self.procs: dict[str, subprocess.Popen] = {}
        self.generation = 0
        self.restarts: dict[str, int] = {}  # processes found dead (not killed by us)
        self.rq_names: dict[str, str] = {}  # our worker name -> its current RQ name

    # -- Redis ------------------------------------------------------------------------
    def start_redis(self) -> None:
        """A redis-server that keeps nothing on disk: a restart loses every queued job."""
        binary = os.environ.get("CHAOS_REDIS_SERVER", "redis-server")
        self._spawn("redis", [binary, "--port", str(self.redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"])
        deadline = time.monotonic() + 10
        while not self.redis_answers():
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer on port {self.redis_port}")
            time.sleep(0.05)

    def redis_answers(self) -> bool:
        """True when the private Redis answers PING."""
        return redis_answers(self.redis_url)

    def restart_redis(self, down_seconds: float) -> None:
        """SIGKILL Redis (its queues, registries and nudge flags are gone), then start it."""
        self._kill("redis")
        time.sleep(down_seconds)
        self.start_redis()

    # -- app processes ------------------------------------------------------------------
    def start_app(self) -> None:
        for name in ("web1", "web2", *WORKERS, "cron"):
            self.start(name)

    def start(self, name: str) -> None:
        """Start one of the app's processes by its name."""
        self.generation += 1
        if name.startswith("web"):
            port = self.web_ports[int(name[-1]) - 1]
            command = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
                       "--threads", "4", "--timeout", "60", "app:create_app()"]
        elif name.startswith("worker"):
            self.rq_names[name] = f"chaos-{name}-{self.generation}"
            # SimpleWorker runs jobs in the worker process, which keeps one app for all of
            # them; the default forking worker builds the app again in every job's child
            # (seconds each on this shared machine). A SIGKILL stops the job either way.
            command = [str(BIN / "rq"), "worker", "--with-scheduler", "--url", self.redis_url,
                       "--worker-class", "rq.worker.SimpleWorker",
                       "--name", self.rq_names[name], *QUEUE_NAMES]
        else:
            command = [str(BIN / "rq"), "cron", "--url", self.redis_url,
                       "workers.cron_config"]
        self._spawn(name, command)

    def supervise(self) -> None:
        """Restart any process that died on its own (e.g. rq cron when Redis vanished)."""
        for name, proc in list(self.procs.items()):
            if proc.poll() is not None:
                self.restarts[name] = self.restarts.get(name, 0) + 1
                if name == "redis":
                    self.start_redis()
                else:
                    self.start(name)

    def kill_worker(self, wait: float) -> bool:
        """SIGKILL an RQ worker in the middle of a job (waiting up to `wait` seconds for
        one to be busy) and start it again; False when none was busy in time."""
        deadline = time.monotonic() + wait
        while (busy := self._busy_worker()) is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        self._kill(busy)
        self.start(busy)
        return True

    def _busy_worker(self) -> str | None:
        """The name of one of our workers that has a job in hand right now, if any."""
        client = redis.Redis.from_url(self.redis_url, socket_timeout=0.5,
                                      socket_connect_timeout=0.5)
        ours = {rq_name: name for name, rq_name in self.rq_names.items()}
        try:
            for worker in Worker.all(connection=client):
                name = ours.get(worker.name)
                if name in self.procs and worker.get_current_job_id():
                    return name
        except (redis.RedisError, OSError, ValueError):
            return None
        finally:
            client.close()
        return None

    # -- plumbing ---------------------------------------------------------------------
    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(self.logdir / f"{name}.log", "ab")  # noqa: SIM115 (the child keeps it)
        self.procs[name] = subprocess.Popen(command, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def _kill(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def stop(self) -> None:
        """SIGTERM everything, then SIGKILL what is left after 10 s."""
        for proc in self.procs.values():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        self.procs.clear()
