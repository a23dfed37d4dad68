"""The manager boards in the benchmark: their request paths, and both data sizes in one go.

    python -m bench.boards [--sizes 10000 1000000] [--seconds S] [--wait-quiet S]
    python -m bench.boards --compare SMALL.json LARGE.json

The boards read rollups only, so their cost must not grow with the orders: the first
form runs the board scenarios on a data set of each size (each in a database of its own,
built or reused by bench.generate) and prints every scenario's large/small ratios; the
second prints them for two results files already written.
"""

import argparse
import json
import os
import random
import sys
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import text
from sqlalchemy.engine import Connection

from . import generate

PATHS = 2000
PERIODS = ("today", "7d", "30d")
# wrk's extra header for the live poll: htmx asks for the board's live block only.
HTMX = ("HX-Request: true",)
STATUS, STATUS_POLL, STATUS_ALONE = "status_board", "status_board_poll", "status_board_alone"
MONEY, MONEY_POLL, MONEY_ALONE = "money_board", "money_board_poll", "money_board_alone"
SCENARIOS = (STATUS, STATUS_POLL, STATUS_ALONE, MONEY, MONEY_POLL, MONEY_ALONE)
SIZES = (10_000, generate.FULL_N)
# The target: the large data set's figure within this factor of the small one's.
MAX_GROWTH = 1.2


def status_board_paths(conn: Connection, rng: random.Random, count: int = PATHS) -> list[str]:
    """/boards/ for today, 7 and 30 days, each alone or narrowed by one channel, agent or
    city (one slice at a time, as the form allows)."""
    channels = conn.execute(text("SELECT id FROM channels ORDER BY id")).scalars().all()
    agents = conn.execute(
        text("SELECT id FROM users WHERE role = 'agent' ORDER BY id")).scalars().all()
    # The cities as the board keeps them (its city slice), busiest first.
    cities = conn.execute(text(
        "SELECT key FROM order_day_counts WHERE dim = 'city' GROUP BY key "
        "ORDER BY SUM(n) DESC LIMIT 30")).scalars().all()
    slices = [lambda: {}, lambda: {"channel": rng.choice(channels)},
              lambda: {"agent": rng.choice(agents)}]
    if cities:
        slices.append(lambda: {"city": rng.choice(cities)})
    paths = []
    for i in range(count):
        args = {"period": PERIODS[i % len(PERIODS)],
                **slices[(i // len(PERIODS)) % len(slices)]()}
        paths.append("/boards/?" + urlencode(args))
    return paths


def database_for(n: int) -> str:
    """The benchmark database of a data set of n orders: the usual one for the full size,
    a database (or SQLite file) of its own for any other, so both stay built."""
    url = generate.default_database_url(n)
    if not url.startswith("postgresql"):
        return generate.sqlite_url(n)
    if n == generate.FULL_N:
        return url
    parsed = generate.normalized_url(url)
    return parsed.set(database=f"{parsed.database}_{n}").render_as_string(hide_password=False)


def _figures(report: dict) -> dict[str, dict]:
    """Measured scenarios of a results file by name."""
    return {s["name"]: s for s in report.get("scenarios", []) if s.get("status") == "ok"}


def growth(small: dict, large: dict) -> list[dict]:
    """Each board scenario's large/small ratios: latency (p50, p99) and time per request
    (the inverse of req/s); within MAX_GROWTH or not."""
    a, b = _figures(small), _figures(large)
    rows = []
    for name in SCENARIOS:
        if name not in a or name not in b:
            continue
        s, g = a[name], b[name]
        ratios = {"p50": g["p50_ms"] / s["p50_ms"], "p99": g["p99_ms"] / s["p99_ms"],
                  "time_per_request": s["rps"] / g["rps"]}
        rows.append({"name": name, "small": s, "large": g,
                     **{k: round(v, 2) for k, v in ratios.items()},
                     "within": all(v <= MAX_GROWTH for v in ratios.values())})
    return rows


def growth_table(small: dict, large: dict) -> str:
    """The ratios as a Markdown table."""
    n_small, n_large = small["database"]["orders"], large["database"]["orders"]
    lines = [f"| scenario | {n_small:,}: req/s, p50, p99 ms | {n_large:,}: req/s, p50, p99 ms "
             "| p50 × | p99 × | time per request × | within 1.2 × |",
             "|---|--:|--:|--:|--:|--:|---|"]
    for row in growth(small, large):
        s, g = row["small"], row["large"]
        lines.append(
            f"| {row['name']} | {s['rps']:,.1f}, {s['p50_ms']:.2f}, {s['p99_ms']:.2f} "
            f"| {g['rps']:,.1f}, {g['p50_ms']:.2f}, {g['p99_ms']:.2f} | {row['p50']:.2f} "
            f"| {row['p99']:.2f} | {row['time_per_request']:.2f} "
            f"| {'yes' if row['within'] else 'no'} |")
    return "\n".join(lines)


def _newest_result() -> Path | None:
    found = sorted((generate.ROOT / "bench" / "results").glob("*.json"))
    return found[-1] if found else None


def main(argv: list[str] | None = None) -> int:
    """Run the board scenarios at each size (or compare two results files)."""
    from . import run

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", nargs=2, metavar=("SMALL", "LARGE"))
    parser.add_argument("--sizes", nargs=2, type=int, default=SIZES, metavar=("SMALL", "LARGE"))
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--wait-quiet", type=float, default=0)
    args = parser.parse_args(argv)
    if args.compare:
        small, large = (json.loads(Path(p).read_text()) for p in args.compare)
        print(growth_table(small, large))
        return 0
    files = []
    for n in args.sizes:
        before = _newest_result()
        os.environ["N"] = str(n)
        options = ["--database-url", database_for(n), "--only", *SCENARIOS,
                   "--wait-quiet", str(args.wait_quiet)]
        if args.seconds:
            options += ["--seconds", str(args.seconds)]
        code = run.main(options)
        after = _newest_result()
        if after is None or after == before:
            print(f"bench.boards: the run at {n:,} orders wrote no results", file=sys.stderr)
            return code or 1
        files.append(after)
    small, large = (json.loads(p.read_text()) for p in files)
    print()
    print(f"Boards, {args.sizes[1]:,} against {args.sizes[0]:,} orders "
          f"({files[0].name}, {files[1].name}):")
    print(growth_table(small, large))
    return 0 if all(row["within"] for row in growth(small, large)) else 1


if __name__ == "__main__":
    sys.exit(main())
