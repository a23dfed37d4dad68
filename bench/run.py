"""Load-test codboard the production way: gunicorn on a generated data set, driven by wrk.

    python -m bench.run [--quick] [--database-url URL] [--only NAME ...] [--compare-workers]

The database is --database-url, else BENCH_DATABASE_URL, else PostgreSQL's
`codboard_bench` when PostgreSQL answers on 127.0.0.1:5432, else SQLite. The data set
is built (or reused) by bench.generate; the server is gunicorn bound to 127.0.0.1 on
a free port; wrk drives each scenario of bench.scenarios from its own process. The
results go to bench/results/<UTC time>-<database>-<quick|full>.json.
"""

import argparse
import importlib.metadata
import json
import os
import platform
import random
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from workers.redis_server import PrivateRedis, free_port, redis_answers

from . import agents, dropship, generate, intake, mixed, shipping
from .report import render_markdown
from .scenarios import BY_NAME, LIST_MEMORY, MINIMAL, SCENARIOS, Scenario
from .shipping import stop_group

ROOT = generate.ROOT
BIN = Path(sys.executable).parent
RESULTS_DIR = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "paths.lua"
SECRET_KEY = "codboard-bench-fixed-secret-key"
# Flask-Login's session protection compares the user agent of every request with
# the login's: wrk and the login must send the same one.
USER_AGENT = "codboard-bench"
WARMUP_S = 2
FULL_S, QUICK_S = 10, 5
COMPARE_S = 8
WRK_TIMEOUT = "10s"
# Above this share of the machine used by other programs, a scenario's figures are flagged.
DISTURBED_CPU_PERCENT = 10
# The measurements that are not wrk scenarios (--only accepts them too).
EXTRAS = (*shipping.MEASUREMENTS, *intake.MEASUREMENTS, *dropship.MEASUREMENTS)
# Measurements run only when --only names them (the mixed load takes minutes).
ON_REQUEST = mixed.MEASUREMENTS
# With --wait-quiet, a scenario starts once the idle machine is less busy than this.
QUIET_PERCENT = 10


@dataclass(frozen=True)
class Gunicorn:
    """How the web server runs: worker class, processes and threads per process."""

    worker_class: str
    workers: int
    threads: int = 1

    @property
    def label(self) -> str:
        """e.g. "gthread 2×4"."""
        return f"{self.worker_class} {self.workers}×{self.threads}"

    def args(self) -> list[str]:
        """gunicorn's command-line options for these settings."""
        options = ["--worker-class", self.worker_class, "--workers", str(self.workers)]
        if self.worker_class == "gthread":
            options += ["--threads", str(self.threads)]
        return options


# Sync workers, twice the cores: pages are CPU-bound and threads of one process share
# the GIL; the spare workers absorb database waits. BENCHMARKS.md has the comparison.
DEFAULT_GUNICORN = Gunicorn("sync", 2 * (os.cpu_count() or 1), 1)
COMPARED = [Gunicorn("sync", 2, 1), Gunicorn("sync", 3, 1), Gunicorn("sync", 4, 1),
            Gunicorn("gthread", 2, 2), Gunicorn("gthread", 2, 4), Gunicorn("gthread", 4, 2)]


class RunError(Exception):
    """The benchmark cannot go on; the message says why."""


def say(message: str) -> None:
    """Progress line, flushed so it interleaves with the generator's."""
    print(f"[bench] {message}", flush=True)


# --- the server ------------------------------------------------------------------------


