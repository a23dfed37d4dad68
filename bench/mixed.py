"""Mixed load: the whole team at once, as production sees it, in an open loop.

    make bench BENCH_ARGS="--only mixed"          (QUICK=1 for the short version)
    python -m bench.mixed --database-url URL [--quick] [--steps 0 250 …] [--seconds S]
        (the same on a data set already built, never rebuilt)

Its own gunicorn (the runner's settings, the sandbox on), one `rq worker` on every queue
and one `rq cron` (the production pair: the carrier sync every SYNC_S seconds against
the sandbox carrier, registrations of confirmed parcels, webhooks applied), on a private
Redis. The load, on a schedule (bench/openloop.py), per step:

- N agents, each with a session of their own: Next call, then every THINK_S seconds
  after reading the card, the outcome of the call they hold (answered with the next card);
- OPERATORS operators at the shipping desk: the desk list by status every DESK_LIST_S
  seconds and a packing scan every DESK_SCAN_S seconds;
- MANAGERS wall boards polling the status board's and the money board's live block every
  BOARD_POLL_S seconds;
- WEBHOOKS_PER_S signed carrier webhooks a second to the real webhook endpoint;
- the minimal route twice a second: the server's floor under the same load.

Steps of agents (0 first: the baseline, everything but the agents), each warmed up then
measured for a bounded time; the run stops at the first step where a route's p99 reaches
P99_LIMIT_MS (or more than 1 % of its answers are errors). It changes the data set the way
agent_action does (claims, outcomes, stock), adds the agent logins `mix0001`… (password
`bench`, a cheap hash so thousands can log in; only the step's team are agents, since the
status board lists every agent, the others wait as operators), packs scanned orders, and
registers parcels at the sandbox; the carrier's base_url is put back and its webhook rows
deleted afterwards.
"""

import itertools
import os
import random
import re
import resource
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests
from sqlalchemy import MetaData, Table, create_engine, insert, select, text

from . import agents as agents_bench
from . import generate, shipping
from .openloop import Client, Schedule, Tally, Task

MIXED = "mixed"
MEASUREMENTS = (MIXED,)
P99_LIMIT_MS = 100.0
MAX_ERROR_SHARE = 0.01
GOAL_AGENTS = 2000
THINK_S = 20.0
BOARD_POLL_S = 5.0
MANAGERS = 10
OPERATORS = 5
DESK_LIST_S = 15.0
# 5,500 orders a day at 1,000,000 over 180 days: ~0.06 packing scans and ~0.35 carrier
# events a second on average; these are a busy hour's, several times that.
DESK_SCAN_S = 20.0
WEBHOOKS_PER_S = 2.0
PROBE_S = 0.5
SYNC_S = 30
THREADS = 128
LOGIN_THREADS = 6
DRAIN_BOUND_S = 300.0
AGENT_PREFIX = "mix"
# Cheap on purpose: thousands of logins must not take the run's time (the app checks any
# werkzeug hash).
CHEAP_HASH_METHOD = "pbkdf2:sha256:1000"
USER_AGENT = "codboard-bench"

NEXT, OUTCOME = "agent_next_call", "agent_outcome"
STATUS_POLL, MONEY_POLL = "status_board_poll", "money_board_poll"
DESK_LIST, DESK_SCAN = "desk_list", "desk_scan"
WEBHOOK, FLOOR = "carrier_webhook", "baseline_minimal"
# Answers that are the app working as meant: an outcome for a card that changed meanwhile,
# a scan of an order someone (or the sync) moved first.
CONFLICT_ROUTES = {OUTCOME, DESK_SCAN}

OUTCOMES = ("outcome=confirmed", "outcome=no_answer", "outcome=confirmed",
            "outcome=canceled&reason=Changed+their+mind", "outcome=no_answer",
            "outcome=call_later&callback=1h", "outcome=confirmed", "outcome=fake&reason=Prank")
