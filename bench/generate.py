"""Build the benchmark data set: N orders with a realistic COD spread, bulk-loaded once.

    python -m bench.generate [--database-url URL] [--n N] [--force]

N defaults to 1,000,000 (100,000 with QUICK=1; N=... overrides). The database is
--database-url, else BENCH_DATABASE_URL, else DATABASE_URL, else PostgreSQL's
`codboard_bench` when PostgreSQL answers on 127.0.0.1:5432, else the SQLite file
bench/data/orders-<N>.db. The schema comes from the project's migrations; a
`bench_meta` table records N, the seed, the migration head and fingerprints of the
migrations and of this generator, so a re-run with the same ones does nothing.
"""

import argparse
import hashlib
import json
import math
import os
import random
import socket
import sqlite3
import sys
import time
from bisect import bisect
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from operator import itemgetter
from pathlib import Path

from sqlalchemy import JSON, DateTime, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from commands.demo import (
    AR_FIRST,
    AR_HAY,
    AR_LAST,
    CANCEL_REASONS,
    DROPSHIP,
    FAKE_REASONS,
    FR_FIRST,
    FR_LAST,
    ISSUE_NOTES,
    MA_FIRST,
    MA_LAST,
    ORDER_NOTES,
    PRODUCTS,
    RESIDENCES,
    RETURN_NOTES,
    STREETS,
    format_phone,
)

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench" / "data"
MIGRATIONS = ROOT / "migrations"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/codboard_bench"
FULL_N, QUICK_N = 1_000_000, 100_000
SEED = 1121
# Orders are built and loaded in chunks of this size, each with its own RNG; changing
# it changes the data, so it is part of the generator's fingerprint (this file).
CHUNK = 25_000
DAYS = 180
# The newest day gets 1 + RECENT_BIAS times the orders of the oldest one.
RECENT_BIAS = 2.0
PASSWORD = "bench"
REPEAT_PHONE_SHARE = 0.05
SHIPPING_FEE_CENTS = 30_00
FREE_SHIPPING_FROM_CENTS = 500_00
MAX_EVENTS = 5
# Databases a benchmark must never drop, whatever URL it is given.
PROTECTED_DATABASES = {"test", "postgres", "template0", "template1"}
# Logins the runner uses per role; every user's password is PASSWORD.
LOGINS = {"agent": "agent01", "operator": "operator1", "manager": "manager1", "admin": "admin"}
BIG_TABLES = ("orders", "order_lines", "audit_events")

R_CS, R_RSK, R_FM = "Casablanca-Settat", "Rabat-Salé-Kénitra", "Fès-Meknès"
R_TTA, R_MS, R_OR = "Tanger-Tétouan-Al Hoceïma", "Marrakech-Safi", "L'Oriental"
R_SM, R_BMK, R_DT = "Souss-Massa", "Béni Mellal-Khénifra", "Drâa-Tafilalet"
R_GON, R_LSH, R_DOD = "Guelmim-Oued Noun", "Laâyoune-Sakia El Hamra", "Dakhla-Oued Ed-Dahab"
# Orders from these regions leave from Marrakech; the rest from Casablanca.
SOUTH = {R_MS, R_SM, R_BMK, R_DT, R_GON, R_LSH, R_DOD}
# By population rank: the order share follows a Zipf curve over this list.
CITIES = [
    ("Casablanca", R_CS), ("Fès", R_FM), ("Tanger", R_TTA), ("Marrakech", R_MS),
    ("Salé", R_RSK), ("Meknès", R_FM), ("Rabat", R_RSK), ("Oujda", R_OR), ("Kénitra", R_RSK),
    ("Agadir", R_SM), ("Tétouan", R_TTA), ("Témara", R_RSK), ("Safi", R_MS),
    ("Mohammedia", R_CS), ("Khouribga", R_BMK), ("El Jadida", R_CS), ("Béni Mellal", R_BMK),
    ("Aït Melloul", R_SM), ("Nador", R_OR), ("Dar Bouazza", R_CS), ("Taza", R_FM),
    ("Settat", R_CS), ("Berrechid", R_CS), ("Khémisset", R_RSK), ("Inezgane", R_SM),
    ("Ksar El Kébir", R_TTA), ("Larache", R_TTA), ("Guelmim", R_GON), ("Khénifra", R_BMK),
    ("Berkane", R_OR), ("Taourirt", R_OR), ("Bouskoura", R_CS), ("Fquih Ben Salah", R_BMK),
    ("Oued Zem", R_BMK), ("El Kelâa des Sraghna", R_MS), ("Sidi Slimane", R_RSK),
    ("Errachidia", R_DT), ("Guercif", R_OR), ("Ben Guerir", R_MS), ("Tiflet", R_RSK),
    ("Taroudant", R_SM), ("Sefrou", R_FM), ("Essaouira", R_MS), ("Fnideq", R_TTA),
    ("Sidi Kacem", R_RSK), ("Tiznit", R_SM), ("Tan-Tan", R_GON), ("Ouarzazate", R_DT),
    ("Souk El Arbaâ", R_RSK), ("Youssoufia", R_MS), ("Martil", R_TTA), ("Aïn Harrouda", R_CS),
    ("Skhirat", R_RSK), ("Ouazzane", R_TTA), ("Benslimane", R_CS), ("Al Hoceïma", R_TTA),
    ("Laâyoune", R_LSH), ("Dakhla", R_DOD), ("Midelt", R_DT), ("Chefchaouen", R_TTA),
]
CITY_CUM = list(accumulate(1 / rank for rank in range(1, len(CITIES) + 1)))
# Own drivers cover the two warehouse cities and their suburbs, for part of the orders.
LOCAL_CITIES = {"Casablanca", "Mohammedia", "Dar Bouazza", "Bouskoura", "Aïn Harrouda",
                "Marrakech"}
