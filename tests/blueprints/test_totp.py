"""The optional second factor: enrolment from the account page, the code step at login,
no code used twice, turning it off, an admin's reset, encrypted storage, throttling."""

import re
import time

import pyotp
import pytest
from sqlalchemy import text as sql

from extensions import db
from models import User

from .pages import heading, location, text

SECRET = re.compile(r"data-secret>([A-Z2-7]+)<")


def _code(secret: str, later: int = 0) -> str:
    """What the user's authenticator app shows now (or `later` seconds from now)."""
    return pyotp.TOTP(secret).at(time.time() + later)


def _turned_on(user: User) -> str:
    """Give the user a confirmed second factor; return its secret."""
    user.totp_secret = pyotp.random_base32()
    user.totp_enabled = True
    db.session.commit()
    return user.totp_secret


def _password(client, user: User, next_url: str | None = None):
    query = {"next": next_url} if next_url else {}
    resp = client.post("/login", query_string=query,
                       data={"username": user.username, "password": "secret-pw"})
    client.csrf = None  # the password step starts a new session: the code form's token
    return resp


def test_totp_enrol_from_account_page_then_confirm(login):
    c = login("manager")
    assert "Set up a second factor" in text(c.get("/account"))
    resp = c.post("/account/second-factor")
    assert resp.status_code == 303
    page = c.get("/account")
    secret = SECRET.search(page.get_data(as_text=True)).group(1)
    assert f"otpauth://totp/codboard:{c.user.username}?secret={secret}" in text(page)
    assert not db.session.get(User, c.user.id).totp_enabled

    wrong = c.post("/account/second-factor/confirm", data={"code": "000000"})
    assert wrong.status_code == 422
    assert "That code is wrong or was already used." in text(wrong)

    right = c.post("/account/second-factor/confirm", data={"code": _code(secret)})
    assert right.status_code == 303
    page = c.get("/account")
    assert "Second factor on" in text(page)
    assert db.session.get(User, c.user.id).totp_enabled


def test_totp_secret_stored_encrypted(make_user):
    user = make_user(role="admin")
    secret = _turned_on(user)
    stored = db.session.execute(sql("SELECT totp_secret FROM users WHERE id = :id"),
                                {"id": user.id}).scalar_one()
    assert stored.startswith("enc1:")
    assert secret not in stored


@pytest.mark.parametrize("role", ["agent", "operator"])
def test_totp_not_offered_to_agents_and_operators(login, role):
    c = login(role)
    assert "Second factor" not in text(c.get("/account"))
    assert c.post("/account/second-factor").status_code == 403
    assert not db.session.get(User, c.user.id).totp_secret


def test_totp_login_asks_for_code_after_password(client, make_user):
    user = make_user(role="manager")
    secret = _turned_on(user)
    resp = _password(client, user, next_url="/boards/")
    assert resp.status_code == 200
    assert heading(resp) == "Enter your code"
    assert location(client.get("/boards/"))[0] == "/login"

    done = client.post("/login", query_string={"next": "/boards/"},
                       data={"code": _code(secret)})
    assert done.status_code == 303
    assert done.headers["Location"] == "/boards/"
    assert client.get("/boards/").status_code == 200


def test_totp_wrong_code_refused(client, make_user):
    user = make_user(role="admin")
    _turned_on(user)
    _password(client, user)
    resp = client.post("/login", data={"code": "123 45"})
    assert resp.status_code in (401, 422)
    resp = client.post("/login", data={"code": "000000"})
    assert resp.status_code == 401
    assert "That code is wrong or was already used." in text(resp)
    assert location(client.get("/settings/users"))[0] == "/login"


def test_totp_code_cannot_be_used_twice(app, client, make_user):
    user = make_user(role="manager")
    secret = _turned_on(user)
    code = _code(secret)
    _password(client, user)
    assert client.post("/login", data={"code": code}).status_code == 303

    again = app.test_client()
    _password(again, user)
    replay = again.post("/login", data={"code": code})
    assert replay.status_code == 401
    assert "already used" in text(replay)
    assert again.post("/login", data={"code": _code(secret, later=30)}).status_code == 303