CARD = re.compile(r'data-order="(\d+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
CSRF = re.compile(r'"X-CSRFToken": "([^"]+)"')
FORM = {"Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true"}
HTMX = {"HX-Request": "true"}
DESK_STATUSES = ("created", "fulfilled", "shipped", "package_issue")
HOOK_CODES = ("PICKED_UP", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED")


@dataclass(frozen=True)
class Plan:
    """Agent counts to step through and the time each step takes."""

    steps: tuple[int, ...]
    warmup_s: float
    measure_s: float


FULL = Plan((0, 100, 250, 500, 1000, 2000, 3000, 4000), 25.0, 60.0)
QUICK = Plan((0, 50, 100, 200), 8.0, 15.0)


def say(message: str) -> None:
    """Progress line."""
    print(f"[bench] {MIXED}: {message}", flush=True)


def expected(route: str, status: int) -> bool:
    """An answer that is not an error (conflicts are counted apart)."""
    return 200 <= status < 300 or (status == 409 and route in CONFLICT_ROUTES)


# --- the people ------------------------------------------------------------------------------


class Agent:
    """An agent on the call screen: Next call when idle, else the held call's outcome."""

    def __init__(self, client: Client, index: int) -> None:
        self.client, self.n = client, index
        self.card: tuple[str, str] | None = None
        self.idle = 0

    def fire(self) -> tuple[str, int]:
        if self.card is None:
            route, answer = NEXT, self.client.call("POST", "/calls/next", b"", FORM)
        else:
            order_id, version = self.card
            self.n += 1
            body = f"version={version}&{OUTCOMES[self.n % len(OUTCOMES)]}"
            route = OUTCOME
            answer = self.client.call("POST", f"/calls/{order_id}/outcome", body, FORM)
        order, version = CARD.search(answer.body), VERSION.search(answer.body)
        self.card = (order.group(1), version.group(1)) if order and version else None
        if self.card is None and 200 <= answer.status < 300:
            self.idle += 1
        return route, answer.status

    def after(self, done: float) -> float:
        """The next click comes after the call: THINK_S after the card was shown."""
        return done + THINK_S


def periodic(route: str, call, period: float) -> Task:
    """A request repeated every `period` seconds on the clock."""
    def fire() -> tuple[str, int]:
        return route, call().status
    return Task(fire, period=period)


def operator_tasks(client: Client, codes) -> list[Task]:
    """The desk list by status in turn, and a packing scan of the next created order."""
    statuses = itertools.cycle(DESK_STATUSES)
    return [
        periodic(DESK_LIST, lambda: client.call(
            "GET", f"/shipping/?status={next(statuses)}"), DESK_LIST_S),
        periodic(DESK_SCAN, lambda: client.call(
            "POST", "/shipping/scan", f"code={next(codes)}", FORM), DESK_SCAN_S),
    ]


def board_tasks(client: Client) -> list[Task]:
    """A wall screen: both boards' live blocks."""
    return [periodic(STATUS_POLL, lambda: client.call("GET", "/boards/?period=today", None,
                                                      HTMX), BOARD_POLL_S),
            periodic(MONEY_POLL, lambda: client.call("GET", "/boards/money", None, HTMX),
                     BOARD_POLL_S)]


def webhook_task(client: Client, numbers: list[str], run: str) -> Task:
    """Signed sandbox deliveries, each new, at WEBHOOKS_PER_S a second."""
    counter = itertools.count()
    start = datetime(2026, 1, 1)

    def send():
        i = next(counter)
        line = shipping.delivery_line(f"mix-{run}-{i}", numbers[i % len(numbers)],
                                      f"mix-{run}-{i}-e", HOOK_CODES[i % len(HOOK_CODES)],
                                      start + timedelta(seconds=i))
        delivery_id, signature, body = shipping.parse_delivery_line(line)
        return client.call("POST", shipping.WEBHOOK_PATH, body, {
            "Content-Type": "application/json", "X-Sandbox-Delivery": delivery_id,
            "X-Sandbox-Signature": signature})
    return periodic(WEBHOOK, send, 1 / WEBHOOKS_PER_S)


# --- set-up ----------------------------------------------------------------------------------


def ensure_agents(url: str, count: int) -> list[str]:
    """`count` agent logins mix0001… in the data set (added once, a cheap hash)."""
    from werkzeug.security import generate_password_hash

    names = [f"{AGENT_PREFIX}{i:04d}" for i in range(1, count + 1)]
    engine = create_engine(url)
    try:
        users = Table("users", MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            have = set(conn.execute(select(users.c.username).where(
                users.c.username.like(f"{AGENT_PREFIX}%"))).scalars())
            missing = [n for n in names if n not in have]
            if missing:
                now = datetime.now(UTC).replace(tzinfo=None)
                known = {"name": "", "active": True, "session_version": 1, "language": "",
                         "totp_enabled": False, "created_at": now, "updated_at": now}
                fill = {k: v for k, v in known.items() if k in users.c}
                hashed = generate_password_hash(generate.PASSWORD, method=CHEAP_HASH_METHOD)
                conn.execute(insert(users), [
                    {**fill, "username": n, "name": f"Mix agent {n[len(AGENT_PREFIX):]}",
                     "role": "agent", "password_hash": hashed} for n in missing])
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT setval(pg_get_serial_sequence('users', 'id'),"
                                      " (SELECT MAX(id) FROM users))"))
            # The status board lists every agent: only this step's team are agents, the
            # logins an earlier, larger run added wait as operators.
            conn.execute(text(
                "UPDATE users SET role = CASE WHEN username <= :last THEN 'agent'"
                " ELSE 'operator' END WHERE username LIKE :mix"),
                {"last": names[-1] if names else "", "mix": f"{AGENT_PREFIX}%"})
    finally:
        engine.dispose()
    return names


def log_in(base: str, username: str, page: str) -> tuple[str, str]:
    """(session cookie, CSRF token) of a login through the form, as a browser does."""
    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    form = http.get(f"{base}/login", timeout=120).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    if token is None:
        raise RuntimeError("GET /login gave no CSRF token")
    http.post(f"{base}/login", allow_redirects=False, timeout=120, data={
        "csrf_token": token.group(1), "username": username, "password": generate.PASSWORD})
    screen = http.get(base + page, timeout=120, allow_redirects=False)
    csrf = CSRF.search(screen.text)
    if screen.status_code != 200 or csrf is None or "session" not in http.cookies:
        raise RuntimeError(f"{username} could not log in (GET {page} answered "
                           f"{screen.status_code})")
    return http.cookies["session"], csrf.group(1)


def log_in_many(base: str, usernames: list[str], page: str) -> list[tuple[str, str]]:
    """Logins of many users, a few at a time."""
    with ThreadPoolExecutor(LOGIN_THREADS) as pool:
        return list(pool.map(lambda name: log_in(base, name, page), usernames))


def point_carrier(url: str, base_url: str | None) -> str | None:
    """Set the measurement carrier's base_url; its previous value."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            before = conn.execute(text("SELECT base_url FROM carriers WHERE id = :c"),
                                  {"c": shipping.CARRIER_ID}).scalar()
            conn.execute(text("UPDATE carriers SET base_url = :u WHERE id = :c"),
                         {"u": base_url, "c": shipping.CARRIER_ID})
    finally:
        engine.dispose()
    return before


def created_orders(url: str) -> list[int]:
    """Orders waiting to be packed, newest first: what the scanners scan."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(
                "SELECT id FROM orders WHERE shipping_status = 'created' ORDER BY id DESC"
                " LIMIT 20000")).scalars())
    finally:
        engine.dispose()