LOCAL_SHARE = 0.38
AREAS = [
    "Hay Mohammadi", "Hay Salam", "Hay Hassani", "Centre ville", "Hay Nahda", "Al Massira",
    "Hay Riad", "Al Qods", "Hay Al Amal", "Quartier administratif", "Hay Karima", "Hay El Fath",
    "Lotissement Al Wafa", "Hay Essalam", "Bir Anzarane", "Hay Al Houda",
]
# (id, name, kind, external id prefix, share of orders)
CHANNELS = [
    (1, "Boutique Shopify", "shopify", "#", 40),
    (2, "WooCommerce Maroc", "woocommerce", "W-", 25),
    (3, "Landing page promo", "api", "LP-", 15),
    (4, "Facebook Leads", "csv", "FB-", 12),
    (5, "Commandes téléphone", "manual", "TEL-", 8),
]
CHANNEL_CUM = list(accumulate(c[4] for c in CHANNELS))
# (id, name, kind, local delivery, tracking prefix, name in the carrier sync's audit events)
# The first one has API credentials, so its signed webhooks can be measured (bench/shipping.py).
CARRIER_SECRET = "bench-secret"
CARRIERS = [
    (1, "Sandbox Express", "sandbox", False, "SBX", "carrier:sandbox"),
    (2, "Atlas Colis", "sandbox", False, "ATC", "carrier:atlas"),
    (3, "Livraison locale", "local", True, None, None),
]
WAREHOUSES = [(1, "CAS", "Casablanca – Aïn Sebaâ", "Casablanca"),
              (2, "RAK", "Marrakech – Sidi Ghanem", "Marrakech")]
SUPPLIERS = [(1, "Atlas Dropship"), (2, "Souss Import")]
# Variants turn the demo's 30 products into 200: (sku suffix, name suffix, price factor, share)
VARIANTS = [("", "", 1.0, 1.0), ("-NR", " – noir", 1.0, 0.5), ("-BL", " – bleu", 1.0, 0.35),
            ("-X2", " – lot de 2", 1.8, 0.3), ("-RG", " – rouge", 1.0, 0.25),
            ("-PRO", " – édition pro", 1.4, 0.2), ("-ECO", " – pack éco", 0.85, 0.15)]
PRODUCT_COUNT = 200
# Dropship products are ordered less often than stocked ones.
DROPSHIP_SHARE = 0.35

# Outcome -> (share of orders in %, range of the sort key in days). The keys only
# rank the outcomes among the orders: new leads are the freshest, delivered or
# returned parcels the oldest; the shares are exact.
CONFIRMED = 60.0
MIX = {
    "new": (8.0, (0.0, 4.0)),
    "no_answer": (5.0, (0.2, 8.0)),
    "call_later": (3.0, (0.1, 6.0)),
    "canceled": (15.0, (0.5, 180.0)),
    "fake": (9.0, (0.5, 180.0)),
    "created": (CONFIRMED * 0.03, (0.3, 4.0)),
    "fulfilled": (CONFIRMED * 0.025, (0.8, 6.0)),
    "shipped": (CONFIRMED * 0.06, (1.5, 10.0)),
    "package_issue": (CONFIRMED * 0.015, (3.0, 15.0)),
    "delivered": (CONFIRMED * 0.72, (4.0, 180.0)),
    "in_return": (CONFIRMED * 0.02, (5.0, 25.0)),
    "returned": (CONFIRMED * 0.09, (8.0, 180.0)),
    "ship_canceled": (CONFIRMED * 0.04, (1.0, 180.0)),
}
OUTCOMES = list(MIX)
CONFIRMATION_OF = {o: o for o in ("new", "no_answer", "call_later", "canceled", "fake")}
SHIPPING_OF = {"created": "created", "fulfilled": "fulfilled", "shipped": "shipped",
               "package_issue": "package_issue", "delivered": "delivered",
               "in_return": "in_return", "returned": "returned", "ship_canceled": "canceled"}
# Share of orders placed in each hour of the (UTC) day: evenings are busiest.
HOURS = [2, 1, 1, .5, .5, .5, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 6, 6, 7, 8, 9, 9, 7, 4]
HOUR_CUM = [0.0, *accumulate(h / sum(HOURS) for h in HOURS)]
# Speed to lead: the first call comes 1 to FIRST_CALL_MAX minutes after the order arrives,
# most of them early (u³: ~43 % within 15 minutes, median ~23 minutes).
FIRST_CALL_MAX = 180
# Remittances: carriers settle a delivered parcel's cash some days after delivery. Parcels
# delivered SETTLE_AFTER_DAYS ago or earlier are settled at these shares (the older, the
# likelier), through a statement line that is mostly exact, sometimes short or over.
SETTLE_AFTER_DAYS = 10
SETTLED_SHARE = ((20, 0.6), (None, 0.95))  # (delivered under N days ago, share settled)
SHORT_SHARE, OVER_SHARE = 0.04, 0.015
CARRIER_FEE_CENTS = {1: 25_00, 2: 30_00}

ORDER_FIELDS = (
    "id", "channel_id", "external_id", "customer_name", "phone", "phone_normalized", "address",
    "city", "region", "cod_amount_cents", "currency", "confirmation_status", "shipping_status",
    "delivery_mode", "carrier_id", "tracking_number", "attempts", "callback_at",
    "claimed_by_id", "claimed_at", "confirmed_at", "note", "version", "created_at",
    "updated_at", "agent_id", "last_attempt_at", "first_call_at", "shipping_changed_at",
    "remittance", "remitted_cents", "remittance_fees_cents",
)
LINE_FIELDS = ("id", "order_id", "product_id", "sku", "name", "quantity", "unit_price_cents",
               "warehouse_id", "supplier_id")
AUDIT_FIELDS = ("id", "order_id", "order_line_id", "sku", "actor_user_id", "actor_name", "kind",
                "from_value", "to_value", "note", "created_at", "call_seconds")
EPOCH = datetime(1970, 1, 1)


class GenerateError(Exception):
    """The data set cannot be built as asked; the message says what to do."""


def log(message: str) -> None:
    """Progress line, flushed so it shows up while a long step runs."""
    print(f"[generate] {message}", flush=True)


# --- where the data goes -------------------------------------------------------------


def postgres_answers(host: str = "127.0.0.1", port: int = 5432) -> bool:
    """True when something accepts connections on PostgreSQL's port."""
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def sqlite_url(n: int) -> str:
    """The SQLite file for a data set of n orders."""
    return f"sqlite:///{DATA_DIR / f'orders-{n}.db'}"


def default_database_url(n: int) -> str:
    """BENCH_DATABASE_URL, else PostgreSQL when it answers locally, else SQLite."""
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    return DEFAULT_POSTGRES_URL if postgres_answers() else sqlite_url(n)


def default_n(quick: bool) -> int:
    """N from the environment, else 100,000 for a quick run and 1,000,000 otherwise."""
    if os.environ.get("N"):
        return int(os.environ["N"].replace("_", "").replace(",", ""))
    return QUICK_N if quick else FULL_N


