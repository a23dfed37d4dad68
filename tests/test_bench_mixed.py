"""bench/mixed.py and bench/openloop.py: a short mixed load on a tiny SQLite data set gives
a report with every route, and the open-loop schedule keeps its own clock."""

import threading
import time

import pytest

from bench import mixed, run
from bench.openloop import Schedule, Tally, Task, percentile
from tests.bench_support import tiny_data_set

N = 2000


@pytest.fixture(scope="module")
def data_url(tmp_path_factory) -> str:
    """A tiny generated data set on SQLite."""
    url = tiny_data_set(tmp_path_factory, N)
    return url


def test_mixed_load_reports_every_route_per_step(data_url, monkeypatch):
    # Everyone acts within the short steps (agents think for half a second), and no step
    # counts as over the limit on a busy test machine.
    monkeypatch.setattr(mixed, "THINK_S", 0.5)
    monkeypatch.setattr(mixed, "DESK_LIST_S", 1.0)
    monkeypatch.setattr(mixed, "P99_LIMIT_MS", 1e9)
    plan = mixed.Plan(steps=(0, 3), warmup_s=1.0, measure_s=2.5)
    result = mixed.measure(data_url, lambda redis: run.Server(
        data_url, redis, run.Gunicorn("sync", 2)), quick=True, plan=plan)
    assert result["status"] == "ok", result.get("reason")
    assert [s["agents"] for s in result["steps"]] == [0, 3]
    idle, busy = (s["routes"] for s in result["steps"])
    everyone = {mixed.STATUS_POLL, mixed.MONEY_POLL, mixed.DESK_LIST, mixed.WEBHOOK,
                mixed.FLOOR}
    assert everyone <= idle.keys() and mixed.NEXT not in idle
    assert everyone | {mixed.OUTCOME} <= busy.keys()
    for name, route in busy.items():
        assert route["errors"] == 0, (name, route["codes"])
        assert route["p50_ms"] <= route["p99_ms"]
    assert busy[mixed.WEBHOOK]["codes"] == {"202": busy[mixed.WEBHOOK]["requests"]}
    assert "p99_x_baseline" in busy[mixed.FLOOR]
    assert set(result["steps"][1]["cpu_percent"]) >= {"server", "rq worker", "other", "idle"}
    table = mixed.markdown(result)
    assert "| 3 |" in table and mixed.OUTCOME in table
    assert result["webhook_rows_deleted"] >= busy[mixed.WEBHOOK]["requests"]


def test_a_slow_answer_does_not_delay_the_next_arrival():
    start = time.monotonic()
    tally = Tally(start, start + 10)
    fired: list[float] = []
    release = threading.Event()

    def slow() -> tuple[str, int]:
        fired.append(time.monotonic() - start)
        release.wait(2)  # the first answer takes long; arrivals go on meanwhile
        return "slow", 200

    schedule = Schedule(tally, threads=8)
    schedule.at(start, Task(slow, period=0.1))
    schedule.run_until(start + 0.55, {start + 0.5: release.set})
    assert len(fired) >= 5
    assert tally.latency["slow"] and max(tally.latency["slow"]) >= 400


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99
    assert percentile([], 99) is None


def test_mixed_is_run_only_when_asked_for():
    _, extras = run.chosen(None)
    assert mixed.MIXED not in extras
    assert run.chosen([mixed.MIXED])[1] == [mixed.MIXED]


def test_conflicts_are_not_errors_only_where_the_app_means_them():
    assert mixed.expected(mixed.OUTCOME, 409) and mixed.expected(mixed.DESK_SCAN, 409)
    assert not mixed.expected(mixed.STATUS_POLL, 409)
    assert not mixed.expected(mixed.OUTCOME, 500) and not mixed.expected(mixed.NEXT, 0)
