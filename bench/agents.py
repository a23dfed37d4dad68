"""The agent action: each of N agents records an outcome and gets the next card.

Every wrk thread is one agent logged in with its own session; the scenario checks
afterwards, in the database, that no order was claimed twice during the run.
"""

import re
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from . import generate

LUA = Path(__file__).resolve().parent / "agents.lua"
TOP_UP = 100_000


def agent_names(count: int) -> list[str]:
    """The benchmark data's agent usernames, agent01 …"""
    return [f"agent{i:02d}" for i in range(1, count + 1)]


def sessions(base: str, count: int, user_agent: str) -> list[tuple[str, str]]:
    """(session cookie, CSRF token) for each agent, logged in through the form."""
    found = []
    for username in agent_names(count):
        client = requests.Session()
        client.headers["User-Agent"] = user_agent
        page = client.get(f"{base}/login", timeout=10).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        client.post(f"{base}/login", data={"csrf_token": token, "username": username,
                                           "password": generate.PASSWORD},
                    allow_redirects=False, timeout=30)
        screen = client.get(f"{base}/calls/", timeout=30).text
        csrf = re.search(r'"X-CSRFToken": "([^"]+)"', screen)
        if not csrf or "session" not in client.cookies:
            raise RuntimeError(f"{username} could not log in")
        found.append((client.cookies["session"], csrf.group(1)))
    return found


def write_sessions(path: Path, creds: list[tuple[str, str]]) -> None:
    """The file agents.lua reads: one "cookie token" line per agent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{cookie} {csrf}\n" for cookie, csrf in creds))


def top_up_stock(database_url: str) -> None:
    """Receive plenty of every stocked product (through the ledger), so confirmations
    measure the path that takes stock rather than refusals for a shortage."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        low = conn.execute(text("SELECT MIN(on_hand) FROM stock_levels")).scalar() or 0
        if low >= TOP_UP // 2:
            return
        now = datetime.now(UTC).replace(tzinfo=None)
        start = conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM stock_movements")).scalar()
        conn.execute(text(
            "INSERT INTO stock_movements (id, warehouse_id, product_id, quantity, reason,"
            " actor_name, note, created_at)"
            " SELECT :start + ROW_NUMBER() OVER (ORDER BY id), warehouse_id, product_id,"
            " :qty, 'receive', 'bench', 'benchmark top-up', :now FROM stock_levels"),
            {"start": start, "qty": TOP_UP, "now": now})
        conn.execute(text("UPDATE stock_levels SET on_hand = on_hand + :qty"), {"qty": TOP_UP})
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('stock_movements', 'id'),"
                              " (SELECT MAX(id) FROM stock_movements))"))
    engine.dispose()


def conflicts(output: str) -> int:
    """The 409 answers agents.lua counted apart: outcomes for a card that changed meanwhile."""
    found = re.search(r"bench-agents conflicts=(\d+)", output)
    return int(found.group(1)) if found else 0


def claims_since(database_url: str, since: datetime) -> tuple[int, int]:
    """(claims made since `since`, orders claimed more than once since then)."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        total = conn.execute(text(
            "SELECT COUNT(*) FROM audit_events WHERE kind = 'claim' AND created_at >= :since"
        ), {"since": since}).scalar()
        twice = conn.execute(text(
            "SELECT COUNT(*) FROM (SELECT order_id FROM audit_events"
            " WHERE kind = 'claim' AND created_at >= :since"
            " GROUP BY order_id HAVING COUNT(*) > 1) AS repeated"
        ), {"since": since}).scalar()
    engine.dispose()
    return total, twice
