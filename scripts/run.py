"""Run codboard locally: migrate, seed, then supervise Redis, RQ and gunicorn."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Running `python scripts/run.py` puts scripts/ on sys.path, not the repo root.
sys.path.insert(0, str(ROOT))

stop_requested = False


def log(message: str) -> None:
    """Print a supervisor message, flushed so it interleaves sensibly with the children's logs."""
    print(f"[run] {message}", flush=True)


def request_stop(signum: int, frame: object) -> None:
    """Record a stop request; the supervision loops act on it."""
    global stop_requested
    stop_requested = True


def child_env() -> dict[str, str]:
    """Return the environment shared by every child, filling in local defaults."""
    env = dict(os.environ)
    env.setdefault("FLASK_APP", "app:create_app")
    env.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'codboard.db'}")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    env.setdefault("PORT", "5000")
    env.setdefault("PYTHONUNBUFFERED", "1")
    # The demo reaches its carrier through the built-in sandbox, at demo speed: a packed
    # parcel takes a step every 20 s, the sandbox pushes webhooks every 10 s and the
    # tracking sync runs every 30 s; the sandbox marketplace places orders every 45 s;
    # the sandbox supplier ships what it accepted a minute later.
    env.setdefault("SANDBOX_ENABLED", "1")
    env.setdefault("PUBLIC_URL", f"http://127.0.0.1:{env['PORT']}")
    env.setdefault("SANDBOX_STEP_SECONDS", "20")
    env.setdefault("SANDBOX_PUSH_SECONDS", "10")
    env.setdefault("CARRIER_SYNC_SECONDS", "30")
    env.setdefault("SANDBOX_ORDER_SECONDS", "45")
    env.setdefault("SANDBOX_SUPPLIER_SHIP_SECONDS", "60")
    return env


def run_step(env: dict[str, str], *args: str) -> None:
    """Run a one-off flask command, exiting with a clear message when it fails."""
    command = [sys.executable, "-m", "flask", *args]
    try:
        returncode = subprocess.run(command, env=env).returncode
    except OSError as exc:
        log(f"could not run {command[0]}: {exc}")
        raise SystemExit(1) from exc
    if returncode and not stop_requested:
        log(f"`flask {' '.join(args)}` failed with exit code {returncode}; see the output above.")
        raise SystemExit(1)


def start_children(env: dict[str, str], children: dict[str, subprocess.Popen[bytes]]) -> None:
    """Start the RQ worker, RQ cron and gunicorn into children, each in its own process group."""
    from workers import QUEUE_NAMES

    url = env["REDIS_URL"]
    commands = {
        "rq worker": [str(BIN / "rq"), "worker", "--with-scheduler", "--worker-class",
                      "workers.worker.AppWorker", "--url", url, *QUEUE_NAMES],
        "rq cron": [str(BIN / "rq"), "cron", "--url", url, "workers.cron_config"],
        "gunicorn": [
            str(BIN / "gunicorn"),
            *("--bind", f"127.0.0.1:{env['PORT']}", "--workers", "2", "--threads", "4"),
            *("--access-logfile", "-", "app:create_app()"),
        ],
    }
    for name, command in commands.items():
        # Own sessions keep the terminal's Ctrl-C away from the children, so shutdown is ordered.
        children[name] = subprocess.Popen(command, env=env, start_new_session=True)


def port_in_use(port: int) -> bool:
    """Return True when something already accepts connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def dead_child(children: dict[str, subprocess.Popen[bytes]]) -> str | None:
    """Describe the first child that has exited, if any."""
    for name, child in children.items():
        if child.poll() is not None:
            return f"{name} exited unexpectedly with code {child.returncode}"
    return None


def wait_until_healthy(url: str, children: dict[str, subprocess.Popen[bytes]]) -> str | None:
    """Wait up to 60 s for url to answer; return why not, or None once it does."""
    deadline = time.monotonic() + 60
    while not stop_requested and time.monotonic() < deadline:
        if failure := dead_child(children):
            return failure
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return None
        except urllib.error.HTTPError:
            return None  # any HTTP status means the web server is up
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    return None if stop_requested else f"{url} did not answer within 60 s"


def stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM every child's process group, then SIGKILL whatever is left after 10 s."""
    groups = [child.pid for child in children.values()]
    for pgid in groups:
        signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        # Reap the leaders first: a zombie leader would keep its group looking alive.
        alive = [child.poll() is None for child in children.values()]
        if not any(alive) and not any(signal_group(pgid, 0) for pgid in groups):
            return
        time.sleep(0.1)
    for name, child in children.items():
        if signal_group(child.pid, signal.SIGKILL):
            log(f"{name} did not stop within 10 s; killed it")
    for child in children.values():
        child.wait()


def signal_group(pgid: int, signum: int) -> bool:
    """Send signum to a process group; return False when the group no longer exists."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    return True


def main() -> int:
    """Bring everything up, supervise it, and tear it all down again."""
    from workers.redis_server import PrivateRedis, redis_answers

    os.chdir(ROOT)
    os.makedirs("instance", exist_ok=True)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)
    env = child_env()
    redis_server = None
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        # Redis comes first so the flask commands already see the REDIS_URL the children get.
        if redis_answers(env["REDIS_URL"]):
            log(f"using Redis at {env['REDIS_URL']}")
        else:
            redis_server = PrivateRedis(datadir="instance/redis", persist=True)
            try:
                redis_server.start()
            except (OSError, RuntimeError) as exc:
                log(f"no Redis at {env['REDIS_URL']} and a private one would not start: {exc}")
                return 1
            env["REDIS_URL"] = redis_server.url
            log(f"started a private Redis ({redis_server.kind}) at {redis_server.url}")
        run_step(env, "db", "upgrade")
        if not stop_requested:
            run_step(env, "seed-demo", "--if-empty")
        if stop_requested:
            return 0
        if port_in_use(int(env["PORT"])):
            log(f"port {env['PORT']} is already in use; set PORT to use another one")
            return 1
        start_children(env, children)
        base = f"http://127.0.0.1:{env['PORT']}"
        failure = wait_until_healthy(f"{base}/healthz", children)
        if not failure and not stop_requested:
            log(f"codboard is running at {base}/")
            log("demo logins: agent/demo, operator/demo, manager/demo, admin/demo")
            log("Press Ctrl-C to stop.")
        while not failure and not stop_requested:
            failure = dead_child(children)
            time.sleep(0.2)
        if failure:
            log(f"{failure}; shutting everything down")
            return 1
        log("stopping")
        return 0
    finally:
        stop_children(children)
        if redis_server is not None:
            redis_server.stop()


if __name__ == "__main__":
    sys.exit(main())
