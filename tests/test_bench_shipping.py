"""bench/shipping.py's parsing and generation: the desk's counts, pre-signed webhook
deliveries, wrk's webhook tallies, the events and batches it applies, the runner's choice."""

from datetime import datetime

import pytest
from flask import render_template_string

from bench import report, run, shipping
from bench.scenarios import LIST_MEMORY, MINIMAL
from workers.carriers import CarrierConfig, adapter_for

NOW = datetime(2026, 11, 28, 10, 0)


def badge(status: str, label: str) -> str:
    return f'<span class="badge badge-blue" data-status="{status}">{label}</span>'


DESK = f"""
<div class="stats">
  <article class="stat"><span class="stat-n">12</span>{badge("fulfilled", "Fulfilled")}</article>
  <article class="stat"><span class="stat-n">1,204</span>{badge("shipped", "Shipped")}</article>
</div>
<table><tr><td><a href="/orders/7">#7</a></td><td>{badge("shipped", "Shipped")}</td></tr></table>
"""

ORDERS = f"""
<nav class="counts" aria-label="Orders by confirmation status">
  <a href="/orders/?conf=canceled" class="count ">{badge("canceled", "Canceled")} <b>150</b></a>
</nav>
<nav class="counts" aria-label="Orders by shipping status">
  <a href="/orders/?ship=shipped" class="count ">{badge("shipped", "Shipped")} <b>36</b></a>
  <a href="/orders/?ship=canceled" class="count active">{badge("canceled", "Canceled")} <b>4</b></a>
</nav>
"""


def test_desk_counts_are_read_beside_their_badges():
    assert shipping.counts_in(DESK) == {"fulfilled": 12, "shipped": 1204}


def test_a_badge_without_a_count_is_not_a_count():
    row = f"<table><tr><td>{badge('shipped', 'Shipped')}</td><td>3 d ago</td></tr></table>"
    assert shipping.counts_in(row) == {}


def test_orders_list_counts_are_read_in_the_shipping_nav_only():
    counts = shipping.counts_in(ORDERS, shipping.ORDERS_SHIPPING_NAV)
    assert counts == {"shipped": 36, "canceled": 4}
    assert shipping.counts_in("<p>no nav</p>", shipping.ORDERS_SHIPPING_NAV) == {}


def test_counts_are_read_around_the_apps_own_badge_macro(app):
    page = ('{% from "_macros/status.html" import shipping %}<article class="stat">'
            '<span class="stat-n">{{ n }}</span>{{ shipping("shipped") }}</article>')
    with app.test_request_context():
        html = render_template_string(page, n=987)
    assert shipping.counts_in(html) == {"shipped": 987}


def test_moved_lists_only_the_counts_that_changed():
    before = {"fulfilled": 12, "shipped": 30, "delivered": 5}
    after = {"fulfilled": 11, "shipped": 30, "delivered": 6}
    assert shipping.moved(before, after) == {"fulfilled": -1, "delivered": 1}
    assert shipping.moved(before, before) == {}


def sandbox_adapter():
    return adapter_for(CarrierConfig(id=1, code="sandbox", name="Sandbox Express",
                                     kind="sandbox", api_key=shipping.SECRET,
                                     webhook_secret=shipping.SECRET))


def test_pre_signed_deliveries_pass_the_sandbox_adapters_check():
    line = shipping.delivery_line("bench-x-1", "SBX0000000042", "bench-x-1-e", "IN_TRANSIT",
                                  NOW)
    assert "\n" not in line and line.count("\t") == 2  # what webhook.lua splits on
    delivery_id, signature, body = shipping.parse_delivery_line(line + "\n")
    headers = {"X-Sandbox-Delivery": delivery_id, "X-Sandbox-Signature": signature}
    adapter = sandbox_adapter()
    assert adapter.verify_webhook(headers, body)
    assert not adapter.verify_webhook(headers, body.replace(b"IN_TRANSIT", b"DELIVERED"))
    webhook = adapter.parse_webhook(headers, body)
    assert webhook.delivery_id == "bench-x-1"
    [event] = webhook.events
    assert (event.tracking_number, event.code, event.occurred_at) == (
        "SBX0000000042", "IN_TRANSIT", NOW)


def test_a_deliveries_file_has_distinct_ids_and_bodies(tmp_path):
    path = shipping.write_deliveries(tmp_path / "d.txt", 50, ["SBX1", "SBX2"], "run")
    lines = path.read_text().splitlines()
    assert len(lines) == 50
    ids = [shipping.parse_delivery_line(line)[0] for line in lines]
    bodies = [shipping.parse_delivery_line(line)[2] for line in lines]
    assert len(set(ids)) == len(set(bodies)) == 50
    # wrk's threads take line i when i mod threads is theirs: disjoint slices, all lines.
    slices = [lines[offset::shipping.WEBHOOK_THREADS]
              for offset in range(shipping.WEBHOOK_THREADS)]
    assert sorted(sum(slices, [])) == sorted(lines)


