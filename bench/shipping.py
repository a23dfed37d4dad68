"""Shipping measurements: carrier events in bulk, webhook intake, a webhook to the desk.

- `shipping_events` (in this process, before the server starts): 100,000 tracking events
  (N/10 on a smaller data set) applied through `apply_carrier_events` + COMMIT, once as
  one batch and once in job-sized batches of 2,000 parcels, each against the bare floor
  measured just before it: COPY the same (id, status) pairs into a temporary table and
  `UPDATE orders … FROM` it, rolled back. Both start from a vacuumed table right after a
  CHECKPOINT (PostgreSQL), so neither pays for the other's dead rows.
- `shipping_webhook` (a wrk scenario of bench.scenarios, on the shared server): signed
  sandbox deliveries, each a new delivery id, POSTed to the webhook endpoint (verify,
  store, nudge the apply job); pre-signed here because wrk cannot compute an HMAC.
- `shipping_desk_latency` (its own gunicorn with the sandbox enabled, one `rq worker`,
  a private Redis): a fulfilled order's sandbox parcel is picked up; from the sandbox
  pushing that PICKED_UP webhook until the operator's desk shows the counts moved
  (Fulfilled −1, Shipped +1), polled every 100 ms, five times.

Every change to the data set is undone: before anything is written, the orders' original
statuses, versions and update times go to a table `bench_shipping_undo` and the last
audit event id to `bench_meta`; `restore()` puts the orders back, deletes the parcels,
timelines, audit events, webhook rows and sandbox parcels the measurement made, and
rebuilds the status counters. A run that died midway is restored at the next run's start.
"""

import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import create_engine, inspect, text

from . import generate

EVENTS, WEBHOOK, LATENCY = "shipping_events", "shipping_webhook", "shipping_desk_latency"
# Measured outside wrk; WEBHOOK is a wrk scenario in bench.scenarios.
MEASUREMENTS = (EVENTS, LATENCY)
CARRIER_ID, CARRIER_CODE = 1, "sandbox"
SECRET = generate.CARRIER_SECRET
WEBHOOK_PATH = f"/api/v1/carriers/{CARRIER_CODE}/webhook"
WEBHOOK_LUA = Path(__file__).resolve().parent / "webhook.lua"
UNDO = "bench_shipping_undo"
UNDO_AUDIT_KEY = "shipping_undo_audit_after"

# -- targets (the issue's) ----------------------------------------------------------------
EVENTS_TARGET_S = 10.0  # 100,000 events at 1,000,000 orders on PostgreSQL
LATENCY_TARGET_S = 10.0  # a sandbox webhook's event to the desk's count, one worker
FULL_EVENTS = 100_000
JOB_PARCELS = 2000  # parcels one sync job asks about (workers/shipping.MAX_PER_SYNC)
EVENTS_PER_PARCEL = 1
STATEMENT_TIMEOUT_MS = 300_000  # no single statement of a measurement runs longer

# Sandbox codes an event of the measurement carries, by the order's status before it.
NEXT_CODES = {"fulfilled": ("PICKED_UP", "IN_TRANSIT"), "shipped": ("OUT_FOR_DELIVERY",
                                                                    "DELIVERED")}
DESCRIPTIONS = {"PICKED_UP": "Picked up from the shipper",
                "IN_TRANSIT": "In transit to the destination hub",
                "OUT_FOR_DELIVERY": "Out for delivery", "DELIVERED": "Delivered; cash collected"}

# -- webhook intake --------------------------------------------------------------------------
WEBHOOK_DELIVERIES = 200_000  # measured run: distinct signed deliveries, in wrk's slices
WEBHOOK_WARMUP_DELIVERIES = 40_000  # another set for the warm-up, so none repeats
WEBHOOK_THREADS = 2

# -- desk latency ----------------------------------------------------------------------------
LATENCY_REPEATS = 5
POLL_S = 0.1
POLL_BOUND_S = 60.0
SETTLE_S = 30.0  # bound on waiting for the worker to finish a parcel's deliveries
CACHE_S = 2.5  # the desk's counts live 2 s per web process: wait this long before a baseline
# A journey's first step (PICKED_UP) is visible at pickup, the next one an hour later: the
# timed push carries exactly that one event, Fulfilled → Shipped. (With 0 the whole journey
# arrives at once and the Shipped count never moves: it goes on to Delivered in the job.)
LATENCY_STEP_SECONDS = 3600
SHIPPING_STATUSES = ("created", "fulfilled", "shipped", "package_issue", "delivered",
                     "in_return", "returned", "canceled")
ORDERS_SHIPPING_NAV = 'aria-label="Orders by shipping status"'


def say(message: str) -> None:
    """Progress line, in the runner's format."""
    print(f"[bench] {message}", flush=True)


def _is_postgres(conn) -> bool:
    return conn.dialect.name == "postgresql"


def _app(url: str):
    """A codboard app on the benchmark database, statements bounded on PostgreSQL."""
    from app import create_app

    config = {"SQLALCHEMY_DATABASE_URI": url}
    if url.startswith("postgresql"):
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True,
            "connect_args": {"options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"}}
    return create_app(config)


# --- undo and restore ---------------------------------------------------------------------


