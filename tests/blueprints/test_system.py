"""The health check and the create-user command."""

import pytest
from rq import Worker

import workers
from app import create_app
from extensions import db
from models import User

from .pages import heading


@pytest.fixture
def other_app(database_url, redis_url, monkeypatch):
    """other_app(**config): a second app on the test database, closed afterwards."""
    monkeypatch.setattr(workers, "_app", workers._app)
    made = []

    def make(**config):
        built = create_app({
            "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
            "SERVER_NAME": None, **config,
        })
        made.append(built)
        return built

    yield make
    for built in made:
        with built.app_context():
            db.engine.dispose()
        built.extensions["redis"].close()


def _worker(app, name: str) -> Worker:
    worker = Worker(["default"], connection=app.extensions["redis"], name=name)
    worker.register_birth()
    return worker


def test_healthz_open_without_login(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"db": "ok", "redis": "ok", "workers": 0}


def test_healthz_counts_running_workers(app, client):
    worker = _worker(app, "health-one")
    try:
        resp = client.get("/healthz")
        assert resp.status_code == 200
        assert resp.get_json() == {"db": "ok", "redis": "ok", "workers": 1}
        second = _worker(app, "health-two")
        try:
            assert client.get("/healthz").get_json()["workers"] == 2
        finally:
            second.register_death()
    finally:
        worker.register_death()
    assert client.get("/healthz").get_json()["workers"] == 0


def test_healthz_redis_down_unhealthy(other_app):
    broken = other_app(REDIS_URL="redis://127.0.0.1:1/0")
    resp = broken.test_client().get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["redis"] == "error"
    assert body["db"] == "ok"
    assert body["workers"] == 0


def test_healthz_database_down_unhealthy(other_app, tmp_path):
    missing = tmp_path / "no-such-dir" / "codboard.db"
    broken = other_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{missing}")
    resp = broken.test_client().get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["db"] == "error"
    assert body["redis"] == "ok"


def test_create_user_command_user_can_log_in(runner, client):
    result = runner.invoke(args=["create-user", "nadia", "--role", "operator",
                                 "--name", "Nadia", "--password", "long-enough-pw"])
    assert result.exit_code == 0, result.output
    assert "created operator nadia" in result.output

    resp = client.post("/login", data={"username": "nadia", "password": "long-enough-pw"})
    assert resp.status_code == 303
    page = client.get("/", follow_redirects=True)
    assert heading(page) == "Shipping"
    assert "Nadia" in page.get_data(as_text=True)


def test_create_user_command_duplicate_username_refused(runner, make_user, client):
    make_user(role="agent", username="omar", password="first-password")
    result = runner.invoke(args=["create-user", "omar", "--role", "admin",
                                 "--password", "second-password"])
    assert result.exit_code != 0
    assert "already exists" in result.output
    db.session.rollback()
    users = db.session.query(User).filter_by(username="omar").all()
    assert [(u.role, u.check_password("first-password")) for u in users] == [("agent", True)]
    refused = client.post("/login", data={"username": "omar", "password": "second-password"})
    assert refused.status_code == 401


def test_create_user_command_short_password_refused(runner):
    result = runner.invoke(args=["create-user", "tiny", "--role", "agent", "--password", "short"])
    assert result.exit_code != 0
    assert "Use at least 12 characters." in result.output
    db.session.rollback()
    assert db.session.query(User).filter_by(username="tiny").first() is None
