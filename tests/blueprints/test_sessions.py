"""Session lifetime: idle and absolute timeouts, a fresh session and CSRF token at login."""

import re
import time

from .pages import heading, location, text

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _age(client, key: str, seconds: int) -> None:
    """Pretend the session's `key` moment happened `seconds` earlier."""
    with client.session_transaction() as session:
        session[key] -= seconds


def test_session_idle_past_limit_sends_to_login_with_message(login):
    c = login("agent")
    _age(c, "_seen", 61 * 60)
    resp = c.get("/calls/")
    assert resp.status_code == 302
    path, query = location(resp)
    assert path == "/login" and query["next"] == ["/calls/"]
    page = c.get(resp.headers["Location"])
    assert heading(page) == "Log in to codboard"
    assert "Your session ended after 60 minutes without activity." in text(page)
    assert location(c.get("/calls/"))[0] == "/login"


def test_session_idle_within_limit_stays_and_counts_as_activity(login):
    c = login("agent")
    _age(c, "_seen", 59 * 60)
    assert c.get("/calls/").status_code == 200
    with c.session_transaction() as session:
        assert time.time() - session["_seen"] < 60
    _age(c, "_seen", 59 * 60)
    assert c.get("/calls/").status_code == 200


def test_session_idle_htmx_request_gets_redirect_header(login):
    c = login("manager")
    _age(c, "_seen", 61 * 60)
    resp = c.hx_get("/boards/")
    assert resp.status_code == 401
    assert resp.headers["HX-Redirect"] == "/login?next=/boards/"
    assert resp.get_data(as_text=True) == ""
    page = c.get("/login")
    assert "Your session ended after 60 minutes without activity." in text(page)


def test_session_idle_limit_follows_setting(app, login):
    app.config["SESSION_IDLE_MINUTES"] = 5
    c = login("operator")
    _age(c, "_seen", 4 * 60)
    assert c.get("/shipping/").status_code == 200
    _age(c, "_seen", 6 * 60)
    resp = c.get("/shipping/", follow_redirects=True)
    assert "Your session ended after 5 minutes without activity." in text(resp)


def test_session_older_than_absolute_limit_ends_despite_activity(login):
    c = login("operator")
    _age(c, "_started", 12 * 3600 + 1)
    resp = c.get("/shipping/", follow_redirects=True)
    assert heading(resp) == "Log in to codboard"
    assert "Your session ended 12 hours after you logged in." in text(resp)


def test_session_post_after_timeout_changes_nothing(login, make_order):
    order = make_order(confirmation_status="confirmed", shipping_status="created")
    c = login("operator")
    c.token()
    _age(c, "_seen", 61 * 60)
    resp = c.post(f"/orders/{order.id}/shipping", data={"to": "fulfilled",
                                                         "version": order.version})
    assert resp.status_code == 302
    assert location(resp) == ("/login", {})
    assert order.shipping_status == "created"


def test_login_starts_a_new_session_without_what_came_before(client, make_user):
    user = make_user(role="agent")
    page = client.get("/login")
    old_token = TOKEN.search(page.get_data(as_text=True)).group(1)
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
        raw_before = session["csrf_token"]
    resp = client.post("/login", data={"username": user.username, "password": "secret-pw",
                                       "csrf_token": old_token}, csrf=False)
    assert resp.status_code == 303
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != raw_before
        assert session.permanent
    # The token from before login no longer works; the logged-in page's token does.
    stale = client.post("/logout", headers={"X-CSRFToken": old_token}, csrf=False)
    assert stale.status_code == 400
    assert client.get("/calls/").status_code == 200


def test_login_cookie_expires_with_absolute_limit(client, make_user):
    user = make_user(role="agent")
    client.token()
    resp = client.post("/login", data={"username": user.username, "password": "secret-pw"})
    cookie = next(v for v in resp.headers.getlist("Set-Cookie") if v.startswith("session="))
    assert "Expires=" in cookie


def test_session_logout_elsewhere_still_ends_session(login):
    desk = login("agent")
    phone = login(desk.user)
    assert phone.post("/logout").status_code == 303
    assert location(desk.get("/calls/"))[0] == "/login"
