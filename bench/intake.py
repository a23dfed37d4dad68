"""Intake measurements: a CSV file of 100,000 rows through the import jobs, and order
creation over the JSON API.

- `intake_csv` (in this process, before the server starts): a realistic order file
  (names, Moroccan phones typed in mixed formats, addresses, 1–3 rows per order, the
  catalogue's SKUs, ~2 % of the orders refused for an unknown SKU or a phone that is
  not one) of 100,000 rows (N/10 on a smaller data set), uploaded to the CSV channel
  and run through the app's own jobs in this process: `check_csv` (the preview's
  counts and refused rows), then `import_csv` (read the file again, create the valid
  orders through `create_orders(..., source="csv", strict=True)` and COMMIT chunk by
  chunk). Baseline measured just before: the bare floor, COPY the same already-parsed
  order rows into a temporary table + `INSERT INTO orders … SELECT` (rolled back).
  Both start from a vacuumed table right after a CHECKPOINT (PostgreSQL).
- `api_orders` (a wrk scenario of bench.scenarios, on the shared server):
  `POST /api/v1/orders` with a bearer key of the API channel issued for the run,
  every request a new order (bench/api_orders.lua gives each its own external id).
  Any answer but 201 is a failure.

Every change is undone: before anything is written a `bench_meta` row marks the data
set; `restore()` deletes the orders whose external id starts with BENCH- on the two
channels, with their lines and audit events, the uploads and the key, puts the
channels' imported counts back and rebuilds the status counters. A run that died
midway is restored at the next run's start.
"""

import csv
import io
import json
import random
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from commands.demo import ORDER_NOTES, format_phone

from . import generate
from .shipping import _app

CSV, API = "intake_csv", "api_orders"
# Measured outside wrk; API is a wrk scenario in bench.scenarios.
MEASUREMENTS = (CSV,)

# -- targets (the issue's) ----------------------------------------------------------------
CSV_TARGET_S = 15.0  # 100,000 rows checked and inserted at 1,000,000 orders, PostgreSQL
API_TARGET_RATIO = 0.2  # POST /api/v1/orders req/s over the minimal route's
FULL_ROWS = 100_000

CSV_CHANNEL_ID = next(c[0] for c in generate.CHANNELS if c[2] == "csv")
API_CHANNEL_ID = next(c[0] for c in generate.CHANNELS if c[2] == "api")
ID_PREFIX = "BENCH-"  # every order the measurements make; the generator's never start so
UNDO_KEY = "intake_undo"
UPLOAD_PREFIX = "bench-intake-"
KEY_NAME = "codboard bench"
LINE_REFS = "bench_intake_line_refs"
SEED = 928

# -- the file ---------------------------------------------------------------------------------
LINES_PER_ORDER = ((1, 50), (2, 30), (3, 20))  # (rows, share in %)
BAD_PHONE_SHARE = 0.01
UNKNOWN_SKU_SHARE = 0.01
BAD_PHONES = ("06 12 3", "pas de numéro", "0612", "—")
RETIRED_SUFFIX = "-OLD"  # no variant of the generated catalogue ends so
SHIPPING_METHODS = ("Standard", "Standard", "Express", "")

# -- the API ----------------------------------------------------------------------------------
API_PATH = "/api/v1/orders"
API_LUA = Path(__file__).resolve().parent / "api_orders.lua"
API_BODIES = 2000  # templates each wrk thread cycles through, each time with a new id
API_THREADS = 2
ID_MARK = "@ID@"
STATEMENT_TIMEOUT_MS = 300_000


def say(message: str) -> None:
    """Progress line, in the runner's format."""
    print(f"[bench] {message}", flush=True)


# --- the order file ----------------------------------------------------------------------------


