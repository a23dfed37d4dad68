"""Login throttling: failed attempts per account (or trusted device) and per address, on
Redis; a 429 page that says when to retry; logins still work when Redis is down."""

import logging

import pytest

import workers
from app import create_app

from .pages import heading, text


@pytest.fixture
def throttled(app):
    """Throttling on (the suite runs without it), with small limits to reach quickly."""
    app.config.update(LOGIN_THROTTLE=True, LOGIN_THROTTLE_ACCOUNT="3 per 15 minutes",
                      LOGIN_THROTTLE_IP="5 per 15 minutes")
    return app


def _try(client, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password})


def test_throttle_account_refuses_after_failures_even_right_password(throttled, client,
                                                                     make_user):
    user = make_user(role="operator")
    for _ in range(3):
        assert _try(client, user.username, "wrong-guess-123").status_code == 401
    resp = _try(client, user.username, "secret-pw")
    assert resp.status_code == 429
    assert heading(resp) == "Log in to codboard"
    assert "Too many failed attempts. Try again in 15 minutes." in text(resp)
    assert 14 * 60 < int(resp.headers["Retry-After"]) <= 15 * 60 + 1
    assert client.get("/shipping/").status_code == 302


def test_throttle_account_counts_failures_only(throttled, login):
    c = login("agent")
    for _ in range(5):
        assert c.post("/logout").status_code == 303
        c.csrf = None
        assert _try(c, c.user.username, "secret-pw").status_code == 303
        c.csrf = None


def test_throttle_account_lock_spares_other_accounts(throttled, client, make_user):
    target, other = make_user(role="agent"), make_user(role="agent")
    for _ in range(3):
        _try(client, target.username, "wrong-guess-123")
    assert _try(client, other.username, "secret-pw").status_code == 303


def test_throttle_account_case_of_username_does_not_dodge_it(throttled, client, make_user):
    make_user(role="agent", username="youssef")
    for name in ("youssef", "YOUSSEF", " Youssef"):
        assert _try(client, name, "wrong-guess-123").status_code == 401
    assert _try(client, "youssef", "secret-pw").status_code == 429


def test_throttle_trusted_device_still_logs_in_during_attack(throttled, app, login):
    desk = login("manager")
    assert desk.post("/logout").status_code == 303
    desk.csrf = None
    attacker = app.test_client()
    for _ in range(3):
        assert _try(attacker, desk.user.username, "wrong-guess-123").status_code == 401
    assert _try(attacker, desk.user.username, "secret-pw").status_code == 429
    assert _try(desk, desk.user.username, "secret-pw").status_code == 303
    assert desk.get("/boards/").status_code == 200


def test_throttle_address_refuses_after_failures_on_many_accounts(throttled, client,
                                                                   make_user):
    user = make_user(role="agent")
    for n in range(5):
        assert _try(client, f"guess{n}", "wrong-guess-123").status_code == 401
    resp = _try(client, user.username, "secret-pw")
    assert resp.status_code == 429
    assert "Try again in 15 minutes" in text(resp)


def test_throttle_counters_expire_on_their_own(throttled, client, make_user):
    user = make_user(role="agent")
    _try(client, user.username, "wrong-guess-123")
    redis = throttled.extensions["redis"]
    keys = redis.keys("*codboard-login*")
    assert keys
    assert all(0 < redis.ttl(key) <= 15 * 60 for key in keys)


def test_throttle_off_by_default_under_testing(app, client, make_user):
    user = make_user(role="agent")
    for _ in range(12):
        _try(client, user.username, "wrong-guess-123")
    assert _try(client, user.username, "secret-pw").status_code == 303


@pytest.fixture
def limiter_log(caplog):
    """Flask-Limiter's warnings (Alembic's logging setup in the session fixture disables
    loggers that existed before it, this one included)."""
    logger = logging.getLogger("flask-limiter")
    disabled, logger.disabled = logger.disabled, False
    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        yield caplog
    logger.disabled = disabled


def test_throttle_redis_down_login_still_works(database_url, limiter_log):
    previous = workers._app
    dead = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                       "REDIS_URL": "redis://127.0.0.1:9/0", "LOGIN_THROTTLE": True,
                       "SANDBOX_ENABLED": False})
    workers._app = previous
    from tests.conftest import Client

    dead.test_client_class = Client
    with dead.app_context():
        from extensions import db
        from models import User

        user = User(username="redis-down", role="agent")
        user.set_password("secret-pw")
        db.session.add(user)
        db.session.commit()
        try:
            client = dead.test_client()
            assert _try(client, "redis-down", "wrong-guess-123").status_code == 401
            assert _try(client, "redis-down", "secret-pw").status_code == 303
            assert client.get("/calls/").status_code == 200
            assert "storage unreachable" in limiter_log.text
        finally:
            db.session.delete(db.session.get(User, user.id))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()


