"""The benchmark scenarios, as data: a new one is one more entry in SCENARIOS.

Each scenario names the role it logs in as (None: no login), a function that reads
the benchmark database and returns the request paths wrk rotates through (so that
every request asks for a different order, phone or filter), how many clients run at
once, and the baseline its verdict is computed against. Baselines come first: every
other scenario's ratios are to baselines measured in the same run on the same server.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import text
from sqlalchemy.engine import Connection

from commands.demo import format_phone
from models.status import Confirmation, Shipping

from . import boards
from .dropship import HISTORY, HISTORY_MEMORY, history_paths
from .intake import API, API_TARGET_RATIO

PATHS = 2000
MINIMAL = "baseline_minimal"
LIST_MEMORY = "baseline_list_memory"
LANGUAGE_NAMES = {"fr": "French", "ar": "Arabic"}

Paths = Callable[[Connection, random.Random], list[str]]


@dataclass(frozen=True)
class Scenario:
    """One load pattern and what it is compared to."""

    name: str
    description: str
    paths: Paths
    role: str | None = None
    concurrency: int = 16
    # The baseline the verdict's ratio uses (ratios to both baselines are always reported).
    baseline: str | None = LIST_MEMORY
    # Targets: req/s at least min_ratio × the baseline's, and p99 under max_p99_ms.
    min_ratio: float | None = None
    max_p99_ms: float | None = None
    # "paths": wrk rotates through GET paths with one session; "agents": every client
    # is an agent of its own posting outcomes (bench/agents.py); "webhook": pre-signed
    # carrier webhook deliveries (bench/shipping.py, bench/webhook.lua); "api_orders": new
    # orders POSTed with a channel's key (bench/intake.py, bench/api_orders.lua).
    kind: str = "paths"
    # Extra request headers, e.g. htmx's for a board's live poll (a fragment).
    headers: tuple[str, ...] = ()
    # Text the first answers must contain, or the scenario fails: a language scenario's
    # <html lang="…">, so a page that fell back to English is never measured as French.
    expect: str | None = None

    @property
    def has_target(self) -> bool:
        """True when the scenario has a verdict to give."""
        return self.min_ratio is not None or self.max_p99_ms is not None


def in_language(scenario: Scenario, code: str) -> Scenario:
    """The same requests in another language: the bench users have no saved language, so
    Accept-Language decides. Its baseline is the English scenario of the same run (a
    baseline's own: its × list-memory is then that ratio)."""
    return replace(
        scenario, name=f"{scenario.name}_{code}",
        description=f"{scenario.description}, in {LANGUAGE_NAMES[code]} (Accept-Language: {code})",
        headers=(*scenario.headers, f"Accept-Language: {code}"),
        expect=f'<html lang="{code}"', baseline=scenario.name, min_ratio=None,
        max_p99_ms=None)


def fixed(*paths: str) -> Paths:
    """Always the same path(s)."""
    return lambda conn, rng: list(paths)


def _random_ids(conn: Connection, rng: random.Random, count: int = PATHS) -> list[int]:
    """Random existing order ids (the generator's ids have no gaps)."""
    low, high = conn.execute(text("SELECT MIN(id), MAX(id) FROM orders")).one()
    if low is None:
        raise ValueError("the orders table is empty")
    return [rng.randint(low, high) for _ in range(count)]


def order_detail_paths(conn: Connection, rng: random.Random) -> list[str]:
    """Random orders' detail pages."""
    return [f"/orders/{order_id}" for order_id in _random_ids(conn, rng)]


def phone_search_paths(conn: Connection, rng: random.Random) -> list[str]:
    """Real customers' phones, each typed in one of the formats customers use."""
    ids = sorted(set(_random_ids(conn, rng)))
    phones = conn.execute(
        text("SELECT phone_normalized FROM orders WHERE id IN ({})".format(
            ", ".join(str(i) for i in ids))),
    ).scalars().all()
    paths = []
    for phone in phones:
        # "+2126…" → national number "6…", written the way the shop forms receive it.
        typed = format_phone(phone[4:], rng.randrange(7)) if phone.startswith("+212") else phone
        paths.append("/orders/?" + urlencode({"q": typed}))
    rng.shuffle(paths)
    return paths


def two_filter_paths(conn: Connection, rng: random.Random) -> list[str]:
    """The list narrowed by two filters at once, over many combinations and values."""
    cities = conn.execute(text(
        "SELECT city FROM orders GROUP BY city ORDER BY COUNT(*) DESC LIMIT 30"
    )).scalars().all()
    channels = conn.execute(text("SELECT id FROM channels ORDER BY id")).scalars().all()
    carriers = conn.execute(text("SELECT id FROM carriers ORDER BY id")).scalars().all()
    agents = conn.execute(
        text("SELECT id FROM users WHERE role = 'agent' ORDER BY id")).scalars().all()
    first, last = conn.execute(text("SELECT MIN(created_at), MAX(created_at) FROM orders")).one()
    if isinstance(first, str):  # SQLite through plain text() returns the stored text
        first, last = (datetime.fromisoformat(v) for v in (first, last))
    span = max((last - first).days - 7, 0)

    def week() -> dict:
        start = first.date() + timedelta(days=rng.randint(0, span))
        return {"from": start.isoformat(), "to": (start + timedelta(days=6)).isoformat()}

    conf = [s.value for s in Confirmation]
    ship = [s.value for s in Shipping]
    pick = rng.choice
    combos = [
        lambda: {"conf": pick(conf), "city": pick(cities)},
        lambda: {"ship": pick(ship), "carrier": pick(carriers)},
        lambda: {"channel": pick(channels), "conf": pick(conf)},
        lambda: {"agent": pick(agents), "conf": pick(conf)},
        lambda: {"city": pick(cities), "ship": pick(ship)},
        lambda: {"channel": pick(channels), **week()},
        lambda: {"carrier": pick(carriers), "city": pick(cities)},
        lambda: {"agent": pick(agents), **week()},
    ]
    return ["/orders/?" + urlencode(combos[i % len(combos)]()) for i in range(PATHS)]


SCENARIOS = [
    Scenario(MINIMAL, "a plain-text route: no login, no database (the server's ceiling)",
             fixed("/bench/minimal"), baseline=None),
    Scenario(LIST_MEMORY, "the orders list template with 50 rows from memory: no login, "
             "no database", fixed("/bench/orders-memory"), baseline=None),
    # Order History's own template from 50 supplier orders in memory (blueprints/bench).
    Scenario(HISTORY_MEMORY, "the Order History template with 50 supplier orders from "
             "memory: no login, no database", fixed("/bench/history-memory"), baseline=None),
    Scenario("login_page", "GET /login: a small template and a CSRF token, no login",
             fixed("/login"), baseline=MINIMAL),
    Scenario("orders_list", "/orders/ as a manager: the newest 50 orders and the counters",
             fixed("/orders/"), role="manager", min_ratio=0.5, max_p99_ms=100),
    Scenario("orders_list_two_filters", "/orders/ narrowed by two filters (status, city, "
             "carrier, channel, agent, a week) in 8 combinations", two_filter_paths,
             role="manager"),
    Scenario("orders_phone_search", "/orders/?q= a customer's phone typed in one of 7 formats",
             phone_search_paths, role="manager"),
    Scenario("order_detail", "/orders/<id> as a manager: a random order with its lines and "
             "audit trail", order_detail_paths, role="manager", min_ratio=0.5),
    Scenario(HISTORY, "/dropship/history as an operator: the newest 50 supplier orders, the "
             "first page of each filter (supplier, channel, outcome, a week) and deeper keyset "
             "pages from real rows' cursors (bench/dropship.py)", history_paths,
             role="operator", baseline=HISTORY_MEMORY, min_ratio=0.5),
    # The manager boards read rollups only (bench/boards.py): the same cost at any volume.
    Scenario(boards.STATUS, "/boards/ as a manager: today, 7 or 30 days, alone or narrowed "
             "by one channel, agent or city", boards.status_board_paths, role="manager",
             max_p99_ms=20),
    Scenario(boards.STATUS_POLL, "the status board's live poll (htmx fragment, every 5 s on "
             "a wall screen): the same paths with HX-Request", boards.status_board_paths,
             role="manager", max_p99_ms=20, headers=boards.HTMX),
    Scenario(boards.STATUS_ALONE, "/boards/ as status_board, one client at a time: a "
             "request's own latency, no queue", boards.status_board_paths, role="manager",
             concurrency=1, max_p99_ms=20),
    Scenario(boards.MONEY, "/boards/money as a manager: every carrier's cash",
             fixed("/boards/money"), role="manager", max_p99_ms=20),
    Scenario(boards.MONEY_POLL, "the money board's live poll (htmx fragment every 5 s)",
             fixed("/boards/money"), role="manager", max_p99_ms=20, headers=boards.HTMX),
    Scenario(boards.MONEY_ALONE, "/boards/money, one client at a time: a request's own "
             "latency, no queue", fixed("/boards/money"), role="manager", concurrency=1,
             max_p99_ms=20),
    # Stores webhook rows, deleted afterwards (bench/shipping.py).
    Scenario("shipping_webhook", "POST /api/v1/carriers/sandbox/webhook: a signed sandbox "
             "delivery, a new delivery id each time (verify the HMAC, store once, nudge the "
             "apply job), no login", fixed("/api/v1/carriers/sandbox/webhook"),
             baseline=MINIMAL, min_ratio=0.3, kind="webhook"),
    # Creates orders, deleted afterwards (bench/intake.py).
    Scenario(API, "POST /api/v1/orders with the API channel's bearer key: a new order "
             "each time (1–3 lines, a new external id), created through the intake door",
             fixed("/api/v1/orders"), baseline=MINIMAL, min_ratio=API_TARGET_RATIO,
             kind="api_orders"),
    # Last: it changes the data (claims, outcomes, stock).
    Scenario("agent_action", "32 agents, each posting a call outcome (confirmed, no answer, "
             "call later, canceled, fake) and getting the next claimed card in the same "
             "request", fixed("/calls/next"), role="agent", concurrency=32,
             baseline=MINIMAL, min_ratio=0.15, max_p99_ms=50, kind="agents"),
]

# What the languages cost: these scenarios again in French or Arabic. The in-memory list
# goes through the same filters (money, local_time, number) as the real one, no database.
IN_LANGUAGES = [(LIST_MEMORY, "fr"), ("orders_list", "fr"), ("orders_list", "ar"),
                ("order_detail", "ar"), (boards.STATUS, "ar")]


def with_languages(scenarios: list[Scenario], wanted: list[tuple[str, str]]) -> list[Scenario]:
    """The scenarios, each wanted language version right after its English one."""
    out = []
    for scenario in scenarios:
        out.append(scenario)
        out += [in_language(scenario, code) for name, code in wanted if name == scenario.name]
    return out


SCENARIOS = with_languages(SCENARIOS, IN_LANGUAGES)
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
