"""An open-loop load generator: requests leave on a schedule, whatever the server's pace.

wrk is closed-loop (a client sends its next request when the last one answered), so a
slow server slows the load down and hides its own queue. Here every task has a due time;
a scheduler thread hands due tasks to a pool of threads that make the request with
http.client (one connection per request, as gunicorn's sync workers close each one).
A request's latency is counted from its due time, so time spent waiting for a free
thread (the generator falling behind) is charged too; that lag is reported on its own.
"""

import heapq
import http.client
import itertools
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

TIMEOUT_S = 10.0


@dataclass
class Answer:
    """What the server said (status 0: no answer, e.g. a timeout)."""

    status: int
    body: str


class Client:
    """One user's session: a cookie, its CSRF token and the headers a browser sends."""

    def __init__(self, host: str, port: int, cookie: str | None = None,
                 csrf: str | None = None, user_agent: str = "codboard-bench") -> None:
        self.host, self.port = host, port
        self.headers = {"User-Agent": user_agent}
        if cookie:
            self.headers["Cookie"] = f"session={cookie}"
        if csrf:
            self.headers["X-CSRFToken"] = csrf

    def call(self, method: str, path: str, body: bytes | str | None = None,
             headers: dict | None = None) -> Answer:
        """One request on a new connection."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_S)
        try:
            conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            answer = conn.getresponse()
            return Answer(answer.status, answer.read().decode("utf-8", "replace"))
        except (OSError, http.client.HTTPException):
            return Answer(0, "")
        finally:
            conn.close()


@dataclass
class Task:
    """Something that makes one request when due; `fire` returns (route, status).

    A task with a period is rescheduled by the clock (open loop); one without is
    rescheduled by `after` once its answer is in (an agent thinks after reading it).
    """

    fire: Callable[[], tuple[str, int]]
    period: float | None = None
    after: Callable[[float], float | None] | None = None


def percentile(values: list[float], pct: float) -> float | None:
    """The nearest-rank percentile of the values (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


class Tally:
    """Latencies and answers per route, for the requests due inside the measured window."""

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.codes: dict[str, Counter] = defaultdict(Counter)
        self.lag: list[float] = []
        self._lock = threading.Lock()

    def add(self, route: str, due: float, sent: float, done: float, status: int) -> None:
        if not self.start <= due < self.end:
            return
        with self._lock:
            self.latency[route].append((done - due) * 1000)
            self.codes[route][status] += 1
            self.lag.append((sent - due) * 1000)

    def routes(self, seconds: float, expected: Callable[[str, int], bool]) -> dict[str, dict]:
        """Per route: requests, req/s, p50/p99 ms, errors (answers `expected` refuses)."""
        found = {}
        for route in sorted(self.latency):
            latency, codes = self.latency[route], self.codes[route]
            errors = sum(n for code, n in codes.items() if not expected(route, code))
            found[route] = {
                "requests": len(latency), "rps": round(len(latency) / seconds, 2),
                "p50_ms": round(percentile(latency, 50), 1),
                "p99_ms": round(percentile(latency, 99), 1),
                "max_ms": round(max(latency), 1), "errors": errors,
                "codes": {str(code): n for code, n in sorted(codes.items())},
            }
        return found


class Schedule:
    """The scheduler thread and the request threads of one run."""

    def __init__(self, tally: Tally, threads: int) -> None:
        self.tally = tally
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="load")
        self._heap: list = []
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False

    def at(self, due: float, task: Task) -> None:
        """Run the task at `due` (time.monotonic())."""
        with self._wake:
            heapq.heappush(self._heap, (due, next(self._seq), task))
            self._wake.notify()

    def run_until(self, end: float, at_times: dict[float, Callable[[], None]] | None = None
                  ) -> None:
        """Hand due tasks to the threads until `end`; then let the requests in flight finish.
        `at_times` are callbacks run by this thread when their time comes (e.g. a CPU
        snapshot at the start of the measured window)."""
        hooks = sorted((at_times or {}).items())
        while True:
            now = time.monotonic()
            while hooks and hooks[0][0] <= now:
                hooks.pop(0)[1]()
            if now >= end:
                break
            with self._wake:
                if not self._heap or self._heap[0][0] > now:
                    wait = min([end - now, *(h[0] - now for h in hooks[:1])]
                               + ([self._heap[0][0] - now] if self._heap else []))
                    self._wake.wait(max(wait, 0.0005))
                    continue
                due, _, task = heapq.heappop(self._heap)
            if task.period:
                self.at(due + task.period, task)
            self.pool.submit(self._fire, task, due)
        for _, hook in hooks:
            hook()
        with self._wake:
            self._stopped = True
            self._heap.clear()
        self.pool.shutdown(wait=True)

    def _fire(self, task: Task, due: float) -> None:
        sent = time.monotonic()
        route, status = task.fire()
        done = time.monotonic()
        self.tally.add(route, due, sent, done, status)
        if task.after is not None:
            following = task.after(done)
            with self._wake:
                if following is None or self._stopped:
                    return
            self.at(following, task)