# --- CPU: who used the machine ---------------------------------------------------------------


class Cpu:
    """CPU used during a window by the web server, the rq processes, this database's
    PostgreSQL backends, the load generator, and everything else ("other": the machine's
    other users)."""

    def __init__(self, sessions: dict[str, int], database: str | None) -> None:
        self.sessions = sessions  # group name → session id (each started in its own)
        self.database = database
        self.start: dict | None = None
        self.shares: dict | None = None

    def snapshot(self) -> dict[str, float]:
        from .run import TICK, cpu_seconds

        busy, total = cpu_seconds()
        used = dict.fromkeys(self.sessions, 0.0)
        used["database"] = 0.0
        by_sid = {sid: name for name, sid in self.sessions.items()}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                raw = (entry / "stat").read_text()
                comm = raw[raw.index("(") + 1:raw.rindex(")")]
                rest = raw[raw.rindex(")") + 2:].split()
                if int(rest[3]) in by_sid:
                    # Children's time too: rq forks a work horse per job.
                    used[by_sid[int(rest[3])]] += sum(int(v) for v in rest[11:15]) / TICK
                elif comm == "postgres" and self.database and (
                        f" {self.database} " in (entry / "cmdline").read_text()
                        .replace("\0", " ")):
                    used["database"] += (int(rest[11]) + int(rest[12])) / TICK
            except (OSError, ValueError, IndexError):
                continue
        me = resource.getrusage(resource.RUSAGE_SELF)
        return {**used, "load generator": me.ru_utime + me.ru_stime, "busy": busy,
                "total": total}

    def begin(self) -> None:
        self.start = self.snapshot()

    def end(self) -> None:
        end = self.snapshot()
        delta = {k: end[k] - self.start[k] for k in end}
        capacity = max(delta.pop("total"), 1e-9) / 100
        busy = delta.pop("busy")
        shares = {k: round(max(v, 0) / capacity, 1) for k, v in delta.items()}
        shares["other"] = round(max(busy - sum(max(v, 0) for v in delta.values()), 0)
                                / capacity, 1)
        shares["idle"] = round(max(100 - busy / capacity, 0), 1)
        self.shares = shares


