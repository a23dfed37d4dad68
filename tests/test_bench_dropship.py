"""bench/dropship.py: the data set's supplier orders (made once, in every status), Order
History's in-memory baseline and request paths, the bulk measurement's set-up, undo and
progress reading, and how the runner registers them."""

import random
from datetime import datetime
from types import SimpleNamespace

import pytest
from flask import render_template
from sqlalchemy import create_engine, text

from app import create_app
from bench import dropship, generate, run
from bench.scenarios import BY_NAME, LIST_MEMORY, MINIMAL
from models.dropship.queries import OUTCOMES
from tests.bench_support import tiny_data_set

N = 2000  # orders of the tiny data set; every supplier order status occurs at this size


@pytest.fixture(scope="module")
def data_url(tmp_path_factory) -> str:
    """A tiny generated data set on SQLite, topped up with supplier orders."""
    url = tiny_data_set(tmp_path_factory, N)
    dropship.ensure(url, N)
    return url


def scalar(url: str, sql: str):
    """One value read from the data set."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def table_counts(url: str) -> dict[str, int]:
    """Rows of every table the top-up and the bulk measurement write."""
    return {table: scalar(url, f"SELECT COUNT(*) FROM {table}") for table in (
        "order_lines", "supplier_orders", "supplier_order_lines", "suppliers", "audit_events")}


def test_top_up_gives_a_large_share_of_confirmed_orders_supplier_orders(data_url):
    confirmed = scalar(data_url, "SELECT COUNT(*) FROM orders "
                                 "WHERE confirmation_status = 'confirmed'")
    orders = scalar(data_url, "SELECT COUNT(DISTINCT order_id) FROM supplier_orders")
    assert 0.35 * confirmed < orders < 0.5 * confirmed
    assert scalar(data_url, "SELECT COUNT(*) FROM supplier_orders s JOIN orders o ON "
                            "o.id = s.order_id WHERE o.confirmation_status <> 'confirmed'") == 0
    assert scalar(data_url, "SELECT COUNT(DISTINCT supplier_id) FROM supplier_orders") == 2


def test_supplier_orders_come_in_every_status_with_what_that_status_has(data_url):
    engine = create_engine(data_url)
    with engine.connect() as conn:
        statuses = dict(conn.execute(text(
            "SELECT status, COUNT(*) FROM supplier_orders GROUP BY status")).all())
        assert set(statuses) == {"pending", "submitted", "accepted", "shipped", "canceled",
                                 "error"}
        shipped = conn.execute(text("SELECT tracking_number, carrier_name, shipped_at FROM "
                                    "supplier_orders WHERE status = 'shipped'")).all()
        assert all(number and carrier and when for number, carrier, when in shipped)
        errors = conn.execute(text("SELECT error, error_source FROM supplier_orders "
                                   "WHERE status = 'error'")).all()
        assert all(message and source in ("check", "supplier") for message, source in errors)
        assert conn.execute(text("SELECT COUNT(*) FROM supplier_orders WHERE status = "
                                 "'pending' AND (supplier_ref IS NOT NULL OR "
                                 "process_requested_at IS NOT NULL)")).scalar() == 0
        # Nothing the supplier jobs would pick up or resend on their own.
        assert conn.execute(text("SELECT COUNT(*) FROM supplier_orders WHERE status = "
                                 "'submitted' AND answered_at IS NULL")).scalar() == 0
    engine.dispose()


def test_each_supplier_order_line_is_a_dropship_line_of_its_order_and_supplier(data_url):
    assert scalar(data_url, "SELECT COUNT(*) FROM supplier_orders s WHERE NOT EXISTS "
                            "(SELECT 1 FROM supplier_order_lines l "
                            "WHERE l.supplier_order_id = s.id)") == 0
    assert scalar(data_url, "SELECT COUNT(*) FROM supplier_order_lines l "
                            "JOIN supplier_orders s ON s.id = l.supplier_order_id "
                            "JOIN order_lines o ON o.id = l.order_line_id "
                            "WHERE o.order_id <> s.order_id OR o.supplier_id IS NULL "
                            "OR o.supplier_id <> s.supplier_id OR o.sku <> l.sku") == 0


def test_top_up_is_done_once_and_replaces_an_earlier_version_whole(data_url):
    before = table_counts(data_url)
    again = dropship.ensure(data_url, N)
    assert again["cached"] and table_counts(data_url) == before
    # An older top-up (another fingerprint) is deleted before the new one is loaded.
    generate._write_meta(generate.normalized_url(data_url),
                         {dropship.TOPUP_KEY: "an-older-version"})
    redone = dropship.ensure(data_url, N)
    assert not redone["cached"] and table_counts(data_url) == before
    assert dropship.topup_done(data_url, N)


def test_bulk_set_up_is_undone_whole(data_url):
    before = table_counts(data_url)
    ids = dropship.stage(data_url, "http://127.0.0.1:9", count=30)
    assert len(ids) == 30 and dropship.needs_restore(data_url)
    statuses = scalar(data_url, "SELECT COUNT(*) FROM supplier_orders WHERE status = "
                                f"'pending' AND id IN ({', '.join(map(str, ids))})")
    assert statuses == 30
    done = dropship.restore(data_url)
    assert done["supplier_orders"] == 30 and not dropship.needs_restore(data_url)
    assert table_counts(data_url) == before


def logged_in(url: str):
    """A test client of an app on the data set, logged in as the bench's operator."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "BENCH_ROUTES": True,
                      "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    answer = client.post("/login", data={"username": generate.LOGINS["operator"],
                                         "password": generate.PASSWORD})
    assert answer.status_code in (302, 303)
    return client


