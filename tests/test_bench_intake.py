"""bench/intake.py's generation and parsing: the order file as the app's CSV reader sees
it, the API bodies as the API validates them, wrk's tallies, the verdicts, the report."""

import re
from collections import Counter

import pytest

from bench import intake, report, run
from bench.scenarios import BY_NAME, MINIMAL
from blueprints.api.orders import incoming
from blueprints.api.schemas import NewOrder
from models.intake.csvfile import check_orders, read_csv
from models.intake.incoming import Catalogue, CatalogueItem, check_order
from models.phones import normalize_phone

CATALOGUE = [("ARG-OIL-100", 129_00), ("SAV-BELDI-500", 79_00), ("WATCH-SMT-X8", 520_00),
             ("TAJINE-30", 249_00), ("CAP-BLACK", 50_00)]
ITEMS = Catalogue({sku: CatalogueItem(n, sku, price, None)
                   for n, (sku, price) in enumerate(CATALOGUE, 1)})


def read_back(content: bytes):
    """Every order of the file, checked as the import's check job checks them."""
    csv_file = read_csv(content)
    plan = csv_file.plan()
    orders = []
    for chunk in csv_file.chunks(plan):
        check_orders(chunk, ITEMS, "MA")
        orders += chunk
    return plan, orders


def test_the_file_reads_back_as_the_rows_orders_and_refusals_it_promises():
    rows, expected = intake.csv_rows(3000, CATALOGUE, "t1")
    plan, orders = read_back(intake.csv_bytes(rows))
    refused = [o for o in orders if not o.ok]
    assert plan.total_rows == expected["rows"] == 3000
    assert len(orders) == expected["orders"]
    assert len(refused) == expected["refused_orders"] > 0
    assert sum(len(o.rows) for o in refused) == expected["refused_rows"]
    # About 2 % of the rows are refused, for the two reasons the brief names.
    assert 0.005 < expected["refused_rows"] / expected["rows"] < 0.05
    reasons = " ".join(r for o in refused for _row, rs in o.refusals() for r in rs)
    assert "is not a phone number" in reasons and "Unknown SKU" in reasons


def test_orders_have_one_to_three_rows_next_to_each_other():
    rows, expected = intake.csv_rows(2000, CATALOGUE, "t2")
    ids = [row[0] for row in rows[1:]]
    sizes = Counter(ids)
    assert set(sizes.values()) == {1, 2, 3}
    runs = [order_id for n, order_id in enumerate(ids) if n == 0 or ids[n - 1] != order_id]
    assert len(runs) == len(sizes) == expected["orders"]  # no order's rows are apart
    for order_id in sizes:
        skus = [row[6] for row in rows[1:] if row[0] == order_id]
        assert len(set(skus)) == len(skus)


def test_phones_come_in_mixed_formats_that_normalise_to_moroccan_mobiles():
    rows, _ = intake.csv_rows(1000, CATALOGUE, "t3")
    phones = {row[2] for row in rows[1:]}
    # The seven ways customers type a number (commands.demo.format_phone).
    shapes = {re.sub(r"\d", "9", phone) for phone in phones if phone not in intake.BAD_PHONES}
    assert shapes == {"9999999999", "+999 9 99 99 99 99", "99-99-99-99-99", "999999999999",
                      "99 99 99 99 99", "+999999999999", "99999 999 999 999"}
    good = [p for p in phones if p not in intake.BAD_PHONES]
    assert all(normalize_phone(p, "MA")[:5] in ("+2126", "+2127") for p in good)
    assert not any(normalize_phone(p, "MA") for p in intake.BAD_PHONES)


def test_each_run_has_new_order_ids_and_the_same_content():
    first, _ = intake.csv_rows(200, CATALOGUE, "aaaa")
    second, _ = intake.csv_rows(200, CATALOGUE, "bbbb")
    assert not {r[0] for r in first[1:]} & {r[0] for r in second[1:]}
    assert all(r[0].startswith(intake.ID_PREFIX) for r in first[1:])
    assert [r[1:] for r in first] == [r[1:] for r in second]


def test_a_file_holds_exactly_the_rows_asked_even_when_an_order_is_cut():
    for count in (1, 7, 1000):
        rows, expected = intake.csv_rows(count, CATALOGUE, "cut")
        assert len(rows) - 1 == expected["rows"] == count


def test_the_row_count_is_a_tenth_of_the_orders_up_to_the_issues_100000():
    assert intake.row_count(1_000_000) == 100_000
    assert intake.row_count(5_000_000) == 100_000
    assert intake.row_count(100_000) == 10_000
    assert intake.row_count(2_000) == 1000