def row_count(n: int) -> int:
    """100,000 rows for 1,000,000 orders; a tenth of the orders on a smaller data set."""
    return min(FULL_ROWS, max(1000, n // 10))


def _money(cents: int, comma: bool = False) -> str:
    """12900 as "129.00" (or "129,00", as French spreadsheets write it)."""
    text_ = f"{cents // 100}.{cents % 100:02d}"
    return text_.replace(".", ",") if comma else text_


def _customer(rng: random.Random) -> dict:
    """A customer as the shop's form received them (the generator's own mix)."""
    name, number, style, address, city = generate._customer(rng)
    city_name, region = generate.CITIES[city]
    return {"customer_name": name, "phone": format_phone(number, style), "address": address,
            "city": city_name, "region": region if rng.random() < 0.6 else ""}


def _lines(rng: random.Random, catalogue: list[tuple[str, int]], count: int) -> list[dict]:
    """`count` distinct products with quantities, each priced or left to the catalogue."""
    lines = []
    for sku, price in rng.sample(catalogue, count):
        quantity = 1 if rng.random() < 0.75 else rng.randint(2, 3)
        lines.append({"sku": sku, "quantity": quantity, "price": price,
                      "priced": rng.random() < 0.4})
    return lines


def _cod(lines: list[dict]) -> int:
    """What the courier collects: the lines, plus shipping under the free threshold."""
    total = sum(line["quantity"] * line["price"] for line in lines)
    return total + (generate.SHIPPING_FEE_CENTS if total < generate.FREE_SHIPPING_FROM_CENTS
                    else 0)


def csv_rows(count: int, catalogue: list[tuple[str, int]], run: str,
             seed: int = SEED) -> tuple[list[list[str]], dict[str, int]]:
    """Exactly `count` data rows of an order file (header first) and what a check must
    find in them: orders, rows, and the orders and rows to be refused."""
    rng = random.Random(f"{seed}:csv")
    sizes, weights = zip(*LINES_PER_ORDER, strict=True)
    header = ["order_id", "customer_name", "phone", "address", "city", "region", "sku",
              "quantity", "unit_price", "cod_amount", "currency", "shipping_method", "note"]
    rows, expected = [header], {"rows": count, "orders": 0, "refused_orders": 0,
                                "refused_rows": 0, "bad_phone": 0, "unknown_sku": 0}
    while len(rows) - 1 < count:
        size = min(rng.choices(sizes, weights)[0], count - (len(rows) - 1))
        customer, lines = _customer(rng), _lines(rng, catalogue, size)
        cod = _cod(lines)
        flaw = rng.random()
        if flaw < BAD_PHONE_SHARE:
            customer["phone"] = rng.choice(BAD_PHONES)
            expected["bad_phone"] += 1
        elif flaw < BAD_PHONE_SHARE + UNKNOWN_SKU_SHARE:
            rng.choice(lines)["sku"] += RETIRED_SUFFIX
            expected["unknown_sku"] += 1
        if flaw < BAD_PHONE_SHARE + UNKNOWN_SKU_SHARE:
            expected["refused_orders"] += 1
            expected["refused_rows"] += size
        order_id = f"{ID_PREFIX}{run}-{expected['orders'] + 1:06d}"
        expected["orders"] += 1
        comma = rng.random() < 0.5
        for n, line in enumerate(lines):
            first = n == 0
            rows.append([
                order_id, customer["customer_name"], customer["phone"], customer["address"],
                customer["city"], customer["region"], line["sku"], str(line["quantity"]),
                _money(line["price"], comma) if line["priced"] else "",
                _money(cod) if first and rng.random() < 0.5 else "",
                "MAD" if first and rng.random() < 0.3 else "",
                rng.choice(SHIPPING_METHODS) if first else "",
                rng.choice(ORDER_NOTES) if first and rng.random() < 0.08 else "",
            ])
    return rows, expected


def csv_bytes(rows: list[list[str]]) -> bytes:
    """The rows as a spreadsheet's "CSV UTF-8" export: byte order mark, commas, CRLF."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8-sig")


# --- undo and restore ----------------------------------------------------------------------------


def _ours(alias: str = "") -> str:
    """SQL condition for the orders the measurements made."""
    prefix = f"{alias}." if alias else ""
    return (f"{prefix}channel_id IN ({CSV_CHANNEL_ID}, {API_CHANNEL_ID})"
            f" AND {prefix}external_id LIKE '{ID_PREFIX}%'")


def remember(conn) -> None:
    """Mark the data set as changed before anything is written (restored at the next start
    if this run dies), with the two channels' imported counts as they were."""
    if conn.execute(text("SELECT 1 FROM bench_meta WHERE key = :k"),
                    {"k": UNDO_KEY}).first() is None:
        counts = dict(conn.execute(text(
            f"SELECT id, orders_imported FROM channels WHERE id IN ({CSV_CHANNEL_ID},"
            f" {API_CHANNEL_ID})")).all())
        conn.execute(text("INSERT INTO bench_meta (key, value) VALUES (:k, :v)"),
                     {"k": UNDO_KEY, "v": json.dumps({"orders_imported": counts})})


def _saved_counts(marker: str | None) -> dict:
    """The channels' imported counts a marker saved (none in an earlier run's marker)."""
    try:
        return json.loads(marker or "{}").get("orders_imported", {})
    except (ValueError, AttributeError):
        return {}


def needs_restore(url: str) -> bool:
    """True when an intake measurement's changes may still be in the data set."""
    return generate.meta_marked(url, UNDO_KEY)


def restore(url: str, vacuum: bool = False) -> dict:
    """Undo everything the intake measurements wrote (see the module's docstring)."""
    from extensions import db
    from models.orders.counters import rebuild_counts

    started = time.monotonic()
    app = _app(url)
    done: dict = {}
    with app.app_context():
        conn = db.session.connection()
        conn.execute(text("CREATE TEMPORARY TABLE bench_intake_ours"
                          " (id INTEGER PRIMARY KEY, channel_id INTEGER)"))
        conn.execute(text("INSERT INTO bench_intake_ours (id, channel_id)"
                          f" SELECT id, channel_id FROM orders WHERE {_ours()}"))
        done["audit_events"] = conn.execute(text(
            "DELETE FROM audit_events WHERE order_id IN (SELECT id FROM bench_intake_ours)"
        )).rowcount
        # Deleting a line makes the database look for audit events naming it, and
        # audit_events.order_line_id has no index: a scan of the whole table per line. An
        # index of this transaction only (dropped before COMMIT) makes those look-ups
        # instant; it is partial and tiny, as the generated events name no line.
        conn.execute(text(f"CREATE INDEX {LINE_REFS} ON audit_events (order_line_id)"
                          " WHERE order_line_id IS NOT NULL"))
        done["order_lines"] = conn.execute(text(
            "DELETE FROM order_lines WHERE order_id IN (SELECT id FROM bench_intake_ours)"
        )).rowcount
        conn.execute(text(f"DROP INDEX {LINE_REFS}"))
        marker = conn.execute(text("SELECT value FROM bench_meta WHERE key = :k"),
                              {"k": UNDO_KEY}).scalar()
        for channel_id, count in _saved_counts(marker).items():
            conn.execute(text("UPDATE channels SET orders_imported = :n WHERE id = :c"),
                         {"n": count, "c": int(channel_id)})
        done["orders"] = conn.execute(text(
            "DELETE FROM orders WHERE id IN (SELECT id FROM bench_intake_ours)")).rowcount
        conn.execute(text("DROP TABLE bench_intake_ours"))
        done["csv_imports"] = conn.execute(text(
            "DELETE FROM csv_imports WHERE filename LIKE :f"), {"f": UPLOAD_PREFIX + "%"}
        ).rowcount
        done["api_keys"] = conn.execute(text("DELETE FROM api_keys WHERE name = :n"),
                                        {"n": KEY_NAME}).rowcount
        conn.execute(text("DELETE FROM audit_events WHERE order_id IS NULL"
                          " AND kind = 'api_key' AND note LIKE :n"),
                     {"n": f"%“{KEY_NAME}”%"})
        if done["orders"]:
            rebuild_counts()
        conn.execute(text("DELETE FROM bench_meta WHERE key = :k"), {"k": UNDO_KEY})
        db.session.commit()
        postgres = conn.dialect.name == "postgresql"
        db.session.remove()
        db.engine.dispose()
    if vacuum and postgres and done["orders"]:
        settle(url)
    done["seconds"] = round(time.monotonic() - started, 2)
    return done


def settle(url: str) -> float:
    """Before each timed step on PostgreSQL: VACUUM (ANALYZE) the tables intake writes and
    CHECKPOINT, so the floor and the import start alike. Nothing on SQLite. Its seconds."""
    if not url.startswith("postgresql"):
        return 0.0
    import psycopg

    started = time.monotonic()
    with generate._pg_connect(generate.normalized_url(url), autocommit=True) as pg:
        pg.execute("VACUUM (ANALYZE) orders, order_lines, audit_events, order_status_counts,"
                   " channels, csv_imports")
        try:
            pg.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            pass
    return round(time.monotonic() - started, 1)


# --- 1. the CSV import ----------------------------------------------------------------------------


def _catalogue() -> list[tuple[str, int]]:
    """(SKU, price in cents) of every active product."""
    from extensions import db
    from models.catalog.products import Product

    return [tuple(r) for r in db.session.execute(
        db.select(Product.sku, Product.price_cents).where(Product.active.is_(True))
        .order_by(Product.id)).all()]


def floor_rows(content: bytes, channel) -> list[dict]:
    """The file's valid orders as the orders rows the import inserts, parsed and checked
    by the app's own code (untimed): the floor's input."""
    from models.base import utcnow
    from models.intake import create
    from models.intake.csvfile import check_orders, read_csv
    from models.intake.incoming import Catalogue
    from models.settings import CallSettings

    region = CallSettings.load().phone_region
    mode, now = create._delivery_mode(channel.default_carrier_id), utcnow()
    csv_file = read_csv(content)
    rows = []
    for chunk in csv_file.chunks(csv_file.plan()):
        catalogue = Catalogue.load(line.sku for o in chunk for line in o.incoming.lines)
        check_orders(chunk, catalogue, region)
        for order in chunk:
            if order.ok:
                push, detail = create.push_decision(channel, order.incoming, [], catalogue)
                # The door's own row builder: the floor inserts exactly the same columns.
                rows.append(create._order_row(channel, order.incoming, push, detail, mode,
                                              region, now))
    return rows


def floor_seconds(rows: list[dict]) -> float:
    """The bare floor: COPY the order rows into a temporary table and INSERT INTO orders …
    SELECT from it (executemany on SQLite), timed, then rolled back."""
    from extensions import db
    from models.orders.tables import Order

    db.session.commit()
    conn = db.session.connection()
    postgres = conn.dialect.name == "postgresql"
    columns = list(rows[0])
    types = {c.name: c.type.compile(conn.dialect) for c in Order.__table__.columns}
    names = ", ".join(columns)
    started = time.perf_counter()
    conn.execute(text(f"CREATE TEMPORARY TABLE bench_floor"
                      f" ({', '.join(f'{c} {types[c]}' for c in columns)})"
                      + (" ON COMMIT DROP" if postgres else "")))
    if postgres:
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY bench_floor ({names}) FROM STDIN") \
                as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    else:
        conn.execute(text(f"INSERT INTO bench_floor ({names}) VALUES "
                          f"({', '.join(':' + c for c in columns)})"), rows)
    inserted = conn.execute(text(f"INSERT INTO orders ({names}) SELECT {names}"
                                 " FROM bench_floor")).rowcount
    elapsed = time.perf_counter() - started
    db.session.rollback()
    if not postgres:
        db.session.execute(text("DROP TABLE IF EXISTS temp.bench_floor"))
        db.session.commit()
    if inserted != len(rows):
        raise RuntimeError(f"the floor's INSERT made {inserted} of {len(rows)} orders")
    return elapsed


# (module, name, phase) of the steps timed inside the import job.
INSERT = "insert: route lines, build rows, counters"
ORDERS = "insert orders, their ids back"
LINES_EVENTS = "insert lines and audit events"
ROUTING = "load routing data"
IMPORT_STEPS = (
    ("models.intake.create", "_insert", INSERT),
    ("models.intake.create", "insert_new_rows", ORDERS),
    ("models.intake.create", "insert_rows", LINES_EVENTS),
    ("models.intake.routing", "Router.load", ROUTING),
    ("models.intake.incoming", "Catalogue.load", "load the catalogue"),
    ("models.intake.create", "check_order", "check each order (the door)"),
    ("models.intake.create", "existing_orders", "look up known order ids"),
    ("workers.imports", "existing_orders", "look up known order ids"),
)
# Steps timed inside another one: their time is taken out of the outer step's.
INSIDE = {ORDERS: INSERT, LINES_EVENTS: INSERT, ROUTING: INSERT}
INSERT_PHASES = (INSERT, ORDERS, LINES_EVENTS, ROUTING, "commit")


@contextmanager
def phase_timer(phases: dict[str, float],
                steps: tuple = IMPORT_STEPS) -> Iterator[dict[str, float]]:
    """Add the time spent in each named step, and in every COMMIT, to `phases` while inside.

    Wraps the modules' own names for the duration (a few calls per chunk, no measurable
    cost); a step a module no longer has is simply not broken out.
    """
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    def add(key: str, seconds: float) -> None:
        phases[key] = phases.get(key, 0.0) + seconds

    def timed(original: Callable, label: str) -> Callable:
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                add(label, time.perf_counter() - started)
        return run

    commits: list[float] = []

    def before_commit(_session) -> None:
        commits.append(time.perf_counter())

    def after_commit(_session) -> None:
        if commits:
            add("commit", time.perf_counter() - commits.pop())

    originals = []
    for module_name, name, label in steps:
        owner = import_module(module_name)
        *path, name = name.split(".")  # "Catalogue.load": a class's method
        for part in path:
            owner = getattr(owner, part, None)
        if owner is not None and hasattr(owner, name):
            # The attribute as stored (a classmethod stays one when put back).
            originals.append((owner, name, vars(owner).get(name, getattr(owner, name))))
            setattr(owner, name, timed(getattr(owner, name), label))
    event.listen(Session, "before_commit", before_commit)
    event.listen(Session, "after_commit", after_commit)
    try:
        yield phases
    finally:
        event.remove(Session, "before_commit", before_commit)
        event.remove(Session, "after_commit", after_commit)
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)


def _upload_state(import_id: int) -> dict:
    """The upload's counters as the import page shows them."""
    from extensions import db

    row = db.session.execute(text(
        "SELECT state, total_rows, valid_orders, rejected_rows, created_orders,"
        " existing_orders, error FROM csv_imports WHERE id = :i"), {"i": import_id}).mappings()
    found = dict(row.one())
    db.session.commit()
    return found


def _run_jobs(url: str, channel_id: int, user_id: int, content: bytes, run: str,
              cpu_share: Callable | None) -> dict:
    """Upload the file, then time the check job and the import job, as a manager runs
    them (the jobs' own functions, called in this process); who used the CPU meanwhile."""
    from extensions import db
    from workers.imports import begin_import, check_csv, import_csv, store_upload

    import_id = store_upload(channel_id, f"{UPLOAD_PREFIX}{run}.csv", content, user_id)
    db.session.commit()
    settled = settle(url)
    share = cpu_share() if cpu_share else None
    started = time.perf_counter()
    check_csv(import_id)
    check_s = time.perf_counter() - started
    checked = _upload_state(import_id)
    if checked["state"] != "checked":
        raise RuntimeError(f"the check ended {checked['state']}: {checked['error']}")
    if not begin_import(import_id):
        raise RuntimeError("the checked upload has no order to import")
    db.session.commit()
    phases: dict[str, float] = {}
    started = time.perf_counter()
    with phase_timer(phases):
        import_csv(import_id, user_id)
    import_s = time.perf_counter() - started
    cpu = share.stop() if share else None
    imported = _upload_state(import_id)
    if imported["state"] != "imported":
        raise RuntimeError(f"the import ended {imported['state']}: {imported['error']}")
    for inner, outer in INSIDE.items():
        if inner in phases and outer in phases:
            phases[outer] -= phases[inner]
    insert_s = sum(phases.get(k, 0.0) for k in INSERT_PHASES)
    phases["other (read, decode, parse and group rows; progress)"] = (
        import_s - sum(phases.values()))
    return {"check_job_s": round(check_s, 3), "import_job_s": round(import_s, 3),
            "parse_check_s": round(import_s - insert_s, 3), "insert_s": round(insert_s, 3),
            "phases_s": {k: round(v, 3) for k, v in sorted(phases.items(),
                                                           key=lambda kv: -kv[1])},
            "checked": checked, "imported": imported, "settle_seconds": settled,
            "cpu_percent": cpu}


def measure_csv(url: str, n: int, cpu_share: Callable | None = None) -> dict:
    """Measurement 1: see the module's docstring. Restores the data set whatever happens.
    cpu_share() starts counting who uses the CPU (bench.run.CpuShare) during both jobs."""
    from extensions import db
    from models.catalog.sales import Channel
    from models.user import User

    count = row_count(n)
    kind = "postgresql" if url.startswith("postgresql") else "sqlite"
    result: dict = {
        "name": CSV, "kind": "in-process", "database": kind, "orders": n, "rows": count,
        "description": f"an order file of {count:,} rows (1–3 rows an order, ~2 % of the "
                      "orders refused: unknown SKU or not a phone) uploaded to the CSV "
                      "channel: the check job (preview counts, refused rows), then the import "
                      "job (read the file again, create_orders source=csv strict, COMMIT "
                      "per chunk of orders), the jobs' own functions in this process",
        "baseline": "COPY the same parsed order rows into a temporary table + INSERT INTO "
                    "orders … SELECT, rolled back (executemany INSERT on SQLite)",
        "target": f"≤ {CSV_TARGET_S:g} s for {FULL_ROWS:,} rows at 1,000,000 orders "
                  "(PostgreSQL)",
        "restore": "orders BENCH-* deleted with their lines and audit events, the upload "
                   "deleted, the channel's imported count put back, counters rebuilt, "
                   "VACUUM (ANALYZE) on PostgreSQL",
    }
    say(f"{CSV}: {count:,} rows into channel {CSV_CHANNEL_ID} on {kind}, {n:,} orders")
    run = secrets.token_hex(4)
    try:
        app = _app(url)
        with app.app_context():
            channel = db.session.get(Channel, CSV_CHANNEL_ID)
            user = db.session.execute(db.select(User).where(
                User.username == generate.LOGINS["manager"])).scalar_one()
            started = time.perf_counter()
            rows, expected = csv_rows(count, _catalogue(), run)
            content = csv_bytes(rows)
            result.update(expected=expected, file_bytes=len(content),
                          file_seconds=round(time.perf_counter() - started, 2))
            remember(db.session.connection())
            db.session.commit()
            floor_input = floor_rows(content, channel)
            result["valid_orders"] = len(floor_input)
            settled = settle(url)
            floor = floor_seconds(floor_input)
            result.update(_run_jobs(url, channel.id, user.id, content, run, cpu_share))
            result["settle_seconds"] += settled
            db.session.remove()
            db.engine.dispose()
        result.update(baseline_seconds=round(floor, 3),
                      ratio_to_baseline=round(result["import_job_s"] / floor, 2),
                      rows_per_s=round(count / result["import_job_s"]),
                      check_and_import_s=round(result["check_job_s"]
                                               + result["import_job_s"], 3))
        result["status"] = "ok"
        result["summary"], result["baseline_summary"] = csv_summary(result)
        made, wanted = result["imported"]["created_orders"], len(floor_input)
        refused = result["checked"]["rejected_rows"]
        if (made, refused) != (wanted, expected["refused_rows"]):
            result.update(status="failed", reason=f"{made} orders created of {wanted}, "
                          f"{refused} rows refused of {expected['refused_rows']}")
    except Exception as exc:  # report it; the data set is restored below either way
        result.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
    finally:
        result["restored"] = restore(url, vacuum=True)
    result["verdict"] = csv_verdict(result)
    return result


def csv_verdict(result: dict) -> str:
    """The import job against ≤ 15 s, when measured in the target's setting; the check
    job before it is said too."""
    if result.get("status") != "ok":
        return f"not measured ({result.get('reason')})"
    import_s, both = result["import_job_s"], result["check_and_import_s"]
    verdict = (f"import {'pass' if import_s <= CSV_TARGET_S else 'FAIL'}; check + import "
               f"{both:.1f} s {'within' if both <= CSV_TARGET_S else 'over'} "
               f"{CSV_TARGET_S:g} s")
    if (result["database"] != "postgresql" or result["rows"] < FULL_ROWS
            or result["orders"] < generate.FULL_N):
        return f"no verdict: not the target's setting ({verdict} at this size)"
    return verdict


def cpu_note(result: dict) -> str:
    """Who used the CPU during the two jobs, when it was counted."""
    cpu = result.get("cpu_percent")
    if not cpu:
        return ""
    return (f"; CPU during the jobs: this process {cpu['bench']:.0f} %, PostgreSQL "
            f"{cpu['database']:.0f} %, other programs {cpu['other']:.0f} %")


def csv_summary(result: dict) -> tuple[str, str]:
    """(measured, baseline) for the Markdown table."""
    imported = result["imported"]
    phases = result["phases_s"]
    measured = (f"{result['rows']:,} rows: check job {result['check_job_s']:.2f} s, import "
                f"job {result['import_job_s']:.2f} s ({result['rows_per_s']:,} rows/s; parse "
                f"+ check {result['parse_check_s']:.2f} s, insert + commit "
                f"{result['insert_s']:.2f} s); {imported['created_orders']:,} orders created, "
                f"{result['checked']['rejected_rows']:,} rows refused; "
                + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()) + cpu_note(result))
    baseline = (f"COPY + INSERT … SELECT of {result['valid_orders']:,} orders "
                f"{result['baseline_seconds']:.2f} s (import × {result['ratio_to_baseline']})")
    return measured, baseline