# --- one step --------------------------------------------------------------------------------


@dataclass
class Crew:
    """Everyone logged in so far (agents are added step by step)."""

    host: str
    port: int
    managers: list[Client]
    operators: list[Client]
    agents: list[Client]
    numbers: list[str]
    codes: object  # an endless iterator of order ids to scan


def step(crew: Crew, agents: int, plan: Plan, cpu: Cpu, rng: random.Random) -> dict:
    """Run the load with `agents` agents: warm-up, then the measured window."""
    t0 = time.monotonic()
    window = (t0 + plan.warmup_s, t0 + plan.warmup_s + plan.measure_s)
    tally = Tally(*window)
    schedule = Schedule(tally, THREADS)
    people = [Agent(client, i) for i, client in enumerate(crew.agents[:agents])]
    tasks: list[Task] = [Task(a.fire, after=a.after) for a in people]
    for client in crew.managers:
        tasks += board_tasks(client)
    for client in crew.operators:
        tasks += operator_tasks(client, crew.codes)
    anonymous = Client(crew.host, crew.port, user_agent=USER_AGENT)
    tasks.append(webhook_task(anonymous, crew.numbers, secrets.token_hex(4)))
    tasks.append(periodic(FLOOR, lambda: anonymous.call("GET", "/bench/minimal"), PROBE_S))
    for task in tasks:
        # Spread everyone over one period (an agent's first click within a think time).
        schedule.at(t0 + rng.uniform(0, task.period or THINK_S), task)
    schedule.run_until(window[1], {window[0]: cpu.begin, window[1]: cpu.end})
    routes = tally.routes(plan.measure_s, expected)
    broken = [name for name, r in routes.items()
              if r["p99_ms"] >= P99_LIMIT_MS or r["errors"] > MAX_ERROR_SHARE * r["requests"]]
    return {
        "agents": agents, "warmup_s": plan.warmup_s, "measured_s": plan.measure_s,
        "routes": routes, "cpu_percent": cpu.shares,
        "generator_lag_p99_ms": round(_p(tally.lag, 99), 1),
        "agent_actions_per_s": round(sum(routes.get(r, {}).get("requests", 0)
                                         for r in (NEXT, OUTCOME)) / plan.measure_s, 2),
        "idle_answers": sum(a.idle for a in people),
        "conflicts": {r: routes[r]["codes"].get("409", 0) for r in CONFLICT_ROUTES
                      if r in routes},
        "broken": broken, "ok": not broken,
    }


