"""README "Running in production", walked as a new operator would: a fresh virtualenv,
`pip install .`, then from another directory the migration, create-user, gunicorn, a
worker and `rq cron`; an order entered and confirmed over HTTP reaches the carrier."""

import base64
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from workers.redis_server import PrivateRedis, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "cb_prodpath"
# What `pip install .` does not need from a checkout, and would be slow to copy.
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "instance", "bench", "tests", "build",
                                    "*.egg-info", "__pycache__", "*.pyc", "test-results",
                                    ".pytest_cache", ".ruff_cache", "node_modules")
# Every page carries the session's CSRF token in <body hx-headers>.
CSRF = re.compile(r'"X-CSRFToken": "([^"]+)"')
TRACKING = re.compile(r"\bSBX\d{10}\b")
WAIT_SECONDS = 150


def _server_url() -> str:
    """TEST_DATABASE_URL's server, or a skip (or failure, when PostgreSQL is required)."""
    if not (os.environ.get("CODBOARD_PRODUCTION_PATH") or os.environ.get("CI")):
        pytest.skip("the production path (fresh virtualenv, pip install ., gunicorn, workers) "
                    "runs with CODBOARD_PRODUCTION_PATH=1 or in CI (.ci/run sets it)")
    if os.environ.get("CODBOARD_TEST_DATABASE") == "postgres":
        pytest.skip("the production path is walked once, in the first pass of make test")
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CODBOARD_REQUIRE_POSTGRES"):
            pytest.fail("the production path needs PostgreSQL: set TEST_DATABASE_URL")
        pytest.skip("the production path needs PostgreSQL: set TEST_DATABASE_URL")
    return url