def env_flag(name: str) -> bool:
    """An environment switch such as QUICK=1."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def normalized_url(url: str) -> URL:
    """The URL with a relative SQLite path made relative to the project root."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database or str(path) == ":memory:":
            raise GenerateError("the SQLite benchmark database must be a file")
        if not path.is_absolute():
            parsed = parsed.set(database=str(ROOT / path))
    elif parsed.get_backend_name() != "postgresql":
        raise GenerateError(f"unsupported database {parsed.get_backend_name()!r}")
    elif parsed.drivername != "postgresql+psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _pg_connect(url: URL, dbname: str | None = None, **kwargs):
    """A psycopg connection for url (or another database on the same server)."""
    import psycopg

    params = {key: value for key, value in dict(url.query).items() if isinstance(value, str)}
    params.update(
        host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
        dbname=dbname or url.database,
    )
    if url.password:
        params["password"] = url.password
    return psycopg.connect(**params, **kwargs)


# --- fingerprints and the marker table ------------------------------------------------


def migration_head() -> str:
    """The head revision(s) of the project's migrations."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ",".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def _digest(*parts: bytes) -> str:
    """Short SHA-256 of some bytes."""
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part)
    return sha.hexdigest()[:12]


def migrations_fingerprint() -> str:
    """Changes when a revision is rewritten in place, which the head alone would miss."""
    files = sorted((MIGRATIONS / "versions").glob("*.py"))
    return _digest(*(f.name.encode() + f.read_bytes() for f in files))


def generator_fingerprint() -> str:
    """Changes with this file or the demo vocabulary it borrows."""
    vocabulary = (AR_FIRST, AR_HAY, AR_LAST, CANCEL_REASONS, DROPSHIP, FAKE_REASONS, FR_FIRST,
                  FR_LAST, ISSUE_NOTES, MA_FIRST, MA_LAST, ORDER_NOTES, PRODUCTS, RESIDENCES,
                  RETURN_NOTES, STREETS, [format_phone("612345678", s) for s in range(7)])
    return _digest(Path(__file__).read_bytes(), repr(vocabulary).encode())


def expected_meta(n: int, seed: int) -> dict[str, str]:
    """What bench_meta must say for a data set to be reused."""
    return {
        "n": str(n), "seed": str(seed), "head": migration_head(),
        "migrations": migrations_fingerprint(), "generator": generator_fingerprint(),
    }


def meta_marked(url: str, key: str) -> bool:
    """True when bench_meta holds `key`: a measurement's marker that its changes may remain."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if "bench_meta" not in inspect(conn).get_table_names():
                return False
            return conn.execute(text("SELECT 1 FROM bench_meta WHERE key = :k"),
                                {"k": key}).first() is not None
    finally:
        engine.dispose()


def read_meta(url: URL) -> dict[str, str] | None:
    """The marker table's contents plus the database's alembic_version, or None."""
    if url.get_backend_name() == "sqlite" and not Path(url.database).exists():
        return None
    if url.get_backend_name() == "postgresql" and not _pg_database_exists(url):
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            if "bench_meta" not in tables:
                return {"_tables": str(len(tables))}
            meta = dict(conn.execute(text("SELECT key, value FROM bench_meta")).all())
            if "alembic_version" in tables:
                versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
                meta["_alembic_version"] = ",".join(sorted(versions))
            return meta
    finally:
        engine.dispose()


def _pg_database_exists(url: URL) -> bool:
    """True when the server has url's database."""
    with _pg_connect(url, "postgres", autocommit=True) as conn:
        return conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)
        ).fetchone() is not None


