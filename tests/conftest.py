"""Shared fixtures: a real database (SQLite, or PostgreSQL on the second pass), a real
Redis, an app per test, logged-in clients per role, factories and an in-process worker."""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from app import create_app
from extensions import db
from workers.redis_server import PrivateRedis, redis_answers

pytest_plugins = ["tests.factories", "tests.browser_support", "tests.shipping_support",
                  "tests.channel_support", "tests.dropship_support"]

TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')
ON_POSTGRES = os.environ.get("CODBOARD_TEST_DATABASE") == "postgres"


def pytest_report_header(config):
    """Say which database and Redis this pass uses."""
    return [f"codboard test database: {'PostgreSQL' if ON_POSTGRES else 'SQLite'}"]


@pytest.fixture(scope="session")
def base_url(pytestconfig):
    """The --base-url option, defined here because pytest-playwright's own fallback
    triggers a pytest deprecation warning (an error under filterwarnings=error)."""
    return pytestconfig.getoption("--base-url") or None


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A fresh database for this test session, schema built by the migrations."""
    if ON_POSTGRES:
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            pytest.fail("CODBOARD_TEST_DATABASE=postgres needs TEST_DATABASE_URL")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'codboard.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real Redis: the configured one on a database number of its own, else a private one."""
    configured = os.environ.get("REDIS_URL")
    if configured and redis_answers(configured):
        parts = urlsplit(configured)
        # Database 15 keeps test keys away from anything else on a shared server.
        yield urlunsplit(parts._replace(path="/15"))
        return
    server = PrivateRedis(str(tmp_path_factory.mktemp("redis"))).start()
    yield server.url
    server.stop()


class Client(FlaskClient):
    """A test client that sends the page's CSRF token with every POST, as htmx does."""

    csrf: str | None = None

    def open(self, *args, **kwargs):
        """Serve each request in its own app context, as a real server does.

        The test keeps an app context open for its factories; without a fresh one
        per request, `g` (the logged-in user, the CSRF token) and the database
        session would leak between clients and into the test.
        """
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()  # the test's own objects reload what the request wrote
        return response

    def token(self) -> str:
        """The CSRF token a page carries in hx-headers (login page or the home screen)."""
        if self.csrf is None:
            page = self.get("/login", follow_redirects=True).get_data(as_text=True)
            match = TOKEN.search(page)
            assert match, "no CSRF token on the page"
            self.csrf = match.group(1)
        return self.csrf

    def post(self, *args, htmx: bool = False, csrf: bool = True, **kwargs):
        """POST with the CSRF header (and HX-Request when htmx=True)."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if csrf:
            headers.setdefault("X-CSRFToken", self.token())
        if htmx:
            headers.setdefault("HX-Request", "true")
        return super().post(*args, headers=headers, **kwargs)

    def hx_get(self, *args, **kwargs):
        """GET as htmx does for a fragment swap."""
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.setdefault("HX-Request", "true")
        return self.get(*args, headers=headers, **kwargs)


def empty_tables(keep: tuple[str, ...] = ()) -> None:
    """Empty every table but those in keep, keeping the schema."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables) if t.name not in keep]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


def _wipe(url: str) -> None:
    """Empty every table, keeping the schema, so each test starts from nothing."""
    empty_tables()


@pytest.fixture
def app(database_url, redis_url):
    """An app on the test database and Redis; tables and Redis db emptied afterwards."""
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "SERVER_NAME": None,
        # Outside systems are played by the app's own sandbox, over real HTTP.
        "SANDBOX_ENABLED": True,
        "SANDBOX_STEP_SECONDS": 0,
    })
    app.test_client_class = Client
    with app.app_context():
        yield app
        db.session.remove()
        _wipe(database_url)
        app.extensions["redis"].flushdb()
        db.engine.dispose()


@pytest.fixture
def client(app) -> Client:
    """An anonymous client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """The Flask CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def login(app, make_user):
    """login(role_or_user) -> a client logged in as a new user of that role (or that user)."""

    def login(who, password: str = "secret-pw"):
        user = make_user(role=who, password=password) if isinstance(who, str) else who
        c = app.test_client()
        page = c.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        resp = c.post("/login", data={"username": user.username, "password": password,
                                      "csrf_token": token}, csrf=False)
        assert resp.status_code == 303, resp.get_data(as_text=True)
        c.user = user
        return c

    return login


@pytest.fixture
def speaker(login, make_user):
    """speaker(role, language) -> a client of a user whose saved language is `language`."""

    def make(role: str, language: str):
        return login(make_user(role=role, language=language))

    return make


def job_errors(queues) -> list[str]:
    """The errors of the jobs that failed on these queues (failed, or waiting for a retry)."""
    from rq.job import Job
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry

    errors = []
    for queue in queues:
        for registry in (FailedJobRegistry(queue=queue), ScheduledJobRegistry(queue=queue)):
            for job in Job.fetch_many(registry.get_job_ids(), connection=queue.connection):
                result = job and job.latest_result()
                if result is not None and result.exc_string:
                    errors.append(f"{job.func_name}: {result.exc_string}")
    return errors


@pytest.fixture
def run_jobs(app):
    """Run every queued job in this process with a real RQ worker; fail loudly on job errors."""
    from rq import SimpleWorker

    from workers import QUEUE_NAMES, get_queue

    def run() -> None:
        queues = [get_queue(name) for name in QUEUE_NAMES]
        SimpleWorker(queues, connection=app.extensions["redis"]).work(burst=True)
        errors = job_errors(queues)
        assert not errors, "\n".join(errors)

    return run


@pytest.fixture
def count_queries(app):
    """count_queries() -> a context manager whose .n is the SQL statements run inside it."""
    from contextlib import contextmanager

    from sqlalchemy import event

    @contextmanager
    def counting():
        class Tally:
            n = 0
            statements: list[str] = []

        def before(conn, cursor, statement, *args):
            Tally.n += 1
            Tally.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield Tally
        finally:
            event.remove(db.engine, "before_cursor_execute", before)

    return counting