class Server:
    """A gunicorn serving codboard on 127.0.0.1, started and stopped by this process."""

    def __init__(self, database_url: str, redis_url: str, settings: Gunicorn) -> None:
        self.settings = settings
        self.database_url = database_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = generate.DATA_DIR / "gunicorn.log"
        self.command = [
            str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", *settings.args(),
            "--log-level", "warning", "--error-logfile", "-", "app:create_app()",
        ]
        self.env = {
            **os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "BENCH_ROUTES": "1", "SECRET_KEY": SECRET_KEY, "PYTHONUNBUFFERED": "1",
            # Plain http on 127.0.0.1: a Secure cookie would never come back.
            "SECURE_COOKIES": "0",
        }
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        generate.DATA_DIR.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- {datetime.now(UTC):%Y-%m-%d %H:%M:%S} {self.settings.label}\n"
                      .encode())
            # A session of its own: stopping it signals gunicorn and its workers only.
            self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RunError(f"gunicorn exited with code {self.proc.returncode}:\n"
                               f"{self.log_tail()}")
            try:
                requests.get(self.base + "/login", timeout=2)
                if len(self.worker_pids()) >= self.settings.workers:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RunError(f"gunicorn did not answer on {self.base} within 60 s")

    def __exit__(self, *exc_info) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        stop_group(proc)

    def log_tail(self, lines: int = 30) -> str:
        """The end of gunicorn's log."""
        try:
            return "".join(self.log_path.read_text(errors="replace").splitlines(True)[-lines:])
        except OSError:
            return ""

    def worker_pids(self) -> list[int]:
        """The worker processes: children of the master."""
        if self.proc is None:
            return []
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            return [int(pid) for pid in children.split()]
        except OSError:
            return []

    def rss(self) -> tuple[float, float]:
        """(master + workers, largest worker) resident memory in MB."""
        sizes = [_rss_kb(pid) for pid in self.worker_pids()]
        master = _rss_kb(self.proc.pid) if self.proc else 0
        return (master + sum(sizes)) / 1024, max(sizes, default=0) / 1024


def _rss_kb(pid: int) -> int:
    """VmRSS of a process in kB (0 once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler(threading.Thread):
    """Samples the server's memory every 0.25 s while a scenario runs; keeps the peaks."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.total = self.worker = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.sample()
            self._done.wait(0.25)

    def sample(self) -> None:
        total, worker = self.server.rss()
        self.total, self.worker = max(self.total, total), max(self.worker, worker)

    def stop(self) -> tuple[float, float]:
        """Stop sampling; one last sample after the load, then the peaks."""
        self._done.set()
        self.join()
        self.sample()
        return round(self.total, 1), round(self.worker, 1)


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    # user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    total = sum(ticks)
    return (total - ticks[3] - ticks[4]) / TICK, total / TICK


class CpuShare:
    """Who used the machine's CPU during a measured run: the server, the database, wrk,
    or anything else (another program on the machine makes the figures low and noisy).
    Without a server, for a measurement in this process (its share is "bench")."""

    def __init__(self, server: Server | None) -> None:
        self.server = server
        self.start = self._snapshot()

    def _snapshot(self) -> dict[str, float]:
        """CPU seconds used so far by the machine and by the processes of interest."""
        busy, total = cpu_seconds()
        server_pids = {self.server.proc.pid, *self.server.worker_pids()} if self.server else set()
        server = database = 0.0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                raw = (entry / "stat").read_text()
            except OSError:
                continue
            comm = raw[raw.index("(") + 1:raw.rindex(")")]
            rest = raw[raw.rindex(")") + 2:].split()
            used = (int(rest[11]) + int(rest[12])) / TICK
            if int(entry.name) in server_pids:
                server += used
            elif comm == "postgres":
                database += used
        # wrk is a reaped child by the time the run ends; this process samples memory.
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = resource.getrusage(resource.RUSAGE_SELF)
        return {"busy": busy, "total": total, "server": server, "database": database,
                "wrk": children.ru_utime + children.ru_stime, "bench": me.ru_utime + me.ru_stime}

    def stop(self) -> dict[str, float]:
        """Each share in % of the whole machine (all cores) since the start."""
        end = self._snapshot()
        delta = {k: end[k] - self.start[k] for k in end}
        capacity = max(delta.pop("total"), 1e-9) / 100
        busy = delta.pop("busy")
        shares = {k: round(max(v, 0) / capacity, 1) for k, v in delta.items()}
        shares["other"] = round(max(busy - sum(delta.values()), 0) / capacity, 1)
        shares["idle"] = round(max(100 - busy / capacity, 0), 1)
        return shares


def machine_busy(seconds: float = 1.0) -> float:
    """Share of the whole machine's CPU in use over the next seconds, in %."""
    busy0, total0 = cpu_seconds()
    time.sleep(seconds)
    busy1, total1 = cpu_seconds()
    return 100 * (busy1 - busy0) / max(total1 - total0, 1e-9)