def _p(values: list[float], pct: float) -> float:
    from .openloop import percentile

    return percentile(values, pct) or 0.0


def drain(base: str, bound: float = DRAIN_BOUND_S) -> float:
    """Wait until the server answers the minimal route within a second again (requests a
    step's clients gave up on are still served); how long that took."""
    started = time.monotonic()
    while time.monotonic() - started < bound:
        try:
            requests.get(base + "/bench/minimal", timeout=1)
            break
        except requests.RequestException:
            time.sleep(1)
    return round(time.monotonic() - started, 1)


def step_line(result: dict) -> str:
    """One step on one line: every route's p50/p99."""
    parts = [f"{name} {r['p50_ms']:.0f}/{r['p99_ms']:.0f}"
             + (f" ({r['errors']} errors)" if r["errors"] else "")
             for name, r in result["routes"].items()]
    cpu = result["cpu_percent"] or {}
    return (f"{result['agents']:>5} agents ({result['agent_actions_per_s']:.1f} actions/s): "
            f"p50/p99 ms " + ", ".join(parts)
            + f"; lag p99 {result['generator_lag_p99_ms']:.0f} ms; other CPU "
            f"{cpu.get('other', 0):.0f}%" + ("" if result["ok"] else
                                             f"  BROKEN: {', '.join(result['broken'])}"))


# --- the measurement -------------------------------------------------------------------------


def measure(url: str, make_server, quick: bool, plan: Plan | None = None,
            all_steps: bool = False) -> dict:
    """The stepped mixed load (see the module's docstring)."""
    from workers.redis_server import PrivateRedis

    plan = plan or (QUICK if quick else FULL)
    result: dict = {
        "name": MIXED, "kind": "gunicorn + rq worker + rq cron, open loop",
        "plan": plan.__dict__, "think_s": THINK_S, "managers": MANAGERS,
        "operators": OPERATORS, "webhooks_per_s": WEBHOOKS_PER_S, "sync_s": SYNC_S,
        "target": f"every route's p99 < {P99_LIMIT_MS:g} ms with ≥ {GOAL_AGENTS:,} agents",
        "steps": [],
    }
    redis = PrivateRedis(datadir=str(generate.DATA_DIR / "redis-mixed"))
    before, pointed = None, False
    started = time.monotonic()
    try:
        redis.start()
        server = make_server(redis.url)
        server.env.update(SANDBOX_ENABLED="1", PUBLIC_URL=server.base,
                          CARRIER_SYNC_SECONDS=str(SYNC_S))
        before, pointed = point_carrier(url, f"{server.base}/sandbox/carrier"), True
        ensure_agents(url, 0)
        # As agent_action does: confirmations take stock instead of meeting a shortage's 409.
        agents_bench.top_up_stock(url)
        rng = random.Random(f"{MIXED}:{len(plan.steps)}")
        with server, shipping.RqWorker(server.env, redis.url) as worker, \
                Cron(server.env, redis.url) as cron:
            host, port = urlsplit(server.base).hostname, urlsplit(server.base).port

            def clients(pairs):
                return [Client(host, port, c, t, USER_AGENT) for c, t in pairs]

            managers = [f"manager{1 + i % 4}" for i in range(MANAGERS)]
            operators = [f"operator{1 + i % 5}" for i in range(OPERATORS)]
            crew = Crew(host, port, clients(log_in_many(server.base, managers, "/boards/")),
                        clients(log_in_many(server.base, operators, "/shipping/")), [],
                        shipping.tracking_numbers(url),
                        itertools.cycle(created_orders(url) or [1]))
            database = generate.normalized_url(url).database if url.startswith(
                "postgresql") else None
            cpu = Cpu({"server": server.proc.pid, "rq worker": worker.proc.pid,
                       "rq cron": cron.proc.pid}, database)
            for agents in plan.steps:
                if len(crew.agents) < agents:
                    t = time.monotonic()
                    names = ensure_agents(url, agents)
                    crew.agents += clients(log_in_many(
                        server.base, names[len(crew.agents):agents], "/calls/"))
                    say(f"{agents} agents logged in ({time.monotonic() - t:.0f} s)")
                result["steps"].append(step(crew, agents, plan, cpu, rng))
                result["steps"][-1]["drain_s"] = drain(server.base)
                say(step_line(result["steps"][-1]))
                # --all-steps goes on past a broken step, to show how each route scales.
                if agents and not result["steps"][-1]["ok"] and not all_steps:
                    break
        result["gunicorn"] = server.settings.label
        result["status"] = "ok"
    except Exception as exc:  # reported; the carrier is put back below either way
        result.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
    finally:
        redis.stop()
        if pointed:
            point_carrier(url, before)
        result["webhook_rows_deleted"] = shipping.clean_webhooks(url)
    result["seconds"] = round(time.monotonic() - started, 1)
    summarize(result)
    return result


