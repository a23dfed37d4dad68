"""`python -m bench.chaos [--kills N] [--max-minutes M] ...`: run the chaos run, print the
summary (also written to bench/results/chaos-<time>.json), exit 1 if an invariant fails."""

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import redis
from rq import Queue
from sqlalchemy import create_engine, text

from workers.redis_server import free_port

from . import checks, setup, traffic
from .cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"


def say(message: str) -> None:
    print(f"[chaos {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--kills", type=int, default=100, help="worker SIGKILLs to make")
    parser.add_argument("--max-minutes", type=float, default=30,
                        help="stop the faults after this long even if kills are left")
    parser.add_argument("--kill-every", type=float, default=0.5,
                        help="seconds between kills (plus the wait for a busy worker)")
    parser.add_argument("--busy-wait", type=float, default=5,
                        help="seconds to wait for a worker in the middle of a job")
    parser.add_argument("--redis-every", type=int, default=50,
                        help="restart Redis (empty) after this many kills")
    parser.add_argument("--drain-minutes", type=float, default=12)
    parser.add_argument("--database-url", default=os.environ.get(
        "CHAOS_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/chaos"))
    parser.add_argument("--redis-port", type=int, default=6390)
    parser.add_argument("--seed", type=int, default=13)
    return parser.parse_args(argv)


def environment(args, web_ports) -> dict[str, str]:
    """What every process of the run gets: one database, one Redis, fast sandbox partners."""
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    env.update({
        "FLASK_APP": "app:create_app", "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": f"redis://127.0.0.1:{args.redis_port}/0",
        "SECRET_KEY": "chaos-run-secret",
        "SANDBOX_ENABLED": "1", "PUBLIC_URL": f"http://127.0.0.1:{web_ports[0]}",
        "SANDBOX_STEP_SECONDS": "2", "SANDBOX_PUSH_SECONDS": "5",
        "CARRIER_SYNC_SECONDS": "15", "SANDBOX_ORDER_SECONDS": "30",
        "SANDBOX_SUPPLIER_SHIP_SECONDS": "10", "CHANNEL_NEWS_SECONDS": "30",
    })
    return env


def faults(args, cluster: Cluster, rng: random.Random) -> dict[str, int]:
    """Kill workers mid-job (and now and then Redis) until the kills or the time run out."""
    done = {"kills": 0, "no busy worker in time": 0, "redis restarts": 0}
    deadline = time.monotonic() + args.max_minutes * 60
    while done["kills"] < args.kills and time.monotonic() < deadline:
        time.sleep(args.kill_every)
        cluster.supervise()
        if not cluster.kill_worker(args.busy_wait):
            done["no busy worker in time"] += 1
            continue
        done["kills"] += 1
        if done["kills"] % args.redis_every == 0:
            cluster.restart_redis(down_seconds=rng.uniform(1, 4))
            done["redis restarts"] += 1
        if done["kills"] % 25 == 0:
            say(f"{done['kills']} kills, {done['redis restarts']} Redis restarts")
    return done


def drain(args, cluster: Cluster, engine, cutoff) -> tuple[float, dict[str, int]]:
    """Reconcile until the database says nothing is due (twice in a row), or time is up."""
    start = time.monotonic()
    calm = 0
    due = {}
    while time.monotonic() - start < args.drain_minutes * 60:
        cluster.supervise()
        try:
            connection = redis.Redis.from_url(cluster.redis_url)
            Queue("default", connection=connection).enqueue("workers.reconcile.reconcile")
        except redis.RedisError as exc:
            say(f"could not enqueue reconcile: {exc}")
        time.sleep(10)
        with engine.connect() as conn:
            due = checks.due_work(conn, cutoff)
        calm = calm + 1 if not any(due.values()) else 0
        if calm >= 2:
            break
        say(f"draining: {due}")
    return time.monotonic() - start, due