def wait_for_quiet(limit: float) -> None:
    """Before a scenario, wait up to limit seconds for other programs to leave the CPU."""
    deadline = time.monotonic() + limit
    busy = machine_busy()
    if busy < QUIET_PERCENT:
        return
    say(f"the machine is {busy:.0f}% busy before the load starts; waiting up to {limit:.0f} s")
    while busy >= QUIET_PERCENT and time.monotonic() < deadline:
        busy = machine_busy(2.0)
    if busy >= QUIET_PERCENT:
        say(f"still {busy:.0f}% busy; measuring anyway")


def login(base: str, username: str) -> str:
    """Log in through the form, as a browser does; returns the session cookie."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    page = session.get(f"{base}/login", timeout=10)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    if not match:
        raise RunError(f"GET /login answered {page.status_code} without a CSRF token")
    answer = session.post(
        f"{base}/login", allow_redirects=False, timeout=30,
        data={"csrf_token": match.group(1), "username": username, "password": generate.PASSWORD},
    )
    cookie = session.cookies.get("session")
    if answer.status_code not in (302, 303) or not cookie:
        raise RunError(f"logging in as {username} answered {answer.status_code}")
    return cookie


# --- load -------------------------------------------------------------------------------


def wrk_binary() -> str:
    """wrk's path, or a clear exit when it is not installed."""
    found = shutil.which("wrk")
    if not found:
        print("bench: wrk is not installed; install it with: apt-get install wrk",
              file=sys.stderr)
        raise SystemExit(1)
    return found


