"""bench: the data set's board columns and rollups, the boards' request paths, and the
large/small comparison the boards are judged by."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from bench import boards, generate, run
from bench.scenarios import BY_NAME, LIST_MEMORY, MINIMAL
from tests.bench_support import tiny_data_set

N = 2000


@pytest.fixture(scope="module")
def data_url(tmp_path_factory) -> str:
    """A tiny generated data set on SQLite."""
    url = tiny_data_set(tmp_path_factory, N)
    return url


def rows(url: str, sql: str) -> list:
    """The rows of a query on the data set."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).all()
    finally:
        engine.dispose()


def when(value) -> datetime | None:
    """SQLite's stored text as a datetime."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def test_called_orders_have_their_first_call_soon_after_arrival(data_url):
    orders = rows(data_url, "SELECT attempts, created_at, first_call_at FROM orders")
    called = [(when(c), when(f)) for attempts, c, f in orders if attempts]
    assert all(f is None for attempts, _, f in orders if not attempts)
    assert len(called) > N * 0.8 and all(f is not None and f > c for c, f in called)
    waits = sorted((f - c).total_seconds() / 60 for c, f in called)
    assert waits[-1] <= generate.FIRST_CALL_MAX + 1
    # Skewed towards fast calls: a good share within 15 minutes, not all of them.
    within = sum(w <= 15 for w in waits) / len(waits)
    assert 0.25 < within < 0.7


def test_shipped_side_changes_after_confirmation_and_delivered_cash_is_settled(data_url):
    shipped = rows(data_url, "SELECT confirmed_at, shipping_changed_at FROM orders "
                             "WHERE shipping_status IS NOT NULL")
    assert shipped and all(when(s) >= when(c) for c, s in shipped)
    assert rows(data_url, "SELECT COUNT(*) FROM orders WHERE shipping_status IS NULL AND "
                          "shipping_changed_at IS NOT NULL")[0][0] == 0
    settled = rows(data_url, "SELECT remittance, shipping_status, tracking_number, "
                             "cod_amount_cents, remitted_cents, remittance_fees_cents, "
                             "shipping_changed_at FROM orders WHERE remittance <> ''")
    outcomes = {r[0] for r in settled}
    assert outcomes == {"remitted", "short", "over"}
    recent = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=generate.SETTLE_AFTER_DAYS - 1)
    for outcome, status, tracking, cod, collected, fees, delivered in settled:
        assert status == "delivered" and tracking and fees > 0 and when(delivered) < recent
        assert {"remitted": collected == cod, "short": 0 < collected < cod,
                "over": collected > cod}[outcome]
    delivered = rows(data_url, "SELECT COUNT(*) FROM orders WHERE shipping_status = "
                               "'delivered' AND tracking_number IS NOT NULL")[0][0]
    assert 0.5 * delivered < len(settled) < delivered
    assert sum(r[0] == "remitted" for r in settled) > 0.9 * len(settled)


def test_the_rollups_count_every_order_of_the_data_set(data_url):
    def one(sql: str):
        return rows(data_url, sql)[0][0]

    assert one("SELECT SUM(n) FROM order_day_counts WHERE dim = 'all'") == N
    assert one("SELECT SUM(n) FROM lead_speed_counts WHERE dim = 'all'") == one(
        "SELECT COUNT(*) FROM orders WHERE first_call_at IS NOT NULL")
    assert rows(data_url, "SELECT SUM(n), SUM(collected_cents) FROM cod_counts "
                          "WHERE remittance = 'short'")[0] == rows(
        data_url, "SELECT COUNT(*), SUM(remitted_cents) FROM orders WHERE remittance = 'short'")[0]
    assert one("SELECT SUM(n) FROM cod_counts") == one(
        "SELECT COUNT(*) FROM orders WHERE shipping_status IS NOT NULL")
    # Agents' timed calls: every agent outcome kept in the audit trail.
    assert one("SELECT SUM(n) FROM agent_call_counts") == one(
        "SELECT COUNT(*) FROM audit_events WHERE call_seconds IS NOT NULL")
    assert one("SELECT COUNT(*) FROM agent_call_counts") > 0


def logged_in(url: str):
    """A test client of an app on the data set, logged in as the bench's manager."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                      "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    answer = client.post("/login", data={"username": generate.LOGINS["manager"],
                                         "password": generate.PASSWORD})
    assert answer.status_code in (302, 303)
    return client