def test_api_bodies_with_an_id_are_orders_the_api_takes(tmp_path):
    bodies = intake.api_bodies(300, CATALOGUE)
    assert all(body.count(intake.ID_MARK) == 1 and "\n" not in body for body in bodies)
    for n, body in enumerate(bodies):
        order = NewOrder.model_validate_json(intake.with_id(body, f"BENCH-Ax-0-{n}"))
        assert order.external_id == f"BENCH-Ax-0-{n}"
        assert check_order(incoming(order), ITEMS, "MA") == []
    assert {len(NewOrder.model_validate_json(intake.with_id(b, "x")).lines)
            for b in bodies} == {1, 2, 3}
    path = intake.write_bodies(tmp_path / "bodies.txt", "BENCH-Ax", bodies)
    assert path.read_text(encoding="utf-8").splitlines() == ["run BENCH-Ax", *bodies]


def test_the_undo_puts_back_the_imported_counts_its_marker_saved():
    assert intake._saved_counts('{"orders_imported": {"3": 12, "4": 0}}') == {"3": 12, "4": 0}
    # A marker written before the counts were saved restores everything but them.
    assert intake._saved_counts("orders BENCH-*") == {}
    assert intake._saved_counts(None) == {}


def test_api_tallies_are_read_from_wrks_output():
    output = ("Requests/sec: 10.0\nbench-status non2xx=2 codes=422:2\n"
              "bench-api created=1200 other=5 codes=200:3,422:2\n")
    assert intake.parse_api_counts(output) == {
        "created": 1200, "other": 5, "codes": {"200": 3, "422": 2}}
    assert intake.parse_api_counts("") == {"created": 0, "other": 0, "codes": {}}


def test_any_answer_but_201_fails_the_api_scenario():
    measured = {"status": "ok", "api_orders": {"other_answers": 3, "other_codes": {"200": 3}}}
    assert intake.judge_api(measured) == {**measured, "status": "failed",
                                          "reason": "3 answers were not 201 (200×3)"}
    clean = {"status": "ok", "api_orders": {"other_answers": 0, "other_codes": {}}}
    assert intake.judge_api(dict(clean)) == clean


def csv_result(**changes) -> dict:
    result = {"status": "ok", "database": "postgresql", "rows": 100_000,
              "orders": 1_000_000, "import_job_s": 9.0, "check_and_import_s": 16.5}
    return {**result, **changes}


def test_the_csv_verdict_is_given_only_in_the_targets_setting():
    assert intake.csv_verdict(csv_result()) == \
        "import pass; check + import 16.5 s over 15 s"
    assert intake.csv_verdict(csv_result(import_job_s=15.2)).startswith("import FAIL")
    quick = intake.csv_verdict(csv_result(database="sqlite", rows=10_000, orders=100_000))
    assert quick.startswith("no verdict: not the target's setting (import pass")
    assert intake.csv_verdict({"status": "failed", "reason": "boom"}) == "not measured (boom)"


def test_the_runner_knows_the_intake_measurement_and_scenario():
    scenarios, extras = run.chosen([intake.CSV, intake.API])
    assert extras == [intake.CSV]
    assert intake.API in [s.name for s in scenarios]
    api = BY_NAME[intake.API]
    assert (api.baseline, api.min_ratio, api.kind) == (MINIMAL, 0.2, "api_orders")
    with pytest.raises(ValueError, match="nope"):
        run.chosen(["nope"])


def test_the_markdown_shows_the_import_and_what_the_api_stored():
    measured = csv_result(
        check_job_s=4.1, import_job_s=8.2, rows_per_s=12_195, parse_check_s=3.0, insert_s=5.2,
        imported={"created_orders": 57_700}, checked={"rejected_rows": 1_930},
        phases_s={"insert": 5.0, "commit": 0.2}, valid_orders=57_700, baseline_seconds=0.9,
        ratio_to_baseline=9.1, name=intake.CSV, target="≤ 15 s", verdict="import pass",
        cpu_percent={"bench": 48.0, "database": 21.0, "other": 30.0})
    measured["summary"], measured["baseline_summary"] = intake.csv_summary(measured)
    text = report.render_markdown({
        "date": "2026-11-28T10:00:00+00:00", "mode": "full",
        "database": {"kind": "postgresql", "orders": 1_000_000},
        "scenarios": [{"name": intake.API, "role": None, "concurrency": 16, "status": "ok",
                       "rps": 300.0, "rss_mb": 400, "rss_worker_max_mb": 90, "errors": 0,
                       "api_orders": {"stored_orders": 3_012, "created_201": 3_012,
                                      "other_answers": 0}}],
        "measurements": [measured]})
    assert ("check job 4.10 s, import job 8.20 s (12,195 rows/s; parse + check 3.00 s, "
            "insert + commit 5.20 s); 57,700 orders created, 1,930 rows refused") in text
    assert "PostgreSQL 21 %, other programs 30 %" in text
    assert "COPY + INSERT … SELECT of 57,700 orders 0.90 s (import × 9.1)" in text
    assert "3,012 orders stored for 3,012 answers 201" in text