def remember(conn, where: str, params: dict | None = None, limit: int | None = None) -> int:
    """Save the original status, version and update time of the orders matching `where`
    (newest first, at most `limit`) before anything changes them; returns how many."""
    if UNDO not in inspect(conn).get_table_names():
        conn.execute(text(f"CREATE TABLE {UNDO} (order_id INTEGER PRIMARY KEY,"
                          " shipping_status VARCHAR(16), version INTEGER NOT NULL,"
                          " updated_at TIMESTAMP NOT NULL)"))
    if conn.execute(text("SELECT 1 FROM bench_meta WHERE key = :k"),
                    {"k": UNDO_AUDIT_KEY}).first() is None:
        last = conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM audit_events")).scalar()
        conn.execute(text("INSERT INTO bench_meta (key, value) VALUES (:k, :v)"),
                     {"k": UNDO_AUDIT_KEY, "v": str(last)})
    return conn.execute(text(
        f"INSERT INTO {UNDO} (order_id, shipping_status, version, updated_at)"
        " SELECT id, shipping_status, version, updated_at FROM orders o"
        f" WHERE ({where}) AND NOT EXISTS (SELECT 1 FROM {UNDO} u WHERE u.order_id = o.id)"
        " ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit is not None else "")),
        params or {}).rowcount


def needs_restore(url: str) -> bool:
    """True when a measurement's changes are still in the data set."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return UNDO in inspect(conn).get_table_names()
    finally:
        engine.dispose()


def restore(url: str, vacuum: bool = False) -> dict:
    """Undo everything a measurement wrote (see the module's docstring); what was undone."""
    from extensions import db
    from models.orders.counters import rebuild_counts

    started = time.monotonic()
    app = _app(url)
    done: dict = {}
    with app.app_context():
        conn = db.session.connection()
        if UNDO not in inspect(conn).get_table_names():
            db.session.rollback()
            return {}
        after = conn.execute(text("SELECT value FROM bench_meta WHERE key = :k"),
                             {"k": UNDO_AUDIT_KEY}).scalar()
        done["orders"] = conn.execute(text(
            f"UPDATE orders SET shipping_status = u.shipping_status, version = u.version,"
            f" updated_at = u.updated_at FROM {UNDO} u WHERE orders.id = u.order_id")).rowcount
        ours = f"SELECT id FROM parcels WHERE order_id IN (SELECT order_id FROM {UNDO})"
        done["parcel_events"] = conn.execute(text(
            f"DELETE FROM parcel_events WHERE parcel_id IN ({ours})")).rowcount
        done["parcels"] = conn.execute(text(
            f"DELETE FROM parcels WHERE order_id IN (SELECT order_id FROM {UNDO})")).rowcount
        if after is not None:
            done["audit_events"] = conn.execute(
                text("DELETE FROM audit_events WHERE id > :after"), {"after": int(after)}
            ).rowcount
        done["carrier_webhooks"] = conn.execute(
            text("DELETE FROM carrier_webhooks WHERE carrier_id = :c"), {"c": CARRIER_ID}
        ).rowcount
        done["sandbox_parcels"] = conn.execute(
            text("DELETE FROM sandbox_parcels WHERE api_key = :k"), {"k": SECRET}).rowcount
        rebuild_counts()
        conn.execute(text("DELETE FROM bench_meta WHERE key = :k"), {"k": UNDO_AUDIT_KEY})
        conn.execute(text(f"DROP TABLE {UNDO}"))
        db.session.commit()
        postgres = _is_postgres(conn)
        db.session.remove()
        db.engine.dispose()
    if vacuum and postgres:
        # The updates and deletes left dead rows and cleared the visibility map of the
        # pages they touched; later scenarios should find the table as the build left it.
        settle(url)
    done["seconds"] = round(time.monotonic() - started, 2)
    return done


def clean_webhooks(url: str) -> int:
    """Delete the measurement carrier's stored webhook deliveries (intake leaves them)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            return conn.execute(text("DELETE FROM carrier_webhooks WHERE carrier_id = :c"),
                                {"c": CARRIER_ID}).rowcount
    finally:
        engine.dispose()


# --- 1. carrier events through the bulk path -------------------------------------------------


def event_count(n: int) -> int:
    """100,000 events for 1,000,000 orders; a tenth of the orders on a smaller data set."""
    return min(FULL_EVENTS, max(1000, n // 10))


def build_events(rows: list[tuple[str, str]], per_parcel: int, now: datetime) -> list:
    """TrackingEvents for (tracking number, current status) rows: Fulfilled parcels are
    picked up (then in transit), Shipped ones delivered (after out for delivery)."""
    from workers.carriers import TrackingEvent

    start = now - timedelta(minutes=30)
    events = []
    for tracking_number, status in rows:
        codes = NEXT_CODES[status]
        for step, code in enumerate(codes[len(codes) - per_parcel:]):
            events.append(TrackingEvent(
                tracking_number=tracking_number, occurred_at=start + timedelta(seconds=step),
                code=code, text=DESCRIPTIONS[code],
                location="Shipper's warehouse" if code == "PICKED_UP" else "Casablanca",
                event_id=f"{tracking_number}-{code}"))
    return events


def sandbox_map_status() -> Callable[[str, str], str | None]:
    """The sandbox adapter's own mapping (no manager rows), as the sync job uses it."""
    from workers.carriers import CarrierConfig, adapter_for

    config = CarrierConfig(id=CARRIER_ID, code=CARRIER_CODE, name="Sandbox Express",
                           kind="sandbox")
    return adapter_for(config).map_status


ELIGIBLE = ("carrier_id = :carrier AND delivery_mode = 'carrier'"
            " AND confirmation_status = 'confirmed'")


@contextmanager
def staged_parcels(count: int) -> Iterator[dict]:
    """`count` carrier orders in Fulfilled or Shipped with a registered parcel each, set
    up set-based (and undone afterwards): the generated ones first, newest first, then
    Delivered ones put back to Shipped when there are too few."""
    from extensions import db
    from models.base import utcnow

    conn = db.session.connection()
    params = {"carrier": CARRIER_ID}
    picked = remember(conn, f"{ELIGIBLE} AND shipping_status IN ('fulfilled', 'shipped')",
                      params, limit=count)
    topped = 0
    if picked < count:
        topped = remember(conn, f"{ELIGIBLE} AND shipping_status = 'delivered'", params,
                          limit=count - picked)
    db.session.commit()  # the originals are safe before anything changes
    conn = db.session.connection()
    if topped:
        conn.execute(text(
            f"UPDATE orders SET shipping_status = 'shipped' WHERE id IN"
            f" (SELECT order_id FROM {UNDO} WHERE shipping_status = 'delivered')"))
    now = utcnow()
    conn.execute(text(
        "INSERT INTO parcels (order_id, carrier_id, tracking_number, idempotency_key,"
        " registered_at, handed_over_at, final, detected_by, detection_confidence,"
        " created_at, updated_at)"
        " SELECT order_id, :carrier, 'BENCH' || CAST(order_id AS VARCHAR(12)),"
        " 'bench-' || CAST(order_id AS VARCHAR(12)), :now, :now, :final, 'order', 100,"
        f" :now, :now FROM {UNDO}"), {**params, "now": now, "final": False})
    db.session.commit()
    rows = db.session.execute(text(
        "SELECT p.tracking_number, o.shipping_status, o.id FROM parcels p"
        f" JOIN orders o ON o.id = p.order_id JOIN {UNDO} u ON u.order_id = o.id"
        " ORDER BY o.id")).all()
    db.session.commit()
    try:
        yield {"rows": [(tn, status) for tn, status, _ in rows],
               "floor": [(order_id, "shipped" if status == "fulfilled" else "delivered")
                         for _, status, order_id in rows],
               "generated": picked, "topped_up": topped}
    finally:
        db.session.rollback()


def floor_seconds(pairs: list[tuple[int, str]]) -> float:
    """The bare floor: COPY (id, status) pairs into a temporary table and UPDATE orders
    FROM it (executemany INSERT on SQLite), timed, then rolled back."""
    from extensions import db

    db.session.commit()
    conn = db.session.connection()
    postgres = _is_postgres(conn)
    started = time.perf_counter()
    conn.execute(text("CREATE TEMPORARY TABLE bench_floor (id INTEGER, status VARCHAR(16))"
                      + (" ON COMMIT DROP" if postgres else "")))
    if postgres:
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cursor, cursor.copy("COPY bench_floor (id, status) FROM STDIN") \
                as copy:
            for row in pairs:
                copy.write_row(row)
    else:
        conn.execute(text("INSERT INTO bench_floor (id, status) VALUES (:id, :status)"),
                     [{"id": i, "status": s} for i, s in pairs])
    changed = conn.execute(text("UPDATE orders SET shipping_status = t.status"
                                " FROM bench_floor t WHERE orders.id = t.id")).rowcount
    elapsed = time.perf_counter() - started
    db.session.rollback()
    if not postgres:
        db.session.execute(text("DROP TABLE IF EXISTS temp.bench_floor"))
        db.session.commit()
    if changed != len(pairs):
        raise RuntimeError(f"the floor's UPDATE changed {changed} of {len(pairs)} orders")
    return elapsed


# (name in models.shipping.events, phase) of the steps timed inside the bulk path.
TIMED_STEPS = (("_load", "load parcels and orders"), ("_known_keys", "read known event keys"),
               ("insert_rows", "insert {table}"), ("update_rows", "update {table}"),
               ("count_moves", "status counters"))


@contextmanager
def phase_timer(phases: dict[str, float]) -> Iterator[dict[str, float]]:
    """Add the time spent in each step of the bulk path to `phases` while inside.

    Wraps the module's own names for the duration (a few calls per batch, no measurable
    cost); a step the module no longer has is simply not broken out.
    """
    import models.shipping.events as module

    originals = {}

    def timed(original, label: str):
        def run(*args, **kwargs):
            table = getattr(args[0], "name", "") if args else ""
            key = label.format(table=table)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                phases[key] = phases.get(key, 0.0) + time.perf_counter() - started
        return run

    for name, label in TIMED_STEPS:
        if hasattr(module, name):
            originals[name] = getattr(module, name)
            setattr(module, name, timed(originals[name], label))
    try:
        yield phases
    finally:
        for name, original in originals.items():
            setattr(module, name, original)


def _apply(events: list, map_status, phases: dict[str, float]) -> tuple[float, dict]:
    """apply_carrier_events + COMMIT, timed; the outcome counts. Adds each step's time to
    `phases` (the rest of the call, Python deciding and building rows, as "other")."""
    from extensions import db
    from models.base import utcnow
    from models.shipping.events import apply_carrier_events

    db.session.commit()
    steps: dict[str, float] = {}
    started = time.perf_counter()
    with phase_timer(steps):
        result = apply_carrier_events(CARRIER_ID, CARRIER_CODE, events, source="api",
                                      map_status=map_status, now=utcnow())
    applied = time.perf_counter()
    db.session.commit()
    done = time.perf_counter()
    steps["commit"] = done - applied
    steps["other (Python: group, decide, build rows)"] = (
        applied - started - sum(v for k, v in steps.items() if k != "commit"))
    for key, value in steps.items():
        phases[key] = phases.get(key, 0.0) + value
    return done - started, dict(result.counts)


def job_batches(events: list, parcels: int) -> list[list]:
    """The events cut as sync jobs cut them: at most `parcels` tracking numbers a batch."""
    by_number: dict[str, list] = defaultdict(list)
    for event in events:
        by_number[event.tracking_number].append(event)
    numbers = list(by_number)
    return [[e for number in numbers[start:start + parcels] for e in by_number[number]]
            for start in range(0, len(numbers), parcels)]


def settle(url: str) -> float:
    """Before each timed step on PostgreSQL: VACUUM (ANALYZE) the tables it writes and
    CHECKPOINT, so the floor and the bulk path start alike (no dead rows left by the setup
    or by the other's rolled-back work, every first page write paying its full-page image).
    Nothing on SQLite. Its seconds."""
    if not url.startswith("postgresql"):
        return 0.0
    import psycopg

    started = time.monotonic()
    with generate._pg_connect(generate.normalized_url(url), autocommit=True) as pg:
        pg.execute("VACUUM (ANALYZE) orders, parcels, parcel_events, audit_events,"
                   " carrier_webhooks, order_status_counts")
        try:
            pg.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            pass
    return round(time.monotonic() - started, 1)


def _rounded(phases: dict[str, float]) -> dict[str, float]:
    """Phase seconds, largest first."""
    return {k: round(v, 3) for k, v in sorted(phases.items(), key=lambda kv: -kv[1])}


def _one_pass(url: str, name: str, parcels: int, map_status, result: dict) -> dict:
    """Stage the parcels, time the floor, then the bulk path (one batch or job-sized)."""
    from extensions import db
    from models.base import utcnow

    figures: dict = {}
    with staged_parcels(parcels) as staged:
        events = build_events(staged["rows"], EVENTS_PER_PARCEL, utcnow())
        result.update(generated_orders=staged["generated"], topped_up_orders=staged["topped_up"])
        settled = settle(url)
        floor = floor_seconds(staged["floor"])
        settled += settle(url)
        phases: dict[str, float] = {}
        if name == "one_batch":
            seconds, counts = _apply(events, map_status, phases)
            figures.update(seconds=round(seconds, 3), counts=counts)
        else:
            times, counts = [], defaultdict(int)
            for batch in job_batches(events, JOB_PARCELS):
                seconds, batch_counts = _apply(batch, map_status, phases)
                times.append(seconds)
                for key, value in batch_counts.items():
                    counts[key] += value
            figures.update(seconds=round(sum(times), 3), batches=len(times),
                           batch_median_s=round(statistics.median(times), 3),
                           batch_max_s=round(max(times), 3), counts=dict(counts))
        figures.update(phases_s=_rounded(phases), baseline_seconds=round(floor, 3),
                       ratio_to_baseline=round(figures["seconds"] / floor, 2) if floor else None,
                       settle_seconds=round(settled, 1))
    db.session.remove()
    # Each pass starts from the same data: undone in between.
    figures["restored"] = restore(url)
    return figures


def measure_events(url: str, n: int) -> dict:
    """Measurement 1: see the module's docstring. Restores the data set whatever happens."""
    from extensions import db

    count = event_count(n)
    parcels = count // EVENTS_PER_PARCEL
    kind = "postgresql" if url.startswith("postgresql") else "sqlite"
    result: dict = {
        "name": EVENTS, "kind": "in-process", "database": kind, "orders": n,
        "events": count, "parcels": parcels, "events_per_parcel": EVENTS_PER_PARCEL,
        "job_batch_parcels": JOB_PARCELS,
        "description": f"{count:,} sandbox tracking events for {parcels:,} parcels of "
                       "Fulfilled/Shipped carrier orders through apply_carrier_events + "
                       "COMMIT (timeline, one version-guarded orders UPDATE, audit events, "
                       "counters, parcels), as one batch and in sync-job batches of "
                       f"{JOB_PARCELS:,} parcels",
        "baseline": "COPY the same (order id, new status) pairs into a temporary table + "
                    "UPDATE orders … FROM it, rolled back (executemany INSERT on SQLite)",
        "target": f"≤ {EVENTS_TARGET_S:g} s for 100,000 events at 1,000,000 orders "
                  "(PostgreSQL)",
        "restore": "undone after each pass: orders' statuses, versions and update times "
                   "put back from bench_shipping_undo; parcels, parcel events, audit "
                   "events deleted; counters rebuilt; VACUUM (ANALYZE) on PostgreSQL",
    }
    say(f"{EVENTS}: {count:,} events for {parcels:,} parcels on {kind}, {n:,} orders")
    try:
        map_status = sandbox_map_status()
        with _app(url).app_context():
            for name in ("one_batch", "job_batches"):
                result[name] = _one_pass(url, name, parcels, map_status, result)
            db.session.remove()
            db.engine.dispose()
    except Exception as exc:  # report it and restore; the other measurements go on
        result.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
        restore(url)
    result["vacuum_seconds"] = settle(url)
    if "reason" not in result:
        applied = [result[p]["counts"].get("applied", 0) for p in ("one_batch", "job_batches")]
        result["status"] = "ok"
        if applied != [parcels, parcels]:
            result.update(status="failed", reason=f"{applied} moves applied of {parcels}")
    result["verdict"] = events_verdict(result)
    return result


def events_verdict(result: dict) -> str:
    """Against ≤ 10 s for 100,000 events, when measured in the target's setting."""
    if result.get("status") != "ok":
        return f"not measured ({result.get('reason')})"
    parts = []
    for name in ("one_batch", "job_batches"):
        seconds = result[name]["seconds"]
        parts.append(f"{name.replace('_', ' ')} {'pass' if seconds <= EVENTS_TARGET_S else 'FAIL'}")
    verdict = ", ".join(parts)
    if result["database"] != "postgresql" or result["events"] < FULL_EVENTS:
        return f"no verdict: not the target's setting ({verdict} at this size)"
    return verdict


# --- 2. webhook intake (a wrk scenario) -------------------------------------------------------


def sign(body: bytes) -> str:
    """The sandbox's X-Sandbox-Signature: hex HMAC-SHA256 of the raw body."""
    return hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def delivery_line(delivery_id: str, tracking_number: str, event_id: str, code: str,
                  at: datetime) -> str:
    """One line of the deliveries file: "<delivery id>\\t<signature>\\t<body>"."""
    body = json.dumps({"tracking_number": tracking_number, "events": [{
        "id": event_id, "code": code, "description": DESCRIPTIONS.get(code, code),
        "location": "Sandbox sorting hub", "time": at.isoformat(timespec="microseconds") + "Z",
    }]}, separators=(",", ":"))
    return f"{delivery_id}\t{sign(body.encode())}\t{body}"


def parse_delivery_line(line: str) -> tuple[str, str, bytes]:
    """(delivery id, signature, body) of a deliveries file line, as webhook.lua reads it."""
    delivery_id, signature, body = line.rstrip("\n").split("\t", 2)
    return delivery_id, signature, body.encode()


def tracking_numbers(url: str, limit: int = 5000) -> list[str]:
    """Real tracking numbers of the measurement carrier's orders (any will do for intake)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(text(
                "SELECT tracking_number FROM orders WHERE carrier_id = :c"
                " AND tracking_number IS NOT NULL ORDER BY id DESC LIMIT :n"),
                {"c": CARRIER_ID, "n": limit}).scalars().all()
    finally:
        engine.dispose()
    return list(found) or [f"SBX{i:010d}" for i in range(limit)]


def write_deliveries(path: Path, count: int, numbers: list[str], run: str) -> Path:
    """`count` distinct signed deliveries (ids "bench-<run>-<i>") into path."""
    codes = ("PICKED_UP", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED")
    start = datetime(2026, 1, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as out:
        for i in range(count):
            out.write(delivery_line(f"bench-{run}-{i}", numbers[i % len(numbers)],
                                    f"bench-{run}-{i}-e", codes[i % len(codes)],
                                    start + timedelta(seconds=i)) + "\n")
    return path


def prepare_webhook(directory: Path, url: str) -> tuple[Path, Path]:
    """The warm-up's and the measured run's deliveries files (distinct ids, this run's)."""
    run = secrets.token_hex(4)
    numbers = tracking_numbers(url)
    started = time.monotonic()
    warm = write_deliveries(directory / "webhook-warmup.txt", WEBHOOK_WARMUP_DELIVERIES,
                            numbers, f"{run}w")
    measured = write_deliveries(directory / "webhook.txt", WEBHOOK_DELIVERIES, numbers, run)
    say(f"{WEBHOOK}: {WEBHOOK_WARMUP_DELIVERIES + WEBHOOK_DELIVERIES:,} signed deliveries "
        f"written in {time.monotonic() - started:.1f} s")
    return warm, measured


def webhook_wrk_options() -> dict:
    """run_wrk's options for the webhook scenario."""
    return {"lua": WEBHOOK_LUA, "threads": WEBHOOK_THREADS,
            "env": {"BENCH_WEBHOOK_THREADS": str(WEBHOOK_THREADS),
                    "BENCH_WEBHOOK_PATH": WEBHOOK_PATH}}


def probe_webhook(base: str, user_agent: str) -> str | None:
    """Why the webhook cannot be measured (one signed delivery must answer 202), or None."""
    line = delivery_line(f"bench-probe-{secrets.token_hex(6)}", "SBX0000000000", "probe",
                         "IN_TRANSIT", datetime(2026, 1, 1))
    delivery_id, signature, body = parse_delivery_line(line)
    try:
        answer = requests.post(base + WEBHOOK_PATH, data=body, timeout=30, headers={
            "Content-Type": "application/json", "X-Sandbox-Delivery": delivery_id,
            "X-Sandbox-Signature": signature, "User-Agent": user_agent})
    except requests.RequestException as exc:
        return f"POST {WEBHOOK_PATH} failed: {exc}"
    if answer.status_code != 202:
        return f"POST {WEBHOOK_PATH} answered {answer.status_code}: {answer.text[:200]}"
    return None


def parse_webhook_counts(output: str) -> dict[str, int]:
    """accepted (202), duplicate (200) and wrapped (slices used up) from webhook.lua."""
    found = re.search(r"bench-webhook accepted=(\d+) duplicate=(\d+) wrapped=(\d+)", output)
    if not found:
        return {"accepted": 0, "duplicate": 0, "wrapped": 0}
    return dict(zip(("accepted", "duplicate", "wrapped"), map(int, found.groups()),
                    strict=True))


def finish_webhook(url: str, redis_url: str, since: float, outputs: list[str]) -> dict:
    """Rows stored vs answers, then the cleanup: the stored rows, the nudge flag and the
    apply jobs the run enqueued (only those: the Redis may be shared). Requests still in
    flight when wrk stopped are stored without being counted by wrk: let them finish."""
    time.sleep(1.0)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(text(
                "SELECT COUNT(*) FROM carrier_webhooks WHERE carrier_id = :c"),
                {"c": CARRIER_ID}).scalar()
    finally:
        engine.dispose()
    answers = [parse_webhook_counts(output) for output in outputs]
    figures = {
        "stored_rows": stored,
        # The probe's delivery, then the warm-up's and the measured run's.
        "accepted_202": 1 + sum(a["accepted"] for a in answers),
        "duplicates_200": sum(a["duplicate"] for a in answers),
        "measured_accepted_202": answers[-1]["accepted"] if answers else 0,
        "measured_duplicates_200": answers[-1]["duplicate"] if answers else 0,
        "slices_wrapped": sum(a["wrapped"] for a in answers),
        "deliveries_prepared": WEBHOOK_DELIVERIES,
    }
    figures["deleted_rows"] = clean_webhooks(url)
    figures["deleted_jobs"] = clean_queue(redis_url, since)
    return figures


def clean_queue(redis_url: str, since: float) -> int:
    """Delete the apply_webhooks jobs enqueued since `since` (epoch s) and the nudge flag."""
    from redis import Redis
    from rq import Queue
    from rq.job import Job

    connection = Redis.from_url(redis_url)
    connection.delete(f"codboard:nudge:webhooks:{CARRIER_ID}")
    queue = Queue("carriers", connection=connection)
    deleted = 0
    for job_id in queue.get_job_ids():
        job = Job.fetch(job_id, connection=connection)
        if (job.func_name or "").endswith("apply_webhooks") and tuple(job.args) == (
                CARRIER_ID,) and job.enqueued_at and job.enqueued_at.timestamp() >= since - 1:
            job.delete()
            deleted += 1
    return deleted


# --- 3. a sandbox webhook to the desk's count ----------------------------------------------


def counts_in(html: str, marker: str | None = None) -> dict[str, int]:
    """Shipping statuses and the count shown beside each badge (data-status="…"), read
    from the innermost link, card, list item, button or cell holding both; after
    `marker` when given (the orders list also has confirmation badges)."""
    if marker is not None:
        at = html.find(marker)
        if at < 0:
            return {}
        html = html[at:]
    found: dict[str, int] = {}
    for match in re.finditer(r'data-status="([a-z_]+)"', html):
        status = match.group(1)
        if status in SHIPPING_STATUSES and status not in found:
            number = _number_around(html, match.start())
            if number is not None:
                found[status] = number
    return found


CONTAINERS = ("a", "article", "li", "button", "td", "dd")


def _number_around(html: str, pos: int) -> int | None:
    """The one number in the text of the innermost container element around pos."""
    best: tuple[int, int] | None = None
    for tag in CONTAINERS:
        opening = re.compile(rf"<{tag}[\s>]")
        start = None
        for found in opening.finditer(html, 0, pos):
            start = found.start()
        if start is None or html.find(f"</{tag}>", start, pos) >= 0:
            continue
        end = html.find(f"</{tag}>", pos)
        if end >= 0 and (best is None or start > best[0]):
            best = (start, end)
    if best is None:
        return None
    words = re.sub(r"<[^>]*>", " ", html[best[0]:best[1]])
    numbers = [int(re.sub(r"\D", "", n)) for n in re.findall(r"\d[\d,\u202f\u00a0]*", words)]
    return numbers[0] if len(numbers) == 1 else None


def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Status → change of its count, for the counts that changed."""
    return {k: after[k] - before[k] for k in before if k in after and after[k] != before[k]}


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM a child's process group, SIGKILL it after 15 s."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class Desk:
    """The operator's view of the counts: /shipping/, else /orders/ when the desk shows none."""

    def __init__(self, base: str, cookie: str, user_agent: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.headers["User-Agent"] = user_agent
        self.http.cookies.set("session", cookie)
        self.path, self.marker, self.note = "/shipping/", None, ""
        answer = self.http.get(base + "/shipping/", timeout=60, allow_redirects=False)
        if answer.status_code != 200 or "shipped" not in counts_in(answer.text):
            self.path, self.marker = "/orders/", ORDERS_SHIPPING_NAV
            self.note = (f"/shipping/ answered {answer.status_code} without a Shipped count: "
                         "polled the /orders/ counts instead (same 2 s counter cache)")

    def counts(self) -> dict[str, int]:
        """The counts shown now (empty when the page did not answer 200)."""
        answer = self.http.get(self.base + self.path, timeout=30, allow_redirects=False)
        return counts_in(answer.text, self.marker) if answer.status_code == 200 else {}


def _wait(check: Callable[[], bool], bound: float, step: float = 0.1) -> bool:
    """Call check until it is true or `bound` seconds have passed."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


def _pending_webhooks(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT COUNT(*) FROM carrier_webhooks WHERE carrier_id = :c"
            " AND processed_at IS NULL"), {"c": CARRIER_ID}).scalar()


class RqWorker:
    """One `rq worker` on all queues, in a session of its own, stopped by this process."""

    def __init__(self, env: dict, redis_url: str) -> None:
        from workers import QUEUE_NAMES

        self.redis_url = redis_url
        self.log_path = generate.DATA_DIR / "rq-worker.log"
        # The worker class production runs (README): the app is built once, then forked.
        self.command = [str(Path(sys.executable).parent / "rq"), "worker", "--with-scheduler",
                        "--worker-class", "workers.worker.AppWorker",
                        "--url", redis_url, *QUEUE_NAMES]
        self.env = env
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "RqWorker":
        from redis import Redis
        from rq import Worker

        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command, cwd=generate.ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        connection = Redis.from_url(self.redis_url)
        if not _wait(lambda: bool(Worker.all(connection=connection)) or
                     self.proc.poll() is not None, 30):
            self.__exit__()
            raise RuntimeError("rq worker did not register within 30 s")
        if self.proc.poll() is not None:
            raise RuntimeError(f"rq worker exited with code {self.proc.returncode}; see "
                               f"{self.log_path}")
        return self

    def __exit__(self, *exc_info) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        stop_group(proc)


def _pick_orders(engine, count: int) -> list[dict]:
    """Fulfilled carrier orders of the sandbox carrier without a parcel, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            f"SELECT id, customer_name, phone, address, city, cod_amount_cents, currency"
            f" FROM orders o WHERE {ELIGIBLE} AND shipping_status = 'fulfilled'"
            " AND NOT EXISTS (SELECT 1 FROM parcels p WHERE p.order_id = o.id)"
            " ORDER BY id DESC LIMIT :n"), {"carrier": CARRIER_ID, "n": count}).mappings().all()
    return [dict(row) for row in rows]


def _register(base: str, order: dict, engine) -> str:
    """Register the order's parcel at the sandbox (callback: our webhook) and record the
    parcel on our side, as the registration job would; its tracking number."""
    from models.base import utcnow

    answer = requests.post(
        f"{base}/sandbox/carrier/parcels", timeout=30,
        headers={"Authorization": f"Bearer {SECRET}",
                 "Idempotency-Key": f"bench-{order['id']}-{secrets.token_hex(4)}"},
        json={"reference": f"#{order['id']}", "customer_name": order["customer_name"],
              "phone": order["phone"], "address": order["address"], "city": order["city"],
              "cod_amount_cents": order["cod_amount_cents"], "currency": order["currency"],
              "items": [], "callback_url": base + WEBHOOK_PATH})
    if answer.status_code not in (200, 201):
        raise RuntimeError(f"sandbox registration answered {answer.status_code}: "
                           f"{answer.text[:200]}")
    number = answer.json()["tracking_number"]
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO parcels (order_id, carrier_id, tracking_number, idempotency_key,"
            " registered_at, handed_over_at, final, detected_by, detection_confidence,"
            " created_at, updated_at) VALUES (:order, :carrier, :tn, :key, :now, :now,"
            " :final, 'order', 100, :now, :now)"),
            {"order": order["id"], "carrier": CARRIER_ID, "tn": number,
             "key": f"bench-latency-{order['id']}", "now": now, "final": False})
    return number


def _one_journey(base: str, desk: Desk, order: dict, engine) -> dict:
    """Register, hand over, then time the push of the pickup until the counts move."""
    number = _register(base, order, engine)
    # The label's INFO_RECEIVED arrives long before pickup in real life: not timed.
    requests.post(f"{base}/sandbox/carrier/push", timeout=60).raise_for_status()
    if not _wait(lambda: _pending_webhooks(engine) == 0, SETTLE_S):
        raise RuntimeError("the worker did not apply the INFO_RECEIVED webhook within "
                           f"{SETTLE_S:g} s")
    picked = requests.post(f"{base}/sandbox/carrier/pickups", timeout=30,
                           headers={"Authorization": f"Bearer {SECRET}"},
                           json={"tracking_numbers": [number]})
    if number not in picked.json().get("picked_up", []):
        raise RuntimeError(f"the sandbox did not pick up {number}: {picked.text[:200]}")
    time.sleep(CACHE_S)  # every web process's counts are fresh after this
    before = desk.counts()
    if "shipped" not in before:
        raise RuntimeError(f"no Shipped count on {desk.path}")
    pushed: dict = {}

    def push() -> None:
        started = time.monotonic()
        answer = requests.post(f"{base}/sandbox/carrier/push", timeout=60)
        pushed.update(status=answer.status_code, sent=answer.json().get("sent"),
                      seconds=round(time.monotonic() - started, 3))

    sender = threading.Thread(target=push, daemon=True)
    started = time.monotonic()
    sender.start()
    polls, change, seen = 0, {}, before
    while time.monotonic() - started < POLL_BOUND_S:
        tick = time.monotonic()
        seen = desk.counts()
        polls += 1
        change = moved(before, seen) if seen else {}
        if change:
            break
        time.sleep(max(0.0, POLL_S - (time.monotonic() - tick)))
    seconds = time.monotonic() - started
    sender.join(60)
    _wait(lambda: _pending_webhooks(engine) == 0, SETTLE_S)
    return {"order_id": order["id"], "tracking_number": number,
            "seconds": round(seconds, 3) if change else None, "moved": change,
            "polls": polls, "push": pushed}


def measure_desk_latency(url: str, make_server: Callable[[str], object],
                         login: Callable[[str, str], str], user_agent: str,
                         repeats: int = LATENCY_REPEATS) -> dict:
    """Measurement 3: see the module's docstring. Restores the data set whatever happens."""
    from workers.redis_server import PrivateRedis

    result: dict = {
        "name": LATENCY, "kind": "gunicorn + 1 rq worker", "repeats": repeats,
        "description": "a sandbox parcel picked up: from the sandbox pushing its PICKED_UP "
                       "webhook to a moved count (Fulfilled → Shipped) on the operator's "
                       "desk, polled every 100 ms (bounded at 60 s); the desk's 2 s count "
                       "cache included",
        "target": f"< {LATENCY_TARGET_S:g} s with one worker",
        "restore": "orders put back from bench_shipping_undo; the parcels, their events, "
                   "audit events, webhook rows and sandbox parcels deleted; counters rebuilt",
    }
    engine = create_engine(url)
    redis = PrivateRedis(datadir=str(generate.DATA_DIR / "redis-latency"))
    try:
        redis.start()
        orders = _pick_orders(engine, repeats)
        if len(orders) < repeats:
            raise RuntimeError(f"only {len(orders)} fulfilled sandbox-carrier orders without "
                               "a parcel")
        with engine.begin() as conn:
            ids = ", ".join(str(o["id"]) for o in orders)
            remember(conn, f"id IN ({ids})")
        server = make_server(redis.url)
        server.env.update(SANDBOX_ENABLED="1", SANDBOX_STEP_SECONDS=str(LATENCY_STEP_SECONDS),
                          PUBLIC_URL=server.base)
        with server, RqWorker(server.env, redis.url):
            desk = Desk(server.base, login(server.base, generate.LOGINS["operator"]),
                        user_agent)
            result["page"] = desk.path
            if desk.note:
                result["note"] = desk.note
                say(f"{LATENCY}: {desk.note}")
            runs = []
            for order in orders:
                runs.append(_one_journey(server.base, desk, order, engine))
                say(f"{LATENCY}: order {order['id']}: "
                    + (f"{runs[-1]['seconds']:.2f} s ({runs[-1]['moved']})"
                       if runs[-1]["seconds"] is not None else "no move within 60 s"))
        result["runs"] = runs
        times = [r["seconds"] for r in runs if r["seconds"] is not None]
        result.update(status="ok" if len(times) == len(runs) else "failed",
                      median_s=round(statistics.median(times), 3) if times else None,
                      max_s=round(max(times), 3) if times else None,
                      gunicorn=server.settings.label)
        if result["status"] != "ok":
            result["reason"] = f"{len(runs) - len(times)} of {len(runs)} never moved in 60 s"
    except Exception as exc:  # report it; the data set is restored below either way
        result.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
    finally:
        redis.stop()
        engine.dispose()
        result["restored"] = restore(url, vacuum=False)
    result["verdict"] = latency_verdict(result)
    return result


def latency_verdict(result: dict) -> str:
    """Against < 10 s (every repetition)."""
    if result.get("status") != "ok":
        return f"not measured ({result.get('reason')})"
    return "pass" if result["max_s"] < LATENCY_TARGET_S else f"FAIL: max {result['max_s']:.1f} s"


# --- lines -------------------------------------------------------------------------------


def line(result: dict) -> str:
    """One measurement's figures on one line."""
    name = f"{result['name']:<26}"
    if result.get("status") != "ok" and result["name"] != LATENCY:
        return f"{name} FAILED: {result.get('reason')}"
    if result["name"] == EVENTS:
        one, jobs = result["one_batch"], result["job_batches"]
        return (f"{name} {result['events']:,} events: one batch {one['seconds']:.2f} s "
                f"(floor {one['baseline_seconds']:.2f} s, × {one['ratio_to_baseline']}); "
                f"{jobs['batches']} job batches of {JOB_PARCELS:,} parcels "
                f"{jobs['seconds']:.2f} s (median {jobs['batch_median_s']:.2f} s, "
                f"max {jobs['batch_max_s']:.2f} s; floor {jobs['baseline_seconds']:.2f} s, "
                f"× {jobs['ratio_to_baseline']})  target ≤ {EVENTS_TARGET_S:g} s: "
                f"{result['verdict']}\n{'':<27}one batch's time: " + ", ".join(
                    f"{k} {v:.2f} s" for k, v in one["phases_s"].items()))
    if result.get("status") != "ok":
        return f"{name} FAILED: {result.get('reason')}"
    return (f"{name} webhook → desk count: median {result['median_s']:.2f} s, max "
            f"{result['max_s']:.2f} s over {len(result['runs'])} ({result['page']})  "
            f"target < {LATENCY_TARGET_S:g} s: {result['verdict']}")


__all__ = ["EVENTS", "LATENCY", "MEASUREMENTS", "WEBHOOK", "counts_in", "measure_desk_latency",
           "measure_events"]