def test_totp_start_again_goes_back_to_password(client, make_user):
    user = make_user(role="manager")
    _turned_on(user)
    _password(client, user)
    resp = client.post("/login", data={"cancel": "1"})
    assert resp.status_code == 303
    assert heading(client.get("/login")) == "Log in to codboard"


def test_totp_code_step_expires(client, make_user):
    user = make_user(role="manager")
    secret = _turned_on(user)
    _password(client, user)
    with client.session_transaction() as session:
        pending = dict(session["_pending_login"])
        pending["at"] -= 301
        session["_pending_login"] = pending
    page = client.get("/login")
    assert heading(page) == "Log in to codboard"
    resp = client.post("/login", data={"code": _code(secret)})
    assert resp.status_code == 422
    assert location(client.get("/boards/"))[0] == "/login"


def test_totp_turn_off_needs_a_current_code(make_user):
    user = make_user(role="manager")
    secret = _turned_on(user)
    client = _logged_in_with_code(user, secret)
    wrong = client.post("/account/second-factor/off", data={"code": "000000"})
    assert wrong.status_code == 422
    assert db.session.get(User, user.id).totp_enabled
    ok = client.post("/account/second-factor/off", data={"code": _code(secret, later=30)})
    assert ok.status_code == 303
    assert not db.session.get(User, user.id).totp_enabled
    assert "Set up a second factor" in text(client.get("/account"))


def _logged_in_with_code(user: User, secret: str):
    """A client through both login steps."""
    from flask import current_app

    client = current_app.test_client()
    _password(client, user)
    assert client.post("/login", data={"code": _code(secret)}).status_code == 303
    client.csrf = None  # logging in gives the session a new CSRF token
    return client


def test_totp_admin_resets_someone_elses_second_factor(app, login, make_user):
    user = make_user(role="manager")
    _turned_on(user)
    admin = login("admin")
    resp = admin.post(f"/users/{user.id}/second-factor/reset")
    assert resp.status_code == 303
    assert location(resp)[0] == "/settings/users"
    assert not db.session.get(User, user.id).totp_secret
    assert _password(app.test_client(), user).status_code == 303


def test_totp_manager_cannot_reset_others(login, make_user):
    user = make_user(role="manager")
    _turned_on(user)
    resp = login("manager").post(f"/users/{user.id}/second-factor/reset")
    assert resp.status_code == 403
    assert db.session.get(User, user.id).totp_enabled


def test_totp_code_attempts_are_throttled(app, client, make_user):
    app.config.update(LOGIN_THROTTLE=True, LOGIN_THROTTLE_ACCOUNT="3 per 15 minutes")
    user = make_user(role="manager")
    secret = _turned_on(user)
    _password(client, user)
    for _ in range(3):
        assert client.post("/login", data={"code": "000000"}).status_code == 401
    resp = client.post("/login", data={"code": _code(secret)})
    assert resp.status_code == 429
    assert heading(resp) == "Enter your code"
    assert "Too many failed attempts" in text(resp)


def test_totp_users_page_shows_who_uses_it_with_a_reset(login, make_user):
    user = make_user(role="manager")
    _turned_on(user)
    page = login("admin").get("/settings/users")
    body = page.get_data(as_text=True)
    row = body[body.index(f'id="user-{user.id}"'):]
    row = row[:row.index("</tr>")]
    assert 'data-second-factor="on"' in row
    assert f'action="/users/{user.id}/second-factor/reset"' in row


def test_totp_code_typed_in_arabic_digits_accepted(client, make_user):
    user = make_user(role="manager")
    secret = _turned_on(user)
    _password(client, user)
    code = _code(secret).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert client.post("/login", data={"code": code}).status_code == 303