def _write_meta(url: URL, values: dict[str, str]) -> None:
    """Create bench_meta if needed and set these keys."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "CREATE TABLE IF NOT EXISTS bench_meta (key VARCHAR(64) PRIMARY KEY, "
                "value TEXT NOT NULL)"
            ))
            for key, value in values.items():
                conn.execute(text("DELETE FROM bench_meta WHERE key = :k"), {"k": key})
                conn.execute(text("INSERT INTO bench_meta (key, value) VALUES (:k, :v)"),
                             {"k": key, "v": value})
    finally:
        engine.dispose()


def _recreate(url: URL, existing: dict[str, str] | None) -> None:
    """Drop and recreate the database or file, refusing anything the generator did not make."""
    name = url.database
    if existing is not None and "state" not in existing and existing.get("_tables") != "0":
        raise GenerateError(
            f"{url.render_as_string(hide_password=True)} exists and was not made by "
            "bench/generate.py (it has tables but no bench_meta); drop it yourself or "
            "point BENCH_DATABASE_URL at another database"
        )
    if url.get_backend_name() == "sqlite":
        path = Path(name)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    from psycopg import sql

    with _pg_connect(url, "postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# --- reference data ---------------------------------------------------------------------


class Reference:
    """Users, channels, carriers, warehouses, suppliers, products and stock: the small tables."""

    def __init__(self, seed: int, as_of: datetime, password_hash: str) -> None:
        rng = random.Random(f"{seed}:reference")
        setup = as_of - timedelta(days=DAYS + 30)
        self.setup = setup
        people = iter(_unique_names(rng, 50))
        self.users = [{"id": 1, "username": "admin", "name": next(people), "role": "admin"}]
        self.users += [{"id": 1 + i, "username": f"manager{i}", "name": next(people),
                        "role": "manager"} for i in range(1, 5)]
        self.users += [{"id": 5 + i, "username": f"operator{i}", "name": next(people),
                        "role": "operator"} for i in range(1, 6)]
        self.users += [{"id": 10 + i, "username": f"agent{i:02d}", "name": next(people),
                        "role": "agent"} for i in range(1, 41)]
        for user in self.users:
            user.update(password_hash=password_hash, created_at=setup, updated_at=setup)
        self.agents = [(u["id"], u["username"]) for u in self.users if u["role"] == "agent"]
        # Some agents take far more calls than others.
        self.agent_cum = list(accumulate(
            rng.uniform(0.4, 1.6) for _ in self.agents))
        self.operators = [(u["id"], u["username"]) for u in self.users if u["role"] == "operator"]

        self.channels = [{"id": i, "name": name, "code": f"{kind}-{i}", "kind": kind,
                          "created_at": setup,
                          "updated_at": setup} for i, name, kind, _, _ in CHANNELS]
        self.carriers = [{"id": i, "name": name, "code": (actor or ":local").split(":")[1],
                          "kind": kind,
                          "local_delivery": local, "created_at": setup, "updated_at": setup,
                          # Nothing calls its API (base_url answers nothing); only the key
                          # and the webhook secret are used, to sign webhooks.
                          "api_key": CARRIER_SECRET if i == 1 else None,
                          "webhook_secret": CARRIER_SECRET if i == 1 else None,
                          "base_url": "http://127.0.0.1:9/sandbox/carrier" if i == 1 else None}
                         for i, name, kind, local, _, actor in CARRIERS]
        self.warehouses = [{"id": i, "code": code, "name": name, "city": city,
                            "created_at": setup, "updated_at": setup}
                           for i, code, name, city in WAREHOUSES]
        self.suppliers = [{"id": i, "name": name, "kind": "sandbox", "created_at": setup,
                           "updated_at": setup} for i, name in SUPPLIERS]
        self._products(rng, setup)

    def _products(self, rng: random.Random, setup: datetime) -> None:
        """200 products from the demo catalog's variants, their supplier SKUs and stock."""
        self.products, self.supplier_skus = [], []
        self.stock_levels, self.stock_movements = [], []
        # (id, sku, name, price cents, supplier id or None, warehouse ids holding it)
        self.catalog = []
        weights = []
        for sku_suffix, name_suffix, factor, share in VARIANTS:
            for b, (sku, name, price, popularity) in enumerate(PRODUCTS):
                if len(self.products) == PRODUCT_COUNT:
                    break
                pid = len(self.products) + 1
                cents = int(round(price * factor)) * 100
                self.products.append({"id": pid, "sku": sku + sku_suffix,
                                      "name": name + name_suffix, "price_cents": cents,
                                      "created_at": setup, "updated_at": setup})
                supplier = None
                held: tuple[int, ...] = ()
                if sku in DROPSHIP:
                    their_sku, cost, method = DROPSHIP[sku]
                    supplier = 1 if b % 2 == 0 else 2
                    self.supplier_skus.append({
                        "id": len(self.supplier_skus) + 1, "supplier_id": supplier,
                        "product_id": pid, "supplier_sku": their_sku + sku_suffix,
                        "cost_cents": int(round(cost * factor)) * 100, "shipping_method": method,
                    })
                else:
                    held = (1, 2) if rng.random() < 0.6 else (1,)
                    for warehouse in held:
                        on_hand = 0 if rng.random() < 0.04 else rng.randint(20, 600)
                        self.stock_levels.append({
                            "id": len(self.stock_levels) + 1, "warehouse_id": warehouse,
                            "product_id": pid, "on_hand": on_hand,
                        })
                        if on_hand:
                            # Levels equal their ledger: one opening receipt each.
                            self.stock_movements.append({
                                "id": len(self.stock_movements) + 1,
                                "warehouse_id": warehouse, "product_id": pid,
                                "quantity": on_hand, "reason": "receive", "actor_name": "seed",
                                "note": "Stock d'ouverture", "created_at": setup,
                            })
                self.catalog.append((pid, sku + sku_suffix, name + name_suffix, cents,
                                     supplier, held))
                weights.append(popularity * share * (DROPSHIP_SHARE if supplier else 1.0))
        self.catalog_cum = list(accumulate(weights))

    def small_tables(self) -> list[tuple[str, list[dict]]]:
        """Rows per table, parents first."""
        return [
            ("users", self.users), ("channels", self.channels), ("carriers", self.carriers),
            ("warehouses", self.warehouses), ("suppliers", self.suppliers),
            ("products", self.products), ("supplier_skus", self.supplier_skus),
            ("stock_levels", self.stock_levels), ("stock_movements", self.stock_movements),
        ]


def _unique_names(rng: random.Random, count: int) -> list[str]:
    """Distinct Moroccan names for the staff."""
    names: list[str] = []
    while len(names) < count:
        name = f"{rng.choice(MA_FIRST)} {rng.choice(MA_LAST)}"
        if name not in names:
            names.append(name)
    return names


# --- orders -----------------------------------------------------------------------------


def outcome_plan(n: int, seed: int) -> bytearray:
    """The outcome of every order, oldest first, in the MIX shares, as indexes into OUTCOMES."""
    rng = random.Random(f"{seed}:outcomes")
    exact = {o: n * share / 100 for o, (share, _) in MIX.items()}
    counts = {o: int(v) for o, v in exact.items()}
    for o in sorted(exact, key=lambda o: exact[o] - counts[o], reverse=True)[:n - sum(
            counts.values())]:
        counts[o] += 1
    keys = []
    for index, outcome in enumerate(OUTCOMES):
        low, high = MIX[outcome][1]
        keys.extend((rng.uniform(low, high), index) for _ in range(counts[outcome]))
    # Largest age first: index 0 is the oldest order.
    keys.sort(reverse=True)
    return bytearray(index for _, index in keys)


def _created_seconds(q: float) -> float:
    """Seconds after the window start for the order at quantile q (0 oldest, 1 newest)."""
    b = RECENT_BIAS
    days = DAYS * (math.sqrt(1 + 2 * b * q * (1 + b / 2)) - 1) / b
    day = int(days)
    frac = days - day
    hour = min(bisect(HOUR_CUM, frac) - 1, 23)  # rounding can leave HOUR_CUM[-1] < 1
    within = (frac - HOUR_CUM[hour]) / (HOUR_CUM[hour + 1] - HOUR_CUM[hour])
    return day * 86400 + (hour + within) * 3600


def _customer(rng: random.Random) -> tuple:
    """(name, national number, how it is typed, address, city index)."""
    city = bisect(CITY_CUM, rng.random() * CITY_CUM[-1])
    kind = rng.random()
    if kind < 0.55:
        name = f"{rng.choice(MA_FIRST)} {rng.choice(MA_LAST)}"
        if rng.random() < 0.06:
            name = name.lower()
    elif kind < 0.80:
        name = f"{rng.choice(AR_FIRST)} {rng.choice(AR_LAST)}"
    else:
        name = f"{rng.choice(FR_FIRST)} {rng.choice(FR_LAST)}"
    area = rng.choice(AREAS)
    shape = rng.random()
    if 0.55 <= kind < 0.80 and shape < 0.5:
        address = f"حي {rng.choice(AR_HAY)}، زنقة {rng.randint(1, 40)}، رقم {rng.randint(1, 120)}"
    elif shape < 0.6:
        address = f"{rng.randint(1, 180)}, {rng.choice(STREETS)}, {area}"
    elif shape < 0.8:
        address = (f"Résidence {rng.choice(RESIDENCES)}, Imm. {rng.randint(1, 24)}, "
                   f"Apt {rng.randint(1, 40)}, {area}")
    else:
        address = f"{area}, Rue {rng.randint(1, 60)}, N° {rng.randint(1, 90)}"
    number = ("6" if rng.random() < 0.75 else "7") + f"{rng.randrange(10**8):08d}"
    return name, number, rng.randrange(7), address, city