# --- 2. the orders API (a wrk scenario) --------------------------------------------------------


def api_bodies(count: int, catalogue: list[tuple[str, int]],
               seed: int = SEED) -> list[str]:
    """`count` order documents as a shop's backend sends them, each with ID_MARK where its
    external id goes (wrk puts a new one there on every request)."""
    rng = random.Random(f"{seed}:api")
    sizes, weights = zip(*LINES_PER_ORDER, strict=True)
    bodies = []
    for _ in range(count):
        customer = _customer(rng)
        lines = _lines(rng, catalogue, rng.choices(sizes, weights)[0])
        document = {
            "external_id": ID_MARK,
            "customer": {"name": customer["customer_name"], "phone": customer["phone"],
                         "address": customer["address"], "city": customer["city"],
                         "region": customer["region"]},
            "lines": [{"sku": line["sku"], "quantity": line["quantity"],
                       **({"unit_price": _money(line["price"])} if line["priced"] else {})}
                      for line in lines],
            "shipping_method": rng.choice(SHIPPING_METHODS),
        }
        if rng.random() < 0.5:
            document["cod_amount"] = _money(_cod(lines))
        if rng.random() < 0.08:
            document["note"] = rng.choice(ORDER_NOTES)
        bodies.append(json.dumps(document, ensure_ascii=False, separators=(",", ":")))
    return bodies