class Cron:
    """One `rq cron` on the production schedule (workers/cron_config.py)."""

    def __init__(self, env: dict, redis_url: str) -> None:
        from .run import BIN

        self.command = [str(BIN / "rq"), "cron", "--url", redis_url, "workers.cron_config"]
        self.env = env
        self.log_path = generate.DATA_DIR / "rq-cron.log"
        self.proc = None

    def __enter__(self) -> "Cron":
        import subprocess

        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command, cwd=generate.ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        time.sleep(1)
        if self.proc.poll() is not None:
            raise RuntimeError(f"rq cron exited with code {self.proc.returncode}; see "
                               f"{self.log_path}")
        return self

    def __exit__(self, *exc_info) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            shipping.stop_group(proc)


def summarize(result: dict) -> None:
    """The largest agent count that kept every route under the limit, ratios to step 0,
    and the verdict."""
    steps = result.get("steps") or []
    base = steps[0]["routes"] if steps and steps[0]["agents"] == 0 else {}
    for s in steps:
        for name, r in s["routes"].items():
            if base.get(name, {}).get("p99_ms"):
                r["p99_x_baseline"] = round(r["p99_ms"] / base[name]["p99_ms"], 2)
    _cost_per_action(steps)
    # The largest step before the first broken one (later steps may pass by luck).
    passed = list(itertools.takewhile(lambda s: s["ok"], steps))
    result["max_agents"] = max((s["agents"] for s in passed), default=0)
    if result.get("status") != "ok":
        result["verdict"] = f"failed: {result.get('reason')}"
        return
    top = result["max_agents"]
    others = [s["cpu_percent"]["other"] for s in steps if s.get("cpu_percent")]
    result["summary"] = (f"max {top:,} agents with every p99 < {P99_LIMIT_MS:g} ms"
                         + (f" (other programs {min(others):.0f}–{max(others):.0f} % CPU)"
                            if others else ""))
    if base:
        floor = base.get(FLOOR, {})
        result["baseline_summary"] = (f"0 agents: minimal route p99 {floor.get('p99_ms')} ms; "
                                      "per-route p99 × this step in the results")
    costs = [s for s in steps if "cpu_ms_per_action" in s]
    if costs:
        last = costs[-1]
        result["summary"] += (f"; {last['cpu_ms_per_action']:.1f} ms of CPU per agent action "
                              f"at {last['agents']:,} agents: {GOAL_AGENTS:,} agents would "
                              f"keep {last['cores_for_goal']:.1f} cores busy")
    result["verdict"] = ("pass" if top >= GOAL_AGENTS else
                         f"FAIL: {top:,} of {GOAL_AGENTS:,} agents")


SERVING = ("server", "database", "rq worker", "rq cron")
# The web requests' share: rq's jobs come in bursts (a sync, a reconcile), so a minute's
# rq figure says little about what the agents' actions added.
WEB = ("server", "database")