def run_wrk(wrk: str, base: str, paths_file: Path, seconds: int, clients: int,
            cookie: str | None, lua: Path = LUA, threads: int | None = None,
            env: dict | None = None, headers: tuple[str, ...] = ()) -> dict:
    """One wrk run; its figures, parsed."""
    command = [wrk, f"-t{threads or min(2, clients)}", f"-c{clients}", f"-d{seconds}s",
               "--latency", "--timeout", WRK_TIMEOUT, "-s", str(lua),
               "-H", f"User-Agent: {USER_AGENT}"]
    for header in headers:
        command += ["-H", header]
    if cookie:
        command += ["-H", f"Cookie: session={cookie}"]
    command += [base + "/", "--", str(paths_file)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise RunError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout}")
    return parse_wrk(done.stdout)


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(value: str) -> float:
    """wrk's "1.23ms" / "850.00us" / "1.02s" as milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", value).groups()
    return round(float(number) * UNITS_MS[unit], 3)


def parse_wrk(output: str) -> dict:
    """Requests/s, the latency distribution, socket errors and non-2xx from wrk's output."""
    figures: dict = {"percentiles_ms": {}, "output": output}
    for pct, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.M):
        figures["percentiles_ms"][pct] = _ms(value)
    requests_line = re.search(r"(\d+) requests in ([\d.]+\w+)", output)
    figures["requests"] = int(requests_line.group(1)) if requests_line else 0
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    figures["rps"] = round(float(rps.group(1)), 1) if rps else 0.0
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    figures["socket_errors"] = dict(zip(
        ("connect", "read", "write", "timeout"),
        (int(v) for v in sockets.groups()) if sockets else (0, 0, 0, 0), strict=True))
    status = re.search(r"bench-status non2xx=(\d+) codes=(\S*)", output)
    figures["non_2xx"] = int(status.group(1)) if status else 0
    figures["status_codes"] = dict(
        (code, int(count)) for code, count in
        (part.split(":") for part in (status.group(2).split(",") if status else []) if part)
    )
    if not status:
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        figures["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    return figures


def probe(base: str, paths: list[str], cookie: str | None,
          extra: tuple[str, ...] = (), expect: str | None = None) -> str | None:
    """Why the first paths cannot be benchmarked (a missing route, an error, an answer
    without the `expect`ed text such as a language's <html lang>), or None."""
    headers = {"User-Agent": USER_AGENT,
               **dict(h.split(": ", 1) for h in extra)}
    cookies = {"session": cookie} if cookie else None
    for path in paths[:3]:
        try:
            answer = requests.get(base + path, headers=headers, cookies=cookies, timeout=60,
                                  allow_redirects=False)
        except requests.RequestException as exc:
            return f"GET {path} failed: {exc}"
        if answer.status_code == 404:
            return f"GET {path} answered 404: the route is not there yet"
        if not 200 <= answer.status_code < 300:
            where = answer.headers.get("Location", "")
            return (f"GET {path} answered {answer.status_code}"
                    + (f" (to {where})" if where else "")
                    + (f"; see {generate.DATA_DIR / 'gunicorn.log'}"
                       if answer.status_code >= 500 else ""))
        if expect and expect not in answer.text:
            return f"GET {path} answered without {expect!r}"
    return None


def run_scenario(scenario: Scenario, server: Server, wrk: str, paths: list[str],
                 cookie: str | None, seconds: int, quiet: float = 0) -> dict:
    """Warm up, then measure one scenario; its figures and whether it failed."""
    result: dict = {
        "name": scenario.name, "description": scenario.description, "role": scenario.role,
        "concurrency": scenario.concurrency, "baseline": scenario.baseline,
        "distinct_paths": len(set(paths)), "example_path": paths[0] if paths else None,
    }
    wrk_options: dict = {}
    webhook_since = time.time()
    if scenario.kind == "agents":
        cookie = None
        sessions_file = generate.DATA_DIR / "paths" / f"{scenario.name}.sessions"
        agents.top_up_stock(server.database_url)
        agents.write_sessions(sessions_file, agents.sessions(
            server.base, scenario.concurrency, USER_AGENT))
        wrk_options = {"lua": agents.LUA, "threads": scenario.concurrency,
                       "env": {"BENCH_AGENTS_FILE": str(sessions_file)}}
    elif scenario.kind == "webhook":
        cookie = None
        reason = shipping.probe_webhook(server.base, USER_AGENT)
        if reason:
            shipping.finish_webhook(server.database_url, server.env["REDIS_URL"],
                                    webhook_since, [])
            return {**result, "status": "failed", "reason": reason}
        warmup_file, paths_file = shipping.prepare_webhook(generate.DATA_DIR / "paths",
                                                           server.database_url)
        outputs: list[str] = []
        try:
            return _measured(scenario, server, wrk, paths_file, cookie, seconds, quiet,
                             result, shipping.webhook_wrk_options(), warmup_file, outputs)
        finally:
            # Rows stored vs answers, then the rows and the enqueued jobs are deleted.
            result["webhook"] = shipping.finish_webhook(
                server.database_url, server.env["REDIS_URL"], webhook_since, outputs)
    elif scenario.kind == "api_orders":
        outputs: list[str] = []
        api, reason = intake.start_api(server.database_url, generate.DATA_DIR / "paths",
                                       server.base, USER_AGENT)
        try:
            if reason is None:
                _measured(scenario, server, wrk, api.file, None, seconds, quiet, result,
                          api.wrk_options(), api.warmup_file, outputs)
        finally:
            # Orders stored vs 201 answers, then the orders and the key are deleted.
            result["api_orders"] = intake.finish_api(server.database_url, api, outputs)
        return intake.judge_api({**result, "status": "failed", "reason": reason} if reason
                                else result)
    else:
        reason = probe(server.base, paths, cookie, scenario.headers, scenario.expect)
        if scenario.headers:
            wrk_options = {"headers": scenario.headers}
        if reason:
            return {**result, "status": "failed", "reason": reason}
    paths_file = generate.DATA_DIR / "paths" / f"{scenario.name}.txt"
    paths_file.parent.mkdir(parents=True, exist_ok=True)
    paths_file.write_text("\n".join(paths) + "\n")
    return _measured(scenario, server, wrk, paths_file, cookie, seconds, quiet, result,
                     wrk_options)


def _measured(scenario: Scenario, server: Server, wrk: str, paths_file: Path,
              cookie: str | None, seconds: int, quiet: float, result: dict,
              wrk_options: dict, warmup_file: Path | None = None,
              outputs: list[str] | None = None) -> dict:
    """Warm-up and measured wrk runs of a prepared scenario, and their figures; wrk's
    output of both goes to `outputs` when given."""
    if quiet:
        wait_for_quiet(quiet)
    warm = run_wrk(wrk, server.base, warmup_file or paths_file, WARMUP_S,
                   scenario.concurrency, cookie, **wrk_options)
    if outputs is not None:
        outputs.append(warm["output"])
    sampler = RssSampler(server)
    sampler.start()
    cpu = CpuShare(server)
    started = datetime.now(UTC).replace(tzinfo=None)
    try:
        figures = run_wrk(wrk, server.base, paths_file, seconds, scenario.concurrency, cookie,
                          **wrk_options)
    finally:
        rss_total, rss_worker = sampler.stop()
    if outputs is not None:
        outputs.append(figures["output"])
    if scenario.kind == "agents":
        result["claims"], result["double_claims"] = agents.claims_since(
            server.database_url, started)
        # At most one per agent: its stale card when the run began (bench/agents.lua).
        result["conflicts"] = agents.conflicts(figures["output"])
    result["cpu_percent"] = cpu.stop()
    result["disturbed"] = result["cpu_percent"]["other"] > DISTURBED_CPU_PERCENT
    pct = figures["percentiles_ms"]
    errors = figures["non_2xx"] + sum(figures["socket_errors"].values())
    result.update(
        status="ok", rps=figures["rps"], requests=figures["requests"],
        p50_ms=pct.get("50"), p75_ms=pct.get("75"), p90_ms=pct.get("90"), p99_ms=pct.get("99"),
        errors=errors, non_2xx=figures["non_2xx"], status_codes=figures["status_codes"],
        socket_errors=figures["socket_errors"], rss_mb=rss_total, rss_worker_max_mb=rss_worker,
    )
    if None in (result["p50_ms"], result["p99_ms"]):
        # Keep what wrk said, to see why its latency distribution could not be read.
        result["wrk_output"] = figures["output"]
    if result.get("double_claims"):
        result.update(status="failed",
                      reason=f"{result['double_claims']} orders were claimed twice")
    elif result.get("conflicts", 0) > scenario.concurrency:
        result.update(status="failed", reason=f"{result['conflicts']} outcomes answered 409, "
                      "more than one stale card per agent")
    elif errors or not figures["requests"] or None in (result["p50_ms"], result["p99_ms"]):
        codes = ", ".join(f"{c}×{n}" for c, n in figures["status_codes"].items())
        sockets = ", ".join(f"{k} {v}" for k, v in figures["socket_errors"].items() if v)
        result.update(status="failed", reason="; ".join(filter(None, [
            f"{figures['non_2xx']} non-2xx answers ({codes})" if figures["non_2xx"] else "",
            f"socket errors: {sockets}" if sockets else "",
            "no request completed" if not figures["requests"] else "",
            "no latency distribution in wrk's output" if result["p99_ms"] is None else "",
        ])))
    return result


def add_ratios(results: list[dict]) -> None:
    """Each scenario's req/s over both baselines', and its verdict when it has targets."""
    by_name = {r["name"]: r for r in results}

    def rps(name: str) -> float | None:
        found = by_name.get(name)
        return found["rps"] if found and found["status"] == "ok" and found["rps"] else None

    for result in results:
        own = result.get("rps") if result["status"] == "ok" else None
        for key, name in (("ratio_minimal", MINIMAL), ("ratio_list_memory", LIST_MEMORY)):
            base = rps(name)
            result[key] = round(own / base, 3) if own and base else None
        # A baseline of its own (Order History's in-memory render): that ratio too.
        own_baseline = result.get("baseline")
        if own_baseline and own_baseline not in (MINIMAL, LIST_MEMORY):
            base = rps(own_baseline)
            result["ratio_baseline"] = round(own / base, 3) if own and base else None
        result["verdict"] = verdict(result)


def verdict(result: dict) -> str | None:
    """Pass/fail against the scenario's targets; "not measured yet" when it could not run."""
    scenario = next((s for s in SCENARIOS if s.name == result["name"]), None)
    if scenario is None or not scenario.has_target:
        return None
    targets = []
    if scenario.min_ratio is not None:
        targets.append(f"≥ {scenario.min_ratio} × {scenario.baseline}")
    if scenario.max_p99_ms is not None:
        targets.append(f"p99 < {scenario.max_p99_ms:g} ms")
    result["target"] = ", ".join(targets)
    if result["status"] != "ok":
        return f"not measured yet ({result['reason']})"
    misses = []
    key = None
    if scenario.min_ratio is not None:
        key = {MINIMAL: "ratio_minimal", LIST_MEMORY: "ratio_list_memory"}.get(
            scenario.baseline, "ratio_baseline")
        ratio = result.get(key)
        if ratio is None:
            return f"not measured yet ({scenario.baseline} did not run)"
        if ratio < scenario.min_ratio:
            misses.append(f"{ratio:.2f} × baseline")
    if scenario.max_p99_ms is not None and result["p99_ms"] >= scenario.max_p99_ms:
        misses.append(f"p99 {result['p99_ms']:.0f} ms")
    if misses:
        return "FAIL: " + ", ".join(misses)
    # The two usual ratios have columns of their own; another baseline's is said here.
    return f"pass ({ratio:.2f} × baseline)" if key == "ratio_baseline" else "pass"


# --- what the results say about the machine --------------------------------------------------


def machine() -> dict:
    """Cores, memory and CPU model."""
    info = {"cores": os.cpu_count(), "kernel": platform.release()}
    try:
        meminfo = Path("/proc/meminfo").read_text()
        kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
        info["memory_gb"] = round(kb / 1024 / 1024, 1)
        cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        info["cpu"] = cpu.group(1).strip() if cpu else platform.processor()
    except OSError:
        pass
    return info


def versions(database_url: str, wrk: str) -> dict:
    """Python, the libraries that serve a request, the database server and wrk."""
    found = {"python": platform.python_version()}
    for package in ("flask", "sqlalchemy", "gunicorn", "jinja2", "werkzeug", "psycopg"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    found["sqlite"] = sqlite3.sqlite_version
    if database_url.startswith("postgresql"):
        engine = create_engine(database_url)
        try:
            with engine.connect() as conn:
                found["postgresql"] = conn.execute(text("SHOW server_version")).scalar()
                found["postgresql_shared_buffers"] = conn.execute(
                    text("SHOW shared_buffers")).scalar()
        finally:
            engine.dispose()
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    found["wrk"] = (done.stdout or done.stderr).split("[")[0].replace("wrk", "").strip()
    return found


def git_revision() -> str | None:
    """The commit measured, marked +dirty when the tree has changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, text=True,
                               capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


# --- the run ---------------------------------------------------------------------------------


def scenario_paths(database_url: str, scenarios: list[Scenario]) -> dict[str, list[str]]:
    """Every scenario's request paths, read from the benchmark database (same seed, same paths)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {s.name: s.paths(conn, random.Random(f"paths:{s.name}")) for s in scenarios}
    finally:
        engine.dispose()


def line(result: dict) -> str:
    """One scenario's figures on one line."""
    if result["status"] != "ok" and "rps" not in result:
        return f"{result['name']:<26} FAILED: {result['reason']}"

    def num(value, spec: str) -> str:
        return format(value, spec) if value is not None else "n/a"

    text_ = (f"{result['name']:<26} {num(result['rps'], '>8.1f')} req/s"
             f"  p50 {num(result['p50_ms'], '>7.2f')} ms  p99 {num(result['p99_ms'], '>7.2f')} ms"
             f"  errors {result['errors']}"
             f"  RSS {result['rss_mb']:.0f} MB (worker max {result['rss_worker_max_mb']:.0f})"
             f"  × minimal {num(result.get('ratio_minimal'), '.2f')}"
             f"  × list-memory {num(result.get('ratio_list_memory'), '.2f')}"
             + (f"  × {result['baseline']} {num(result['ratio_baseline'], '.2f')}"
                if "ratio_baseline" in result else "")
             + f"  other CPU {result['cpu_percent']['other']:.0f}%"
             + ("  (DISTURBED: other programs were busy)" if result["disturbed"] else ""))
    if "double_claims" in result:
        text_ += (f"  claims {result['claims']}, double claims {result['double_claims']},"
                  f" conflicts (409) {result.get('conflicts', 0)}")
    if result.get("webhook"):
        hooks = result["webhook"]
        text_ += (f"  stored {hooks['stored_rows']} rows for {hooks['accepted_202']} × 202,"
                  f" {hooks['duplicates_200']} × 200 duplicate")
    if result.get("api_orders"):
        text_ += "  " + intake.api_note(result)
    if result["status"] != "ok":
        text_ += f"  FAILED: {result['reason']}"
    return text_


def measure(server: Server, wrk: str, scenarios: list[Scenario], paths: dict[str, list[str]],
            seconds: int, quiet: float = 0) -> list[dict]:
    """Run the scenarios in order on one server, printing each as it completes."""
    cookies: dict[str, str] = {}
    results: list[dict] = []
    for scenario in scenarios:
        cookie = None
        if scenario.role:
            if scenario.role not in cookies:
                cookies[scenario.role] = login(server.base, generate.LOGINS[scenario.role])
            cookie = cookies[scenario.role]
        result = run_scenario(scenario, server, wrk, paths[scenario.name], cookie, seconds,
                              quiet)
        results.append(result)
        add_ratios(results)
        say(line(result))
    return results


def start_redis(stack: list) -> str:
    """The Redis at REDIS_URL when it answers, else a private one stopped at the end."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if redis_answers(url):
        return url
    server = PrivateRedis(datadir=str(generate.DATA_DIR / "redis")).start()
    stack.append(server)
    say(f"no Redis at {url}; started a private one at {server.url}")
    return server.url


def chosen(only: list[str] | None) -> tuple[list[Scenario], list[str]]:
    """The wrk scenarios (the two baselines always, and any other baseline a chosen
    scenario is compared to) and the other measurements to run."""
    if not only:
        return list(SCENARIOS), list(EXTRAS)
    unknown = set(only) - {s.name for s in SCENARIOS} - set(EXTRAS) - set(ON_REQUEST)
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    baselines = {MINIMAL, LIST_MEMORY} | {BY_NAME[n].baseline for n in only if n in BY_NAME}
    return ([s for s in SCENARIOS if s.name in only or s.name in baselines],
            [m for m in (*EXTRAS, *ON_REQUEST) if m in only])


def main(argv: list[str] | None = None) -> int:
    """Parse the options, build or reuse the data, serve, load, and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="100,000 orders and 5 s per scenario (also QUICK=1)")
    parser.add_argument("--database-url", help="SQLAlchemy URL of the benchmark database")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these scenarios "
                        "or measurements (" + ", ".join((*EXTRAS, *ON_REQUEST)) + "); the "
                        "baselines always run, for the ratios")
    parser.add_argument("--seconds", type=int, help="measured seconds per scenario")
    parser.add_argument("--compare-workers", action="store_true",
                        help="measure several gunicorn settings instead of the scenarios")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="before each scenario, wait up to this long for other programs "
                        "to leave the CPU (for shared machines)")
    parser.add_argument("--worker-class", choices=("sync", "gthread"))
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args(argv)

    started = time.monotonic()
    quick = args.quick or generate.env_flag("QUICK")
    wrk = wrk_binary()
    n = generate.default_n(quick)
    database_url = args.database_url or generate.default_database_url(n)
    kind = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    seconds = args.seconds or (QUICK_S if quick else FULL_S)
    worker_class = args.worker_class or DEFAULT_GUNICORN.worker_class
    threads = args.threads or (
        DEFAULT_GUNICORN.threads if worker_class == DEFAULT_GUNICORN.worker_class else 4)
    settings = Gunicorn(worker_class, args.workers or DEFAULT_GUNICORN.workers, threads)
    try:
        scenarios, extras = chosen(args.only)
    except ValueError as exc:
        parser.error(str(exc))

    say(f"{kind}, {n:,} orders, {'quick' if quick else 'full'} run")
    try:
        data = generate.ensure(database_url, n)
        # Supplier orders for Order History and bulk Process, added once to the data set.
        topup = dropship.ensure(database_url, n)
    except (generate.GenerateError, dropship.TopUpError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    parsed = generate.normalized_url(database_url)
    url = parsed.render_as_string(hide_password=False)
    report = {
        "date": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "database": {"kind": kind, "url": parsed.render_as_string(hide_password=True),
                     "orders": n},
        "mode": "quick" if quick else "full", "seconds_per_scenario": seconds,
        "warmup_seconds": WARMUP_S, "machine": machine(), "versions": versions(url, wrk),
        "revision": git_revision(),
        "data": {key: data.get(key) for key in (
            "cached", "seconds", "build_seconds", "built_at", "head", "as_of", "rows_orders",
            "rows_order_lines", "rows_audit_events")},
    }
    if data.get("timings"):
        report["data"]["timings"] = json.loads(data["timings"])
    report["data"]["dropship"] = topup
    stack: list = []
    try:
        redis_url = start_redis(stack)
        if shipping.needs_restore(url):
            say(f"a shipping measurement's changes were left in the data set; restored: "
                f"{shipping.restore(url, vacuum=True)}")
        if intake.needs_restore(url):
            say(f"an intake measurement's orders were left in the data set; restored: "
                f"{intake.restore(url, vacuum=True)}")
        if dropship.needs_restore(url):
            say(f"a dropship measurement's rows were left in the data set; restored: "
                f"{dropship.restore(url, vacuum=True)}")
        if args.compare_workers:
            report["worker_comparison"] = compare_workers(url, redis_url, wrk, args.wait_quiet)
        else:
            measurements = report["measurements"] = []
            if shipping.EVENTS in extras:
                measurements.append(shipping.measure_events(url, n))
                say(shipping.line(measurements[-1]))
            if intake.CSV in extras:
                measurements.append(intake.measure_csv(url, n, lambda: CpuShare(None)))
                say(intake.line(measurements[-1]))
            paths = scenario_paths(url, scenarios)
            with Server(url, redis_url, settings) as server:
                report["gunicorn"] = {**settings.__dict__, "command": " ".join(server.command[1:])}
                say(f"gunicorn {settings.label} on {server.base}; {seconds} s per scenario "
                    f"after {WARMUP_S} s of warm-up")
                report["scenarios"] = measure(server, wrk, scenarios, paths, seconds,
                                              args.wait_quiet)
            if shipping.LATENCY in extras:
                # Its own gunicorn (same settings, the sandbox on), rq worker and Redis.
                measurements.append(shipping.measure_desk_latency(
                    url, lambda redis: Server(url, redis, settings), login, USER_AGENT))
                say(shipping.line(measurements[-1]))
            if dropship.BULK in extras:
                # Its own gunicorn (same settings, the sandbox on), rq worker and Redis.
                measurements.append(dropship.measure_bulk(
                    url, lambda redis: Server(url, redis, settings), USER_AGENT))
                say(dropship.line(measurements[-1]))
            if mixed.MIXED in extras:
                # Its own gunicorn (same settings, the sandbox on), rq worker, rq cron, Redis.
                measurements.append(mixed.measure(
                    url, lambda redis: Server(url, redis, settings), quick))
                say(mixed.line(measurements[-1]))
                print(mixed.markdown(measurements[-1]))
    except RunError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in stack:
            server.stop()
    report["total_seconds"] = round(time.monotonic() - started, 1)
    path = write_results(report, kind)
    print()
    print(render_markdown(report))
    say(f"results: {path.relative_to(ROOT)}; total {report['total_seconds']} s")
    disturbed = [s["name"] for s in report.get("scenarios", []) if s.get("disturbed")]
    if disturbed:
        say(f"other programs used over {DISTURBED_CPU_PERCENT}% of the CPU during "
            f"{', '.join(disturbed)}: run again on a quiet machine before trusting them")
    failed = [s["name"] for s in [*report.get("scenarios", []), *report.get("measurements", [])]
              if s["status"] != "ok"]
    if failed:
        say(f"failed: {', '.join(failed)}")
        return 1
    return 0


def compare_workers(url: str, redis_url: str, wrk: str, quiet: float) -> list[dict]:
    """Both baselines and two database pages under several gunicorn settings, to choose
    DEFAULT_GUNICORN."""
    names = [MINIMAL, LIST_MEMORY, "orders_list", "order_detail"]
    chosen = [s for s in SCENARIOS if s.name in names]
    paths = scenario_paths(url, chosen)
    rows = []
    for settings in COMPARED:
        with Server(url, redis_url, settings) as server:
            results = measure(server, wrk, chosen, paths, COMPARE_S, quiet)
        row = {"settings": settings.label, **settings.__dict__}
        for result in results:
            row[result["name"]] = {k: result.get(k) for k in (
                "status", "rps", "p50_ms", "p99_ms", "rss_mb", "reason", "cpu_percent")}
        rows.append(row)
        say(f"{settings.label}: " + ", ".join(
            f"{r['name']} {r['rps']:.0f} req/s p99 {r['p99_ms']:.1f} ms" if r["status"] == "ok"
            else f"{r['name']} failed" for r in results))
    return rows


def write_results(report: dict, kind: str) -> Path:
    """bench/results/<UTC time>-<database>-<mode>.json, written whole or not at all."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    mode = "workers" if "worker_comparison" in report else report["mode"]
    path = RESULTS_DIR / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{kind}-{mode}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


if __name__ == "__main__":
    sys.exit(main())