def write_bodies(path: Path, token: str, bodies: list[str]) -> Path:
    """The file api_orders.lua reads: "run <token>", then one body a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"run {token}\n" + "".join(body + "\n" for body in bodies),
                    encoding="utf-8")
    return path


def with_id(body: str, external_id: str) -> str:
    """A body with its external id filled in, as api_orders.lua sends it."""
    head, _, tail = body.partition(ID_MARK)
    return head + external_id + tail


def issue_api_key(url: str) -> str:
    """A new key of the API channel, stored hashed as the app does; its plain text."""
    from extensions import db
    from models.actor import Actor
    from models.catalog.sales import Channel
    from models.intake.api_keys import issue_key

    app = _app(url)
    with app.app_context():
        remember(db.session.connection())
        db.session.commit()
        _key, token = issue_key(db.session.get(Channel, API_CHANNEL_ID), KEY_NAME,
                                Actor.system("bench"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return token


class ApiRun:
    """One api_orders run's key, bodies files and id prefix."""

    def __init__(self, url: str, directory: Path) -> None:
        self.run = ID_PREFIX + "A" + secrets.token_hex(4)
        self.token = issue_api_key(url)
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                catalogue = [tuple(r) for r in conn.execute(text(
                    "SELECT sku, price_cents FROM products WHERE active = :t ORDER BY id"),
                    {"t": True}).all()]
        finally:
            engine.dispose()
        self.bodies = api_bodies(API_BODIES, catalogue)
        self.warmup_file = write_bodies(directory / "api-orders-warmup.txt", self.run + "w",
                                        self.bodies)
        self.file = write_bodies(directory / "api-orders.txt", self.run + "m", self.bodies)

    def wrk_options(self) -> dict:
        """run_wrk's options for the scenario."""
        return {"lua": API_LUA, "threads": API_THREADS,
                "env": {"BENCH_API_KEY": self.token, "BENCH_API_PATH": API_PATH}}

    def probe(self, base: str, user_agent: str) -> str | None:
        """Why the API cannot be measured (one new order must answer 201), or None."""
        try:
            answer = requests.post(
                base + API_PATH, timeout=30,
                data=with_id(self.bodies[0], self.run + "p").encode("utf-8"),
                headers={"Content-Type": "application/json", "User-Agent": user_agent,
                         "Authorization": f"Bearer {self.token}"})
        except requests.RequestException as exc:
            return f"POST {API_PATH} failed: {exc}"
        if answer.status_code != 201:
            return f"POST {API_PATH} answered {answer.status_code}: {answer.text[:200]}"
        return None