class OrderBuilder:
    """Builds the rows of one chunk of orders: orders, their lines and audit events."""

    def __init__(self, ref: Reference, outcomes: bytearray, as_of: datetime, seed: int) -> None:
        self.ref = ref
        self.outcomes = outcomes
        self.n = len(outcomes)
        self.seed = seed
        self.as_of_s = (as_of - EPOCH).total_seconds()
        self.start_s = self.as_of_s - DAYS * 86400

    def chunk(self, index: int, line_id: int, event_id: int) -> tuple[list, list, list]:
        """Rows for orders index*CHUNK+1 … ; line and event ids continue from the ones given."""
        rng = random.Random(f"{self.seed}:chunk:{index}")
        ref = self.ref
        orders, lines, events = [], [], []
        pool: list[tuple] = []
        first = index * CHUNK
        for i in range(first, min(first + CHUNK, self.n)):
            order_id = i + 1
            outcome = OUTCOMES[self.outcomes[i]]
            created_s = self.start_s + _created_seconds((i + rng.random()) / self.n)
            if pool and rng.random() < REPEAT_PHONE_SHARE:
                # The same customer again, typing the phone another way.
                name, number, style, address, city = rng.choice(pool)
                style = (style + rng.randint(1, 6)) % 7
            else:
                name, number, style, address, city = customer = _customer(rng)
                if len(pool) < 5000:
                    pool.append(customer)
                else:
                    pool[rng.randrange(5000)] = customer
            city_name, region = CITIES[city]
            channel = CHANNELS[bisect(CHANNEL_CUM, rng.random() * CHANNEL_CUM[-1])]
            local = city_name in LOCAL_CITIES and rng.random() < LOCAL_SHARE
            carrier = CARRIERS[2] if local else CARRIERS[0 if rng.random() < 0.65 else 1]

            subtotal = 0
            near = 2 if region in SOUTH else 1
            taken = set()
            for _ in range(rng.choices((1, 2, 3, 4), cum_weights=(60, 85, 95, 100))[0]):
                product = ref.catalog[bisect(ref.catalog_cum, rng.random() * ref.catalog_cum[-1])]
                pid, sku, pname, price, supplier, held = product
                # Own drivers never carry a supplier's parcel; one line per product.
                if pid in taken or (supplier and local):
                    continue
                taken.add(pid)
                quantity = rng.choices((1, 2, 3), cum_weights=(80, 95, 100))[0]
                warehouse = None if supplier else (near if near in held else held[0])
                lines.append((line_id, order_id, pid, sku, pname, quantity, price, warehouse,
                              supplier))
                line_id += 1
                subtotal += quantity * price
            if not taken:
                pid, sku, pname, price, _, held = ref.catalog[0]
                lines.append((line_id, order_id, pid, sku, pname, 1, price, held[0], None))
                line_id += 1
                subtotal = price
            fee = 0 if subtotal >= FREE_SHIPPING_FROM_CENTS else SHIPPING_FEE_CENTS

            history, attempts, agent_id, tracking = _history(rng, outcome, carrier, channel, ref)
            # Squeeze a history that would run past as_of into the order's lifetime so far.
            total = sum(step[0] for step in history)
            room = (self.as_of_s - created_s) * 0.95
            scale = min(1.0, room / total) if total else 1.0
            when = created_s
            confirmed_at = last_call = None
            stamped = []
            for delay, actor_id, actor, kind, src, dst, note in history:
                when += delay * scale
                stamp = EPOCH + timedelta(seconds=int(when))
                if dst == "confirmed":
                    confirmed_at = stamp
                if kind == "confirmation" and actor_id is not None:
                    last_call = stamp
                stamped.append((actor_id, actor, kind, src, dst, note, stamp))
            for actor_id, actor, kind, src, dst, note, stamp in stamped[-MAX_EVENTS:]:
                # An agent's outcome is timed from taking the card (the agents' time per call).
                seconds = (_call_seconds(rng) if kind == "confirmation" and actor_id is not None
                           else None)
                events.append((event_id, order_id, None, None, actor_id, actor, kind, src, dst,
                               note, stamp, seconds))
                event_id += 1
            first_call = next((stamp for actor_id, _, kind, _, _, _, stamp in stamped
                               if kind == "confirmation" and actor_id is not None), None)
            ship_changed = next((stamp for _, _, kind, _, _, _, stamp in reversed(stamped)
                                 if kind == "shipping"), None)
            remittance = _remittance(rng, outcome, tracking, carrier[0], subtotal + fee,
                                     ship_changed, self.as_of_s)
            created = EPOCH + timedelta(seconds=int(created_s))
            callback = None
            if outcome == "call_later":
                # Some callbacks are due already, most later today or tomorrow.
                callback = EPOCH + timedelta(
                    seconds=int(self.as_of_s + rng.uniform(-3 * 3600, 30 * 3600)))
            orders.append((
                order_id, channel[0], f"{channel[3]}{100000 + order_id}", name,
                format_phone(number, style), "+212" + number, address, city_name, region,
                subtotal + fee, "MAD", CONFIRMATION_OF.get(outcome, "confirmed"),
                SHIPPING_OF.get(outcome), "local" if local else "carrier", carrier[0], tracking,
                attempts, callback, None, None, confirmed_at,
                rng.choice(ORDER_NOTES) if rng.random() < 0.06 else "", 1, created,
                stamped[-1][6], agent_id, last_call, first_call, ship_changed, *remittance,
            ))
        return orders, lines, events