def _fresh_database(server_url: str) -> str:
    """An empty database on the test server, as a new installation starts with."""
    engine = create_engine(make_url(server_url).set(database="postgres"),
                           isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    engine.dispose()
    return make_url(server_url).set(database=DATABASE).render_as_string(hide_password=False)


class Deployment:
    """The installed copy's commands, run from a directory outside the checkout."""

    def __init__(self, home: Path, env: dict[str, str]):
        self.home, self.env = home, env
        self.bin = home / "venv" / "bin"
        self.cwd = home / "elsewhere"
        self.cwd.mkdir()
        self.children: list[tuple[str, subprocess.Popen]] = []

    def run(self, *command: str, timeout: float = 120) -> str:
        """Run one command to the end; its output, or a failure quoting it."""
        result = subprocess.run([str(self.bin / command[0]), *command[1:]], cwd=self.cwd,
                                env=self.env, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def start(self, name: str, *command: str) -> None:
        """Start a long-running process in its own group, its output in a log file."""
        log = open(self.home / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        child = subprocess.Popen([str(self.bin / command[0]), *command[1:]], cwd=self.cwd,
                                 env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        log.close()
        self.children.append((name, child))

    def logs(self) -> str:
        """The last lines each process wrote, for a failure message."""
        tails = []
        for name, child in self.children:
            lines = (self.home / f"{name}.log").read_text(errors="replace").splitlines()
            tails.append(f"--- {name} (exit {child.poll()}):\n" + "\n".join(lines[-30:]))
        return "\n".join(tails)

    def dead(self) -> str | None:
        """The first process that stopped, if any."""
        return next((name for name, child in self.children if child.poll() is not None), None)

    def stop(self) -> None:
        """SIGTERM every process group, then SIGKILL what is left after 10 s."""
        for _name, child in self.children:
            _signal(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _name, child in self.children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(child.pid, signal.SIGKILL)
                child.wait()


def _signal(pgid: int, signum: int) -> None:
    """Signal a process group that may already be gone."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def _install(home: Path) -> None:
    """A fresh virtualenv with `pip install .` run in a copy of the checkout."""
    checkout = home / "checkout"
    shutil.copytree(ROOT, checkout, ignore=NOT_COPIED)
    subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True, timeout=120)
    result = subprocess.run([str(home / "venv" / "bin" / "pip"), "install", "--quiet",
                             "--disable-pip-version-check", "."], cwd=checkout,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    shutil.rmtree(checkout)  # the installed copy must not need it


def _environment(home: Path, database_url: str, redis_url: str, port: int) -> dict[str, str]:
    """README's exports, plus the sandbox carrier the demo data points at."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "FLASK_APP", "DATABASE_URL", "REDIS_URL"}}
    env.update({
        "PATH": f"{home / 'venv' / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_hex(32),
        "CODBOARD_SECRETS_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "CODBOARD_INSTANCE": str(home / "instance"),
        "PYTHONUNBUFFERED": "1",
        # The carrier is the app's own sandbox, reached over HTTP at PUBLIC_URL. Its
        # marketplace is held back so that the only order in the queue is ours, and its
        # webhook pushes (default queue, every 10 s) so that on a busy machine they do not
        # keep the one worker from the carriers queue.
        "SANDBOX_ENABLED": "1",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SANDBOX_ORDER_SECONDS": "86400",
        "SANDBOX_PUSH_SECONDS": "86400",
    })
    return env


def _wait_healthy(deployment: Deployment, base: str) -> None:
    """Wait (bounded) until /healthz answers 200 with a worker registered."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert deployment.dead() is None, deployment.logs()
        try:
            answer = requests.get(f"{base}/healthz", timeout=2)
            if answer.status_code == 200 and answer.json().get("workers", 0) >= 1:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"{base}/healthz never answered 200 with a worker\n{deployment.logs()}")


def _log_in(base: str, username: str, password: str) -> requests.Session:
    """A browser-like session logged in through the login form."""
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=10)
    resp = session.post(f"{base}/login", timeout=10, allow_redirects=False, data={
        "username": username, "password": password,
        "csrf_token": CSRF.search(page.text).group(1)})
    assert resp.status_code == 303, resp.text
    return session


def _form_token(session: requests.Session, url: str) -> tuple[str, str]:
    """The page at url and its form's CSRF token."""
    page = session.get(url, timeout=10)
    assert page.status_code == 200, page.text
    return page.text, CSRF.search(page.text).group(1)


def _enter_order(base: str, operator: requests.Session) -> int:
    """An order typed in by the operator on the phone channel; its number."""
    page, token = _form_token(operator, f"{base}/orders/new")
    channel = re.search(r'<option[^>]*value="(\d+)"[^>]*>Commandes téléphone<', page).group(1)
    product = re.search(r'<select name="product".*?<option value="(\d+)"', page, re.S).group(1)
    resp = operator.post(f"{base}/orders/new", timeout=10, allow_redirects=False, data={
        "csrf_token": token, "channel": channel, "external_id": "", "customer_name":
        "Salma Idrissi", "phone": "06 61 22 33 44", "address": "12 Rue Ibn Battouta",
        "city": "Casablanca", "region": "", "cod_amount": "", "note": "",
        "product": [product], "quantity": ["1"]})
    assert resp.status_code == 303, resp.text
    return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _confirm_next_call(base: str, agent: requests.Session) -> int:
    """The agent takes the next call and confirms it; the order's number."""
    _page, token = _form_token(agent, f"{base}/calls/")
    assert agent.post(f"{base}/calls/next", data={"csrf_token": token}, timeout=10,
                      allow_redirects=False).status_code == 303
    card, token = _form_token(agent, f"{base}/calls/")
    order_id = int(re.search(r'data-order="(\d+)"', card).group(1))
    version = re.search(r'name="version" value="(\d+)"', card).group(1)
    resp = agent.post(f"{base}/calls/{order_id}/outcome", timeout=10, allow_redirects=False,
                      data={"csrf_token": token, "version": version, "outcome": "confirmed"})
    assert resp.status_code == 303, resp.text
    return order_id


def _wait_tracking(deployment: Deployment, base: str, session: requests.Session,
                   order_id: int) -> str:
    """Poll the order page (bounded) until it shows the carrier's tracking number."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        assert deployment.dead() is None, deployment.logs()
        found = TRACKING.search(session.get(f"{base}/orders/{order_id}", timeout=10).text)
        if found:
            return found.group(0)
        time.sleep(1)
    pytest.fail(f"order {order_id} got no tracking number in {WAIT_SECONDS} s\n"
                f"{deployment.logs()}")


def test_readme_production_path_ships_a_confirmed_order(tmp_path):
    database_url = _fresh_database(_server_url())
    _install(tmp_path)
    redis = PrivateRedis(str(tmp_path / "redis")).start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    deployment = Deployment(tmp_path, _environment(tmp_path, database_url, redis.url, port))
    try:
        # The installed copy answers, its writable state kept in CODBOARD_INSTANCE.
        where = deployment.run("python", "-c", "import app; print(app.__file__); "
                               "print(app.create_app().instance_path)").split()
        assert where[0].startswith(str(tmp_path / "venv")), where
        assert where[1] == str(tmp_path / "instance"), where

        deployment.run("flask", "--app", "app:create_app", "db", "upgrade")
        # The demo's carrier, channels and stock, without its orders.
        deployment.run("flask", "--app", "app:create_app", "seed-demo", "--orders", "0")
        password = f"Prod-path-{secrets.token_hex(8)}"
        for username, role in (("salim", "operator"), ("amina", "agent")):
            deployment.run("flask", "--app", "app:create_app", "create-user", username,
                           "--role", role, "--name", username.title(), "--password", password)

        deployment.start("gunicorn", "gunicorn", "--bind", f"127.0.0.1:{port}",
                         "--worker-class", "sync", "--workers", "2", "app:create_app()")
        deployment.start("worker", "rq", "worker", "--with-scheduler", "--worker-class",
                         "workers.worker.AppWorker", "--url", redis.url,
                         "default", "carriers", "channels", "suppliers")
        deployment.start("cron", "rq", "cron", "--url", redis.url, "workers.cron_config")
        _wait_healthy(deployment, base)

        operator = _log_in(base, "salim", password)
        order_id = _enter_order(base, operator)
        assert _confirm_next_call(base, _log_in(base, "amina", password)) == order_id
        tracking = _wait_tracking(deployment, base, operator, order_id)

        # The sandbox carrier has the parcel under that number: its label prints.
        label = requests.get(f"{base}/sandbox/carrier/labels/{tracking}", timeout=10)
        assert (label.status_code, tracking in label.text) == (200, True), label.text
        # Stock taken at confirmation matches its ledger; counters match a recount.
        report = deployment.run("flask", "--app", "app:create_app", "check")
        assert report.startswith("all match"), report
    finally:
        deployment.stop()
        redis.stop()