def test_status_board_paths_are_boards_the_form_accepts_whole_and_as_the_poll(data_url):
    engine = create_engine(data_url)
    with engine.connect() as conn:
        paths = boards.status_board_paths(conn, random.Random("t"), count=24)
    engine.dispose()
    assert len(set(paths)) > 12
    for period in boards.PERIODS:
        assert any(f"period={period}" in p for p in paths)
    for slice_ in ("channel=", "agent=", "city="):
        assert any(slice_ in p for p in paths), slice_
    assert all(sum(s in p for s in ("channel=", "agent=", "city=")) <= 1 for p in paths)
    client = logged_in(data_url)
    for path in paths + ["/boards/money"]:
        page = client.get(path)
        assert page.status_code == 200, path
        poll = client.get(path, headers={"HX-Request": "true"})
        assert poll.status_code == 200, path
        assert "<html" in page.get_data(as_text=True)
        assert "<html" not in poll.get_data(as_text=True)


def test_board_scenarios_send_htmx_for_the_poll_and_bring_their_baselines():
    scenarios, extras = run.chosen(list(boards.SCENARIOS))
    assert [s.name for s in scenarios][:2] == [MINIMAL, LIST_MEMORY]
    assert {s.name for s in scenarios} == {MINIMAL, LIST_MEMORY, *boards.SCENARIOS}
    assert extras == []
    for name in boards.SCENARIOS:
        scenario = BY_NAME[name]
        assert scenario.role == "manager" and scenario.max_p99_ms == 20
        assert scenario.headers == (boards.HTMX if name.endswith("_poll") else ())
    assert BY_NAME[boards.STATUS_ALONE].concurrency == 1


def test_growth_compares_each_board_between_the_two_sizes():
    def report(n: int, rps: float, p50: float, p99: float) -> dict:
        return {"database": {"orders": n}, "scenarios": [
            {"name": boards.STATUS, "status": "ok", "rps": rps, "p50_ms": p50, "p99_ms": p99},
            {"name": boards.MONEY, "status": "failed"}]}

    small, large = report(10_000, 400, 10, 20), report(1_000_000, 380, 11, 26)
    [row] = boards.growth(small, large)
    assert (row["name"], row["p50"], row["p99"], row["time_per_request"]) == (
        boards.STATUS, 1.1, 1.3, 1.05)
    assert row["within"] is False
    assert "| status_board | 400.0, 10.00, 20.00 | 380.0, 11.00, 26.00 |" in \
        boards.growth_table(small, large)


def test_the_small_size_gets_a_database_of_its_own(monkeypatch):
    monkeypatch.setenv("BENCH_DATABASE_URL",
                       "postgresql+psycopg://postgres@127.0.0.1:5432/codboard_bench")
    assert boards.database_for(10_000).endswith("/codboard_bench_10000")
    assert boards.database_for(generate.FULL_N).endswith("/codboard_bench")
    monkeypatch.setenv("BENCH_DATABASE_URL", "sqlite:///bench/data/x.db")
    assert boards.database_for(10_000) == generate.sqlite_url(10_000)


def test_a_board_under_its_p99_limit_passes_and_over_it_fails():
    results = [{"name": MINIMAL, "status": "ok", "rps": 4000, "p99_ms": 5.0},
               {"name": LIST_MEMORY, "status": "ok", "rps": 600, "p99_ms": 40.0},
               {"name": boards.MONEY_ALONE, "status": "ok", "rps": 90, "p99_ms": 15.0,
                "baseline": LIST_MEMORY}]
    run.add_ratios(results)
    assert results[2]["verdict"] == "pass"
    results[2]["p99_ms"] = 31.5
    run.add_ratios(results)
    assert results[2]["verdict"] == "FAIL: p99 32 ms"