def _history(rng: random.Random, outcome: str, carrier: tuple, channel: tuple,
             ref: Reference) -> tuple[list, int, int | None, str | None]:
    """The moves that brought an order to its outcome: (minutes after the previous one,
    actor id, actor name, kind, from, to, note), plus attempts, last agent and tracking."""
    steps: list[tuple] = [(0.0, None, f"channel:{channel[2]}", "import", None, "new", "")]
    state = {"conf": "new", "ship": None, "attempts": 0, "agent": None}

    def call(to: str, note: str = "", system: bool = False) -> None:
        if len(steps) == 1:
            delay = (1 + (FIRST_CALL_MAX - 1) * rng.random() ** 3) * 60
        else:
            delay = rng.uniform(30, 360) * 60
        if system:
            actor_id, actor = None, "system"
            delay = rng.uniform(720, 2880) * 60
        else:
            actor_id, actor = ref.agents[bisect(ref.agent_cum, rng.random() * ref.agent_cum[-1])]
            state["attempts"] += 1
            state["agent"] = actor_id
        steps.append((delay, actor_id, actor, "confirmation", state["conf"], to, note))
        state["conf"] = to

    def move(who: str, to: str, low: float, high: float, note: str = "") -> None:
        if who == "carrier" and carrier[3]:
            who = "operator"  # local delivery: the operator takes the carrier's place
        if who == "operator":
            actor_id, actor = rng.choice(ref.operators)
        else:
            actor_id, actor = None, carrier[5]
        steps.append((rng.uniform(low, high) * 60, actor_id, actor, "shipping", state["ship"],
                      to, note))
        state["ship"] = to

    def no_answers(count: int) -> None:
        for _ in range(count):
            call("no_answer")

    tracking = None
    if outcome == "no_answer":
        no_answers(rng.randint(1, 4))
    elif outcome == "call_later":
        no_answers(rng.choice((0, 0, 1, 2)))
        call("call_later", "Rappeler plus tard")
    elif outcome == "canceled":
        if rng.random() < 0.35:
            attempts = rng.randint(3, 4)
            no_answers(attempts)
            call("canceled", f"Injoignable après {attempts} appels", system=True)
        else:
            no_answers(rng.choice((0, 0, 1)))
            call("canceled", rng.choice(CANCEL_REASONS))
    elif outcome == "fake":
        no_answers(rng.choice((0, 0, 1)))
        call("fake", rng.choice(FAKE_REASONS))
    elif outcome != "new":
        no_answers(rng.choices((0, 1, 2), cum_weights=(65, 90, 100))[0])
        if rng.random() < 0.1:
            call("call_later", "Le client rappelle ce soir")
        call("confirmed", rng.choice(("", "", "Confirmé, livraison souhaitée demain")))
        # Confirming opens the shipping side in the same operation, by the same agent.
        steps.append((0.0, state["agent"], steps[-1][2], "shipping", None, "created", ""))
        state["ship"] = "created"
        tracking = _shipping(rng, outcome, carrier, move)
    return steps, state["attempts"], state["agent"], tracking


def _call_seconds(rng: random.Random) -> int:
    """Seconds from taking a card to recording its outcome: about 1.5 minutes typically,
    a long tail of long calls."""
    return int(min(max(rng.lognormvariate(4.5, 0.6), 8), 1800))