def start_api(url: str, directory: Path, base: str,
              user_agent: str) -> tuple[ApiRun | None, str | None]:
    """The run's key and bodies, and why the API cannot be measured (or None)."""
    try:
        api = ApiRun(url, directory)
    except Exception as exc:  # reported as the scenario's failure; finish_api restores
        return None, f"setting up failed: {type(exc).__name__}: {exc}"
    return api, api.probe(base, user_agent)


def parse_api_counts(output: str) -> dict:
    """201s, other answers and their codes, from api_orders.lua's last line."""
    found = re.search(r"bench-api created=(\d+) other=(\d+) codes=(\S*)", output)
    if not found:
        return {"created": 0, "other": 0, "codes": {}}
    codes = dict(part.split(":") for part in found.group(3).split(",") if part)
    return {"created": int(found.group(1)), "other": int(found.group(2)),
            "codes": {code: int(count) for code, count in sorted(codes.items())}}


def finish_api(url: str, api: ApiRun | None, outputs: list[str]) -> dict:
    """Orders stored vs 201 answers, then the undo. Requests still in flight when wrk
    stopped are stored without being counted by wrk: let them finish first."""
    time.sleep(1.0)
    stored = 0
    if api is not None:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                stored = conn.execute(text(
                    "SELECT COUNT(*) FROM orders WHERE channel_id = :c"
                    " AND external_id LIKE :p"), {"c": API_CHANNEL_ID, "p": api.run + "%"}
                ).scalar()
        finally:
            engine.dispose()
    answers = [parse_api_counts(output) for output in outputs]
    codes: dict[str, int] = {}
    for found in answers:
        for code, count in found["codes"].items():
            codes[code] = codes.get(code, 0) + count
    return {
        "stored_orders": stored,
        # The probe's order, then the warm-up's and the measured run's.
        "created_201": (1 if outputs else 0) + sum(a["created"] for a in answers),
        "measured_created_201": answers[-1]["created"] if answers else 0,
        "other_answers": sum(a["other"] for a in answers),
        "other_codes": codes,
        "restored": restore(url, vacuum=True),
    }