def _cost_per_action(steps: list[dict]) -> None:
    """Each step's CPU per agent action over the 0-agent step (server and database, in ms
    of one core), and the cores GOAL_AGENTS would need at that cost on top of the 0-agent
    step's serving (rq included): where the time goes."""
    if not steps or steps[0]["agents"] or not steps[0].get("cpu_percent"):
        return
    cores = os.cpu_count() or 1

    def used(s: dict, groups: tuple[str, ...]) -> float:  # cores busy serving
        return sum(s["cpu_percent"].get(k, 0) for k in groups) / 100 * cores

    for s in steps[1:]:
        added = used(s, WEB) - used(steps[0], WEB) if s.get("cpu_percent") else 0
        if added > 0 and s["agent_actions_per_s"]:
            ms = added / s["agent_actions_per_s"] * 1000
            s["cpu_ms_per_action"] = round(ms, 1)
            s["cores_for_goal"] = round(used(steps[0], SERVING)
                                        + ms / 1000 * GOAL_AGENTS / THINK_S, 2)


def line(result: dict) -> str:
    """The measurement on one line."""
    if result["status"] != "ok":
        return f"{MIXED}: FAILED: {result.get('reason')}"
    return f"{MIXED}: {result['summary']}; {result['verdict']} ({result['seconds']:.0f} s)"


def markdown(result: dict) -> str:
    """Per step and route: p50 / p99 ms (× the 0-agent step's p99), errors, conflicts."""
    steps = result.get("steps") or []
    routes = sorted({name for s in steps for name in s["routes"]})
    rows = ["| agents | actions/s | " + " | ".join(routes) + " | other CPU % | verdict |",
            "|--:|--:|" + "--:|" * len(routes) + "--:|---|"]
    for s in steps:
        cells = []
        for name in routes:
            r = s["routes"].get(name)
            if r is None:
                cells.append("—")
                continue
            x = f" ×{r['p99_x_baseline']}" if "p99_x_baseline" in r else ""
            bad = f", {r['errors']} err" if r["errors"] else ""
            cells.append(f"{r['p50_ms']:.0f} / {r['p99_ms']:.0f}{x}{bad}")
        verdict = "ok" if s["ok"] else "over: " + ", ".join(s["broken"])
        rows.append(f"| {s['agents']:,} | {s['agent_actions_per_s']} | " + " | ".join(cells)
                    + f" | {(s['cpu_percent'] or {}).get('other', 0):.0f} | {verdict} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """The mixed load alone, on a data set bench.generate already built (never rebuilt)."""
    import argparse
    import json

    from .run import DEFAULT_GUNICORN, RESULTS_DIR, Server, machine

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--steps", type=int, nargs="+", help="agent counts (0 first: baseline)")
    parser.add_argument("--warmup", type=float)
    parser.add_argument("--seconds", type=float, help="measured seconds per step")
    parser.add_argument("--all-steps", action="store_true",
                        help="measure every step, not only up to the first broken one")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    plan = Plan(tuple(args.steps or plan.steps), args.warmup or plan.warmup_s,
                args.seconds or plan.measure_s)
    url = generate.normalized_url(args.database_url).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            orders = conn.execute(text("SELECT COUNT(*) FROM orders")).scalar()
    finally:
        engine.dispose()
    say(f"{orders:,} orders; steps {plan.steps}, {plan.warmup_s:g} s warm-up + "
        f"{plan.measure_s:g} s each")
    result = measure(url, lambda redis: Server(url, redis, DEFAULT_GUNICORN), args.quick, plan,
                     args.all_steps)
    result.update(date=datetime.now(UTC).replace(microsecond=0).isoformat(), orders=orders,
                  machine=machine(), database=url.split("://")[0])
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    kind = "postgresql" if url.startswith("postgresql") else "sqlite"
    path = RESULTS_DIR / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{kind}-mixed.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(markdown(result))
    say(line(result))
    say(f"results: {path.relative_to(generate.ROOT)}")
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
