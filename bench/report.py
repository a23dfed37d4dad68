"""Render a results JSON as Markdown, for pasting into BENCHMARKS.md.

    python -m bench.report [bench/results/<file>.json ...]   (default: the newest)
"""

import json
import sys
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _num(value, digits: int = 1) -> str:
    """A figure, or a dash when there is none."""
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def header(report: dict) -> list[str]:
    """Where, when and on what the figures were measured."""
    m, v, db = report.get("machine", {}), report.get("versions", {}), report["database"]
    data = report.get("data", {})
    server = (f"PostgreSQL {v['postgresql']} (shared_buffers {v.get('postgresql_shared_buffers')})"
              if "postgresql" in v else f"SQLite {v.get('sqlite')}")
    built = ("reused from an earlier build" if data.get("cached")
             else f"built in {_num(data.get('build_seconds') and float(data['build_seconds']))} s")
    lines = [
        f"- Date: {report['date']} (UTC), revision {report.get('revision') or 'unknown'}, "
        f"{report['mode']} run, {report.get('seconds_per_scenario', '?')} s per scenario after "
        f"{report.get('warmup_seconds', '?')} s of warm-up, {report.get('total_seconds')} s in all",
        f"- Machine: {m.get('cores')} cores, {m.get('memory_gb')} GB RAM, {m.get('cpu')}",
        f"- Database: {server}, {db['orders']:,} orders "
        f"({_int(data.get('rows_order_lines'))} lines, {_int(data.get('rows_audit_events'))} "
        f"audit events; data {built})",
        "- Versions: " + ", ".join(
            f"{k} {val}" for k, val in v.items()
            if k not in ("postgresql", "postgresql_shared_buffers", "sqlite")),
    ]
    if report.get("gunicorn"):
        lines.append(f"- Server: `gunicorn {report['gunicorn']['command']}`")
    return lines


def _int(value) -> str:
    """A row count with thousands separators."""
    return f"{int(value):,}" if value not in (None, "") else "?"


def scenario_table(report: dict) -> list[str]:
    """One row per scenario."""
    rows = [
        "| scenario | role | clients | req/s | p50 ms | p99 ms | errors | RSS MB (max worker) "
        "| × minimal | × list-memory | other CPU % | target | verdict |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
    ]
    for s in report.get("scenarios", []):
        measured = "rps" in s
        rss = f"{s['rss_mb']:.0f} ({s['rss_worker_max_mb']:.0f})" if measured else "—"
        errors = str(s["errors"]) if measured else "—"
        verdict = s.get("verdict") or ("" if s["status"] == "ok" else f"failed: {s['reason']}")
        rows.append(
            f"| {s['name']} | {s['role'] or '—'} | {s['concurrency']} | {_num(s.get('rps'))} "
            f"| {_num(s.get('p50_ms'), 2)} | {_num(s.get('p99_ms'), 2)} | {errors} | {rss} "
            f"| {_num(s.get('ratio_minimal'), 2)} | {_num(s.get('ratio_list_memory'), 2)} "
            f"| {_num(s.get('cpu_percent', {}).get('other'), 0)} "
            f"| {s.get('target') or ''} | {verdict} |"
        )
    return rows


def webhook_notes(report: dict) -> list[str]:
    """What the webhook intake stored, under the scenario table."""
    lines = []
    for s in report.get("scenarios", []):
        hooks = s.get("webhook")
        if hooks:
            lines.append(
                f"- {s['name']}: {hooks['stored_rows']:,} rows stored for "
                f"{hooks['accepted_202']:,} answers 202 (probe and warm-up included) and "
                f"{hooks['duplicates_200']:,} answers 200 duplicate; deleted afterwards with "
                f"{hooks['deleted_jobs']} apply job(s) enqueued")
        orders = s.get("api_orders")
        if orders:
            lines.append(f"- {s['name']}: {orders['stored_orders']:,} orders stored for "
                         f"{orders['created_201']:,} answers 201 (probe and warm-up included) "
                         f"and {orders['other_answers']:,} other answers; deleted afterwards")
    return ["", *lines] if lines else []


def measurements_table(report: dict) -> list[str]:
    """The measurements that are not wrk scenarios (bench/shipping.py)."""
    found = report.get("measurements") or []
    if not found:
        return []
    rows = ["| measurement | measured | baseline (same run) | target | verdict |",
            "|---|---|---|---|---|"]
    for m in found:
        measured = baseline = "—"
        if m["status"] == "ok" and "one_batch" in m:
            one, jobs = m["one_batch"], m["job_batches"]
            measured = (f"{m['events']:,} events, {m['parcels']:,} parcels: one batch "
                        f"{one['seconds']:.2f} s; {jobs['batches']} job batches "
                        f"{jobs['seconds']:.2f} s (median {jobs['batch_median_s']:.2f} s, "
                        f"max {jobs['batch_max_s']:.2f} s)")
            baseline = (f"COPY + UPDATE … FROM {one['baseline_seconds']:.2f} s / "
                        f"{jobs['baseline_seconds']:.2f} s (× {one['ratio_to_baseline']} / "
                        f"× {jobs['ratio_to_baseline']})")
        elif m["status"] == "ok" and "summary" in m:
            measured, baseline = m["summary"], m.get("baseline_summary", "—")
        elif m["status"] == "ok" and "median_s" in m:
            measured = (f"median {m['median_s']:.2f} s, max {m['max_s']:.2f} s over "
                        f"{len(m['runs'])} ({m['page']})")
        verdict = m.get("verdict") or ("" if m["status"] == "ok" else f"failed: {m['reason']}")
        rows.append(f"| {m['name']} | {measured} | {baseline} | {m.get('target', '')} "
                    f"| {verdict} |")
    return ["", *rows]


def workers_table(report: dict) -> list[str]:
    """One row per gunicorn setting compared."""
    names = [k for k in report["worker_comparison"][0] if isinstance(
        report["worker_comparison"][0][k], dict)]
    rows = ["| gunicorn | " + " | ".join(f"{n} req/s | {n} p99 ms" for n in names)
            + " | RSS MB |",
            "|---|" + "--:|--:|" * len(names) + "--:|"]
    for row in report["worker_comparison"]:
        cells = []
        rss = []
        for name in names:
            r = row[name]
            ok = r["status"] == "ok"
            cells += [_num(r["rps"]) if ok else "failed", _num(r["p99_ms"], 2) if ok else "—"]
            if ok:
                rss.append(r["rss_mb"])
        rows.append(f"| {row['settings']} | " + " | ".join(cells)
                    + f" | {_num(max(rss, default=None), 0)} |")
    return rows


def render_markdown(report: dict) -> str:
    """The whole report: header lines, then the table."""
    if report.get("worker_comparison"):
        table = workers_table(report)
    else:
        table = [*scenario_table(report), *webhook_notes(report), *measurements_table(report)]
    return "\n".join([*header(report), "", *table]) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the Markdown of the given results files (or of the newest one)."""
    files = [Path(a) for a in (argv if argv is not None else sys.argv[1:])]
    if not files:
        found = sorted(RESULTS_DIR.glob("*.json"))
        if not found:
            print("bench.report: no results in bench/results/ yet", file=sys.stderr)
            return 1
        files = [found[-1]]
    for path in files:
        print(f"#### {path.name}\n")
        print(render_markdown(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