def test_history_paths_are_pages_of_rows_for_every_filter(data_url):
    engine = create_engine(data_url)
    with engine.connect() as conn:
        paths = dropship.history_paths(conn, random.Random("t"), count=80)
    engine.dispose()
    assert len(paths) == 80 and len(set(paths)) > 40
    for argument in ("supplier=", "channel=", "status=", "from=", "before="):
        assert any(argument in path for path in paths), argument
    client = logged_in(data_url)
    for path in paths[:16]:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert 'data-so="' in answer.get_data(as_text=True), path


def test_history_memory_baseline_renders_the_history_page_from_memory(database_url,
                                                                      redis_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "REDIS_URL": redis_url, "BENCH_ROUTES": True})
    client = app.test_client()
    page = client.get("/bench/history-memory").get_data(as_text=True)
    assert page.count('<tr data-so="') == 50
    assert "supplier-history" in page and "Next page" in page and "<html" in page
    for status in ("shipped", "pending", "accepted", "error", "submitted", "canceled"):
        assert f'data-status="{status}"' in page
    assert "Out of stock" in page and "SBX" in page and "SUP-" in page
    fragment = client.get("/bench/history-memory?status=failed",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and fragment.count('<tr data-so="') == 50


def test_progress_is_read_from_the_batch_widget_as_the_app_renders_it(app):
    rows = [SimpleNamespace(id=i, order_id=100 + i, status=status, reference=f"#{100 + i}-{i}",
                            error="Out of stock" if status == "error" else "",
                            answered_at=None, supplier_ref=None, last_error="",
                            process_requested_at=datetime(2026, 11, 28) if status == "pending"
                            else None)
            for i, status in enumerate(["pending", "submitted", "accepted", "error"], 1)]
    progress = SimpleNamespace(rows=rows, done=3, total=4, finished=False)
    with app.test_request_context():
        html = render_template("dropship/_batch.html", batch_id="a" * 32, progress=progress,
                               waiting=lambda so: so.status == "pending")
    assert dropship.progress_of(html) == {"done": 3, "total": 4, "finished": False,
                                          "answered": 2}
    assert dropship.progress_of("<p>gone</p>") == {}


def test_only_history_brings_its_own_baseline_and_the_bulk_measurement_is_an_extra():
    scenarios, extras = run.chosen([dropship.HISTORY, dropship.BULK])
    assert [s.name for s in scenarios] == [MINIMAL, LIST_MEMORY, dropship.HISTORY_MEMORY,
                                           dropship.HISTORY]
    assert extras == [dropship.BULK]
    scenarios, _ = run.chosen(["order_detail"])
    assert dropship.HISTORY_MEMORY not in [s.name for s in scenarios]
    assert BY_NAME[dropship.HISTORY].baseline == dropship.HISTORY_MEMORY


def test_history_is_judged_against_its_own_baseline():
    def result(name: str, rps: float) -> dict:
        return {"name": name, "status": "ok", "rps": rps, "p99_ms": 50.0,
                "baseline": BY_NAME[name].baseline}

    results = [result(MINIMAL, 4000), result(LIST_MEMORY, 600),
               result(dropship.HISTORY_MEMORY, 500), result(dropship.HISTORY, 300)]
    run.add_ratios(results)
    assert results[3]["ratio_baseline"] == 0.6 and results[3]["verdict"] == \
        "pass (0.60 × baseline)"
    results[3]["rps"] = 200
    run.add_ratios(results)
    assert results[3]["verdict"] == "FAIL: 0.40 × baseline"


def test_the_history_outcomes_the_paths_use_are_the_pages_own():
    assert set(dropship.HISTORY_OUTCOMES) == set(OUTCOMES) - {"all"}
    for outcome, statuses in dropship.OUTCOME_STATUSES.items():
        assert tuple(statuses) == tuple(OUTCOMES[outcome])