def judge_api(result: dict) -> dict:
    """The scenario fails on any answer but 201 (a 200 is a repeated id, also wrong)."""
    figures = result.get("api_orders") or {}
    if result.get("status") == "ok" and figures.get("other_answers"):
        codes = ", ".join(f"{c}×{n}" for c, n in figures["other_codes"].items())
        result.update(status="failed",
                      reason=f"{figures['other_answers']} answers were not 201 ({codes})")
    return result


def api_note(result: dict) -> str:
    """What the API scenario stored, for the runner's line and the report."""
    figures = result["api_orders"]
    return (f"{figures['stored_orders']:,} orders stored for {figures['created_201']:,} "
            f"answers 201 (probe and warm-up included), {figures['other_answers']} other "
            f"answers; deleted afterwards")


# --- lines ----------------------------------------------------------------------------------


def line(result: dict) -> str:
    """The CSV measurement's figures on one line."""
    name = f"{result['name']:<26}"
    if result.get("status") != "ok":
        return f"{name} FAILED: {result.get('reason')}"
    return (f"{name} {result['rows']:,} rows: check job {result['check_job_s']:.2f} s, "
            f"import job {result['import_job_s']:.2f} s ({result['rows_per_s']:,} rows/s; "
            f"parse + check {result['parse_check_s']:.2f} s, insert + commit "
            f"{result['insert_s']:.2f} s; floor {result['baseline_seconds']:.2f} s, "
            f"× {result['ratio_to_baseline']})  target ≤ {CSV_TARGET_S:g} s: "
            f"{result['verdict']}\n{'':<27}import job's time: " + ", ".join(
                f"{k} {v:.2f} s" for k, v in result["phases_s"].items()) + cpu_note(result))


__all__ = ["API", "CSV", "MEASUREMENTS", "ApiRun", "finish_api", "judge_api", "measure_csv",
           "needs_restore", "restore"]