def main(argv=None) -> int:
    args = arguments(argv)
    rng = random.Random(args.seed)
    run_id = f"chaos{datetime.now(UTC):%m%d%H%M%S}"
    web_ports = (free_port(), free_port())
    env = environment(args, web_ports)
    logdir = ROOT / "instance" / "chaos" / run_id
    logdir.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(env, web_ports, args.redis_port, logdir)
    bases = [f"http://127.0.0.1:{port}" for port in web_ports]
    engine = create_engine(args.database_url, pool_size=4)
    started = time.monotonic()
    say(f"run {run_id}: logs in {logdir}")
    try:
        cluster.start_redis()
        token = setup.prepare(env)
        cluster.start_app()
        wait_for_web(bases)
        with engine.connect() as conn:
            products = [tuple(row) for row in conn.execute(text(
                "SELECT sku, name, price_cents FROM products WHERE active ORDER BY id"))]
        skus = [sku for sku, _name, _price in products]
        tally = traffic.Tally()
        shop = traffic.Shop(bases, tally, 1, token, skus, run_id)
        market = traffic.Marketplace(bases, tally, 2, products, run_id)
        threads = [
            shop, market,
            traffic.Agent(bases[:1], tally, 3, "agent"),
            traffic.Agent(bases[1:], tally, 4, "agent2"),
            traffic.Operator(bases[1:], tally, 5, "operator", engine),
            traffic.Replayer(bases, tally, 6, engine, market),
        ]
        for thread in threads:
            thread.start()
        say(f"traffic flowing; faults start: {args.kills} kills, Redis every "
            f"{args.redis_every}")
        fault_start = time.monotonic()
        done = faults(args, cluster, rng)
        fault_seconds = time.monotonic() - fault_start
        for thread in threads:
            thread.stopping.set()
        for thread in threads:
            thread.join(timeout=30)
        unsent = shop.finish(120)
        say(f"faults stopped after {fault_seconds:.0f} s; draining")
        cutoff = datetime.now(UTC).replace(tzinfo=None)
        drain_seconds, due = drain(args, cluster, engine, cutoff)
        with engine.connect() as conn:
            found = checks.invariants(conn, sorted(shop.taken), run_id, cutoff)
            orders = _orders(conn, run_id)
        found["API orders never taken by the API"] = unsent
        found["counters differ from a recount"] = 0 if checks.counters_match(env) else 1
        found["work still due after the drain"] = sum(due.values())
        found["codboard answers 5xx"] = checks.server_errors(tally.counts)
    finally:
        cluster.stop()
    summary = {
        "run": run_id, "command": " ".join(["python -m bench.chaos", *sys.argv[1:]]),
        "kills": done["kills"],
        "no busy worker in time": done["no busy worker in time"],
        "redis restarts": done["redis restarts"],
        "fault seconds": round(fault_seconds), "drain seconds": round(drain_seconds),
        "total seconds": round(time.monotonic() - started),
        "processes found dead and restarted": cluster.restarts,
        "replays": {k: v for k, v in tally.counts.items() if "replay" in k},
        "traffic": dict(sorted(tally.counts.items())), "orders": orders,
        "due after drain": due, "invariants": found,
        "lost": found["lost API orders"] + found["lost marketplace orders"]
        + found["confirmed orders never registered"] + found["returned lines not restocked"]
        + found["API orders never taken by the API"],
        "double": found["double API orders"] + found["double marketplace orders"]
        + found["double restocks (lines with more than one)"]
        + found["double supplier submissions (supplier's records)"]
        + found["double carrier registrations (carrier's parcels per order)"],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{run_id}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    failed = [name for name, n in found.items() if n]
    say("FAILED: " + ", ".join(failed) if failed else "all invariants hold")
    return 1 if failed else 0


def _orders(conn, run_id: str) -> dict[str, int]:
    """What the run's orders became (how much of each path was exercised)."""
    rows = conn.execute(text(
        "SELECT confirmation_status, COALESCE(shipping_status, '-'), COUNT(*) FROM orders"
        " GROUP BY 1, 2")).all()
    counts = {f"{c}/{s}": n for c, s, n in rows}
    counts["supplier orders"] = int(conn.execute(text(
        "SELECT COUNT(*) FROM supplier_orders")).scalar())
    counts["restocked lines"] = int(conn.execute(text(
        "SELECT COUNT(*) FROM stock_movements WHERE reason = 'restock'")).scalar())
    counts["carrier webhooks stored"] = int(conn.execute(text(
        "SELECT COUNT(*) FROM carrier_webhooks")).scalar())
    return counts


def wait_for_web(bases: list[str]) -> None:
    import requests

    deadline = time.monotonic() + 90
    for base in bases:
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{base} did not answer within 90 s") from None
                time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
