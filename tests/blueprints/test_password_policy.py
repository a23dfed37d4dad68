"""Password policy: at least 12 characters, not a common password, not the username; applied
where people choose passwords (account page, `flask create-user`), not to stored ones."""

import pytest

from extensions import db
from models import User

from .pages import heading, location, text

NEW = "tangerine-ladder-42"


def _change(client, current: str, new: str, again: str | None = None):
    return client.post("/account/password", data={"current": current, "new": new,
                                                  "again": new if again is None else again})


@pytest.mark.parametrize(("password", "message"), [
    ("short-pw-11", "Use at least 12 characters."),
    ("qwerty123456", "one of the most common ones"),
    ("QWERTY123456", "one of the most common ones"),
    ("1q2w3e4r5t6y", "one of the most common ones"),
])
def test_password_change_refuses_weak_password(login, password, message):
    c = login("agent")
    resp = _change(c, "secret-pw", password)
    assert resp.status_code == 422
    assert heading(resp) == "Your account"
    assert message in text(resp)
    assert db.session.get(User, c.user.id).check_password("secret-pw")


def test_password_change_refuses_the_username(login, make_user):
    user = make_user(role="agent", username="karim.benali")
    c = login(user)
    resp = _change(c, "secret-pw", "Karim.Benali")
    assert resp.status_code == 422
    assert "Do not use your username as your password." in text(resp)


def test_password_change_needs_current_password(login):
    c = login("agent")
    resp = _change(c, "not-my-password", NEW)
    assert resp.status_code == 422
    assert "That is not your current password." in text(resp)
    assert db.session.get(User, c.user.id).check_password("secret-pw")


def test_password_change_needs_same_new_password_twice(login):
    c = login("agent")
    resp = _change(c, "secret-pw", NEW, again=NEW + "x")
    assert resp.status_code == 422
    assert "The two new passwords differ." in text(resp)


def test_password_change_good_password_logs_other_devices_out(app, login):
    desk = login("operator")
    phone = login(desk.user)
    resp = _change(desk, "secret-pw", NEW)
    assert resp.status_code == 303
    assert location(resp)[0] == "/account"
    page = desk.get("/account")
    assert "Your password is changed." in text(page)
    assert desk.get("/shipping/").status_code == 200
    assert location(phone.get("/shipping/"))[0] == "/login"
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": desk.user.username,
                                      "password": NEW}).status_code == 303
    refused = app.test_client().post("/login", data={"username": desk.user.username,
                                                     "password": "secret-pw"})
    assert refused.status_code == 401


def test_account_page_for_every_role_without_second_factor_for_agents(login):
    page = login("agent").get("/account")
    assert page.status_code == 200
    assert heading(page) == "Your account"
    assert "Change password" in text(page)
    assert "Second factor" not in text(page)


@pytest.mark.parametrize(("username", "password", "message"), [
    ("tiny", "short", "Use at least 12 characters."),
    ("common", "Password1234", "one of the most common ones"),
    ("nadia.alaoui", "NADIA.ALAOUI", "Do not use your username"),
])
def test_create_user_command_refuses_weak_password(runner, username, password, message):
    result = runner.invoke(args=["create-user", username, "--role", "agent",
                                 "--password", password])
    assert result.exit_code != 0
    assert message in result.output
    db.session.rollback()
    assert db.session.query(User).filter_by(username=username).first() is None


def test_create_user_command_accepts_strong_password(runner, client):
    result = runner.invoke(args=["create-user", "salma", "--role", "manager",
                                 "--password", NEW])
    assert result.exit_code == 0, result.output
    assert client.post("/login", data={"username": "salma", "password": NEW}).status_code == 303


def test_stored_short_password_still_logs_in(client, make_user):
    user = make_user(role="agent", password="demo")
    assert client.post("/login", data={"username": user.username,
                                       "password": "demo"}).status_code == 303


def test_account_page_reached_from_the_name_in_the_header(login):
    c = login("operator")
    page = c.get("/shipping/").get_data(as_text=True)
    assert 'href="/account"' in page