def test_webhook_tallies_are_read_from_wrks_output():
    output = "Requests/sec: 10.0\nbench-status non2xx=0 codes=\n" \
             "bench-webhook accepted=1200 duplicate=3 wrapped=0\n"
    assert shipping.parse_webhook_counts(output) == {
        "accepted": 1200, "duplicate": 3, "wrapped": 0}
    assert shipping.parse_webhook_counts("") == {"accepted": 0, "duplicate": 0, "wrapped": 0}


@pytest.mark.parametrize("per_parcel", [1, 2])
def test_events_move_fulfilled_to_shipped_and_shipped_to_delivered(per_parcel):
    events = shipping.build_events([("BENCH1", "fulfilled"), ("BENCH2", "shipped")],
                                   per_parcel, NOW)
    assert len(events) == 2 * per_parcel
    map_status = shipping.sandbox_map_status()
    last = {e.tracking_number: e for e in events}  # events come in time order per parcel
    assert map_status(last["BENCH1"].code, last["BENCH1"].text) == "shipped"
    assert map_status(last["BENCH2"].code, last["BENCH2"].text) == "delivered"
    assert len({(e.tracking_number, e.dedupe_key()) for e in events}) == len(events)
    for number in ("BENCH1", "BENCH2"):
        times = [e.occurred_at for e in events if e.tracking_number == number]
        assert times == sorted(times) and max(times) < NOW


def test_job_batches_keep_a_parcels_events_together():
    events = shipping.build_events([(f"BENCH{i}", "shipped") for i in range(5)], 2, NOW)
    batches = shipping.job_batches(events, 2)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert [{e.tracking_number for e in b} for b in batches] == [
        {"BENCH0", "BENCH1"}, {"BENCH2", "BENCH3"}, {"BENCH4"}]


def test_event_count_is_a_tenth_of_the_orders_up_to_the_issues_100000():
    assert shipping.event_count(1_000_000) == 100_000
    assert shipping.event_count(5_000_000) == 100_000
    assert shipping.event_count(100_000) == 10_000


def test_the_verdict_is_given_only_in_the_targets_setting():
    passes = {"one_batch": {"seconds": 8.0}, "job_batches": {"seconds": 12.0}}
    full = {"status": "ok", "database": "postgresql", "events": 100_000, **passes}
    assert shipping.events_verdict(full) == "one batch pass, job batches FAIL"
    quick = {**full, "database": "sqlite", "events": 10_000}
    assert shipping.events_verdict(quick).startswith("no verdict")
    assert shipping.events_verdict({"status": "failed", "reason": "boom"}) == \
        "not measured (boom)"


def test_only_accepts_scenarios_and_the_shipping_measurements():
    scenarios, extras = run.chosen(None)
    assert shipping.WEBHOOK in [s.name for s in scenarios]
    assert extras == list(run.EXTRAS)
    scenarios, extras = run.chosen([shipping.EVENTS])
    assert [s.name for s in scenarios] == [MINIMAL, LIST_MEMORY] and extras == [shipping.EVENTS]
    scenarios, extras = run.chosen(["order_detail", shipping.WEBHOOK])
    assert [s.name for s in scenarios] == [MINIMAL, LIST_MEMORY, "order_detail",
                                           shipping.WEBHOOK]
    assert extras == []
    with pytest.raises(ValueError, match="nope"):
        run.chosen(["nope"])


def test_the_markdown_shows_the_measurements():
    text = report.render_markdown({
        "date": "2026-11-28T10:00:00+00:00", "mode": "quick",
        "database": {"kind": "sqlite", "orders": 100_000}, "scenarios": [],
        "measurements": [
            {"name": shipping.EVENTS, "status": "ok", "events": 10_000, "parcels": 10_000,
             "one_batch": {"seconds": 0.8, "baseline_seconds": 0.12, "ratio_to_baseline": 6.7},
             "job_batches": {"seconds": 0.79, "batches": 5, "batch_median_s": 0.14,
                             "batch_max_s": 0.22, "baseline_seconds": 0.05,
                             "ratio_to_baseline": 15.5},
             "target": "≤ 10 s", "verdict": "no verdict"},
            {"name": shipping.LATENCY, "status": "ok", "median_s": 2.1, "max_s": 2.2,
             "runs": [{}] * 5, "page": "/shipping/", "target": "< 10 s", "verdict": "pass"},
            {"name": "x", "status": "failed", "reason": "no worker"},
        ]})
    assert "one batch 0.80 s; 5 job batches 0.79 s" in text
    assert "median 2.10 s, max 2.20 s over 5 (/shipping/)" in text
    assert "failed: no worker" in text