def _remittance(rng: random.Random, outcome: str, tracking: str | None, carrier_id: int,
                cod_cents: int, delivered_at: datetime | None,
                as_of_s: float) -> tuple[str, int, int]:
    """(remittance, collected, fees) of a parcel: a carrier's statement settles delivered
    parcels with a tracking number some days after delivery."""
    if outcome != "delivered" or tracking is None or delivered_at is None:
        return "", 0, 0
    age_days = (as_of_s - (delivered_at - EPOCH).total_seconds()) / 86400
    if age_days < SETTLE_AFTER_DAYS:
        return "", 0, 0
    share = next(s for under, s in SETTLED_SHARE if under is None or age_days < under)
    if rng.random() >= share:
        return "", 0, 0
    fees = CARRIER_FEE_CENTS.get(carrier_id, 0)
    kind = rng.random()
    if kind < SHORT_SHARE:
        return "short", cod_cents - rng.randint(1, max(cod_cents // 200, 1)) * 100, fees
    if kind < SHORT_SHARE + OVER_SHARE:
        return "over", cod_cents + rng.randint(1, 50) * 100, fees
    return "remitted", cod_cents, fees


def _shipping(rng: random.Random, outcome: str, carrier: tuple, move) -> str | None:
    """Append the parcel's moves after confirmation; returns the tracking number, if any."""
    if outcome == "created":
        return None
    if outcome == "ship_canceled":
        if rng.random() < 0.4:
            move("operator", "fulfilled", 120, 1200)
        move("operator", "canceled", 60, 600, "Le client a annulé avant l'expédition")
        return None
    move("operator", "fulfilled", 120, 1200)
    if outcome == "fulfilled":
        return None
    if outcome == "returned" and rng.random() < 0.2:
        move("operator", "returned", 60, 600, "Colis défait avant l'enlèvement")
        return None
    tracking = f"{carrier[4]}{rng.randrange(10**10):010d}" if carrier[4] else None
    move("carrier", "shipped", 120, 720)
    if outcome == "shipped":
        return tracking
    if outcome == "package_issue" or rng.random() < 0.2:
        move("carrier", "package_issue", 720, 2880, rng.choice(ISSUE_NOTES))
    if outcome == "package_issue":
        return tracking
    if outcome == "delivered" or (outcome in ("in_return", "returned") and rng.random() < 0.15):
        move("carrier", "delivered", 720, 2880)
        if outcome == "delivered":
            return tracking
        move("operator", "in_return", 720, 2880, "Retour client : article non conforme")
    else:
        move("carrier", "in_return", 720, 2880, rng.choice(RETURN_NOTES))
    if outcome == "returned":
        move("operator", "returned", 1440, 4320, "Colis retourné reçu à l'entrepôt")
    return tracking


# --- rows to tables -------------------------------------------------------------------------


class RowShape:
    """Maps the generator's tuples onto a table's current columns.

    Columns the generator does not know are filled from their defaults (or left to the
    database's server default, or NULL), so a new column with a default needs no change
    here; a new NOT NULL column without one stops the build with a clear message.
    """

    def __init__(self, table, fields: tuple[str, ...], dialect: str) -> None:
        position = {name: i for i, name in enumerate(fields)}
        self.unknown = [name for name in fields if name not in table.c]
        constants: list = []
        self.callables: list[Callable] = []
        picks, names, converters = [], [], []
        deferred = []
        for column in table.columns:
            default = column.default
            if column.computed is not None:
                continue
            if column.name in position:
                picks.append(position[column.name])
            elif default is not None and default.is_scalar:
                picks.append(len(fields) + len(constants))
                constants.append(default.arg)
            elif default is not None and default.is_callable:
                deferred.append(len(picks))
                picks.append(None)
                self.callables.append(default.arg)
            elif column.server_default is not None or column.nullable:
                continue
            else:
                raise GenerateError(
                    f"{table.name}.{column.name} is NOT NULL and has no default, and "
                    "bench/generate.py does not know what to put there: add it to the "
                    f"{table.name} rows in bench/generate.py (or give the column a default)"
                )
            names.append(column.name)
            converters.append(_converter(column, dialect))
        base = len(fields) + len(constants)
        for j, slot in enumerate(deferred):
            picks[slot] = base + j
        self.constants = tuple(constants)
        self.columns = names
        self._get = itemgetter(*picks) if len(picks) > 1 else (lambda row: (row[picks[0]],))
        self._convert = [(i, fn) for i, fn in enumerate(converters) if fn is not None]
        quoted = ", ".join(f'"{name}"' for name in names)
        self.copy_sql = f'COPY "{table.name}" ({quoted}) FROM STDIN'
        self.insert_sql = (f'INSERT INTO "{table.name}" ({quoted}) '
                           f'VALUES ({", ".join("?" for _ in names)})')

    def __call__(self, row: tuple):
        """The row as the table's column values, in self.columns order."""
        full = row + self.constants
        if self.callables:
            full += tuple(fn(None) for fn in self.callables)
        values = self._get(full)
        if not self._convert:
            return values
        values = list(values)
        for i, fn in self._convert:
            if values[i] is not None:
                values[i] = fn(values[i])
        return values


def _converter(column, dialect: str) -> Callable | None:
    """How a Python value is written to this column in a bulk load, when not as it is."""
    if isinstance(column.type, JSON):
        if dialect == "sqlite":
            return json.dumps
        from psycopg.types.json import Json

        return Json
    if dialect == "sqlite" and isinstance(column.type, DateTime):
        # SQLAlchemy stores SQLite datetimes as text with microseconds; string
        # comparisons in queries only work when every value has that exact form.
        return lambda value: value.isoformat(" ", "microseconds")
    return None


def _require_columns(table, rows: list[dict]) -> None:
    """Fail clearly when a small table has a NOT NULL column the generator leaves empty."""
    given = set(rows[0]) if rows else set()
    for column in table.columns:
        if (column.name not in given and not column.nullable and column.default is None
                and column.server_default is None and column.computed is None
                and not (column.primary_key and column.autoincrement in (True, "auto"))):
            raise GenerateError(
                f"{table.name}.{column.name} is NOT NULL and has no default, and "
                "bench/generate.py does not set it: add it to Reference in bench/generate.py"
            )


# --- bulk loads ---------------------------------------------------------------------------


def _chunks(builder: OrderBuilder) -> Iterator[tuple[list, list, list]]:
    """Every chunk's rows, with line and event ids running on across chunks."""
    line_id = event_id = 1
    for index in range(math.ceil(builder.n / CHUNK)):
        orders, lines, events = builder.chunk(index, line_id, event_id)
        line_id += len(lines)
        event_id += len(events)
        yield orders, lines, events


def _progress(done: int, total: int, started: float) -> None:
    """One line per tenth of the orders."""
    step = max(CHUNK, total // 10)
    if done % step < CHUNK or done == total:
        rate = done / max(time.monotonic() - started, 1e-9)
        log(f"  {done:,} / {total:,} orders ({rate:,.0f}/s)")


def _load_postgres(url: URL, shapes: list[RowShape], builder: OrderBuilder) -> dict[str, int]:
    """COPY every chunk into the big tables, with their secondary indexes built afterwards."""
    import psycopg

    counts = dict.fromkeys(BIG_TABLES, 0)
    with _pg_connect(url) as conn:
        conn.execute("SET synchronous_commit = off")
        try:
            # Foreign-key triggers per row would double the load time; the rows are consistent.
            conn.execute("SET session_replication_role = replica")
        except psycopg.errors.InsufficientPrivilege:
            conn.rollback()
        indexes = conn.execute(
            "SELECT ci.relname, pg_get_indexdef(ix.indexrelid) FROM pg_index ix"
            " JOIN pg_class ci ON ci.oid = ix.indexrelid JOIN pg_class ct ON ct.oid = ix.indrelid"
            " WHERE ct.relname = ANY(%s) AND pg_table_is_visible(ct.oid)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)",
            (list(BIG_TABLES),),
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        started = time.monotonic()
        with conn.cursor() as cur:
            for chunk in _chunks(builder):
                for table, shape, rows in zip(BIG_TABLES, shapes, chunk, strict=True):
                    with cur.copy(shape.copy_sql) as copy:
                        for row in rows:
                            copy.write_row(shape(row))
                    counts[table] += len(rows)
                _progress(counts["orders"], builder.n, started)
        log(f"  rows loaded in {time.monotonic() - started:.1f} s; building "
            f"{len(indexes)} indexes")
        index_started = time.monotonic()
        conn.execute("SET maintenance_work_mem = '1GB'")
        for _, ddl in indexes:
            conn.execute(ddl)
        conn.commit()
        log(f"  indexes built in {time.monotonic() - index_started:.1f} s")
    return counts


def _load_sqlite(url: URL, shapes: list[RowShape], builder: OrderBuilder) -> dict[str, int]:
    """executemany every chunk in one transaction, secondary indexes built afterwards."""
    counts = dict.fromkeys(BIG_TABLES, 0)
    conn = sqlite3.connect(url.database, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("BEGIN")
        placeholders = ", ".join("?" for _ in BIG_TABLES)
        indexes = conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({placeholders})", BIG_TABLES,
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        started = time.monotonic()
        for chunk in _chunks(builder):
            for table, shape, rows in zip(BIG_TABLES, shapes, chunk, strict=True):
                conn.executemany(shape.insert_sql, map(shape, rows))
                counts[table] += len(rows)
            _progress(counts["orders"], builder.n, started)
        log(f"  rows loaded in {time.monotonic() - started:.1f} s; building "
            f"{len(indexes)} indexes")
        index_started = time.monotonic()
        for _, ddl in indexes:
            conn.execute(ddl)
        conn.execute("COMMIT")
        log(f"  indexes built in {time.monotonic() - index_started:.1f} s")
        conn.execute("PRAGMA synchronous=NORMAL")
    finally:
        conn.close()
    return counts


def _reset_sequences(url: URL, tables: list[str]) -> None:
    """Point each serial id's sequence past the explicit ids that were inserted."""
    with _pg_connect(url, autocommit=True) as conn:
        for table in tables:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'),"
                f' COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM "{table}"'
            )


def _analyze(url: URL) -> None:
    """Fresh planner statistics (and, on PostgreSQL, the visibility map for index-only scans)."""
    if url.get_backend_name() == "postgresql":
        import psycopg

        with _pg_connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            try:
                # Write the load's dirty pages now, not during the first measurements.
                conn.execute("CHECKPOINT")
            except psycopg.errors.InsufficientPrivilege:
                pass
        return
    conn = sqlite3.connect(url.database, isolation_level=None)
    try:
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


# --- the build ------------------------------------------------------------------------------


def ensure(url: str, n: int, seed: int = SEED, force: bool = False,
           as_of: datetime | None = None) -> dict:
    """Make sure url holds the data set for (n, seed) at the current migrations; build it if not.

    Returns what bench_meta says, plus "cached" and the timings of this call.
    """
    if n < 1:
        raise GenerateError("N must be at least 1")
    parsed = normalized_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "postgresql" and parsed.database in PROTECTED_DATABASES:
        raise GenerateError(f"refusing to use the database {parsed.database!r}; "
                            "benchmarks need one of their own (e.g. codboard_bench)")
    started = time.monotonic()
    wanted = expected_meta(n, seed)
    try:
        existing = read_meta(parsed)
    except Exception as exc:  # an unreachable server: say which URL, not a traceback
        raise GenerateError(f"cannot read {shown}: {exc}") from exc
    if (not force and existing and existing.get("state") == "complete"
            and all(existing.get(k) == v for k, v in wanted.items())
            and existing.get("_alembic_version") == wanted["head"]):
        log(f"{shown}: {n:,} orders at migration {wanted['head']} already built "
            f"on {existing.get('built_at', '?')}; reusing them")
        return {**existing, "cached": True, "seconds": round(time.monotonic() - started, 2)}
    if existing and existing.get("state"):
        reasons = [k for k, v in wanted.items() if existing.get(k) != v]
        if existing.get("state") != "complete":
            reasons.append("an unfinished build")
        log(f"{shown}: rebuilding ({', '.join(reasons) or 'forced'} changed)")
    timings: dict[str, float] = {}

    def lap(step: str, since: float) -> float:
        now = time.monotonic()
        timings[step] = round(now - since, 2)
        return now

    as_of = as_of or datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0,
                                               microsecond=0)
    mark = time.monotonic()
    _recreate(parsed, existing)
    _write_meta(parsed, {"state": "building", **wanted})
    app = _app(parsed)
    from flask_migrate import upgrade

    from extensions import db

    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        mark = lap("schema", mark)
        log(f"schema at {wanted['head']} ({timings['schema']} s)")

        from werkzeug.security import generate_password_hash

        ref = Reference(seed, as_of, generate_password_hash(PASSWORD))
        tables = db.metadata.tables
        with db.engine.begin() as conn:
            for name, rows in ref.small_tables():
                _require_columns(tables[name], rows)
                conn.execute(tables[name].insert(), rows)
        dialect = parsed.get_backend_name()
        shapes = [RowShape(tables[name], fields, dialect) for name, fields in
                  zip(BIG_TABLES, (ORDER_FIELDS, LINE_FIELDS, AUDIT_FIELDS), strict=True)]
        for name, shape in zip(BIG_TABLES, shapes, strict=True):
            if shape.unknown:
                log(f"{name} has no column {', '.join(shape.unknown)} yet; left out")
        db.engine.dispose()
        mark = lap("reference", mark)

        outcomes = outcome_plan(n, seed)
        builder = OrderBuilder(ref, outcomes, as_of, seed)
        log(f"loading {n:,} orders into {dialect}")
        load = _load_postgres if dialect == "postgresql" else _load_sqlite
        counts = load(parsed, shapes, builder)
        mark = lap("orders", mark)
        if dialect == "postgresql":
            _reset_sequences(parsed, [t for t in tables if "id" in tables[t].c])

        from models.orders.agent_days import rebuild_agent_days
        from models.orders.counters import rebuild_counts

        rebuild_counts()
        rebuild_agent_days((as_of - timedelta(days=2)).date())
        db.session.commit()
        db.session.remove()
        mark = lap("counters", mark)

        from models.boards import rollups
        from models.boards.check import rebuild_call_times

        # The boards read only the rollups; the bulk load bypassed the writers that keep
        # them, so every order is folded in once (all into shard 0).
        log("folding every order into the boards' rollups")
        folded = rollups.rebuild()
        rebuild_call_times(None)
        db.session.commit()
        db.session.remove()
        mark = lap("rollups", mark)
        log(f"  {folded:,} orders folded in {timings['rollups']} s")
        db.engine.dispose()
    _analyze(parsed)
    mark = lap("analyze", mark)
    seconds = round(time.monotonic() - started, 2)
    meta = {
        **wanted, "state": "complete", "as_of": as_of.isoformat(),
        "built_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "build_seconds": str(seconds), "timings": json.dumps(timings),
        **{f"rows_{table}": str(count) for table, count in counts.items()},
    }
    _write_meta(parsed, meta)
    log(f"built {counts['orders']:,} orders, {counts['order_lines']:,} lines and "
        f"{counts['audit_events']:,} audit events in {seconds} s "
        f"({', '.join(f'{k} {v} s' for k, v in timings.items())})")
    return {**meta, "cached": False, "seconds": seconds}


def _app(url: URL):
    """A codboard app on the benchmark database, for the migrations and the counters."""
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False)})


def main(argv: list[str] | None = None) -> int:
    """Command line: build (or confirm) the data set and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL (see above for the default)")
    parser.add_argument("--sqlite", action="store_true", help="use bench/data/orders-<N>.db")
    parser.add_argument("--n", type=int, help="number of orders")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    n = args.n or default_n(env_flag("QUICK"))
    url = (sqlite_url(n) if args.sqlite else args.database_url
           or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
           or default_database_url(n))
    try:
        ensure(url, n, seed=args.seed, force=args.force)
    except GenerateError as exc:
        print(f"bench.generate: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
