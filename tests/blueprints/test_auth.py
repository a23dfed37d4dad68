"""Login, logout, sessions, CSRF, the login gate on every route and the role guards."""

from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

import pytest
from flask import url_for

import workers
from app import create_app
from extensions import db
from models import User
from models.status import Role

from .pages import heading, location, nav_links, text

PUBLIC = {"static", "auth.login", "system.healthz"}
# Machine endpoints authenticate each request themselves: webhooks by signature, the rest
# of the API by key; the API's own document and docs page are public reading.
MACHINE = "api."
SIGNED = {"api.carrier_webhook", "api.channel_webhook"}
READABLE = {"api.openapi", "api.docs"}
LOGIN_ONLY = {"home.index", "auth.logout"}
HOMES = {
    "agent": ("/calls/", "Call queue"),
    "operator": ("/shipping/", "Shipping"),
    "manager": ("/boards/", "Status board"),
    "admin": ("/settings/users", "Users"),
}
HEADINGS = dict(HOMES.values()) | {"/orders/": "Orders", "/calls/team": "Call team",
                                    "/intake/csv": "Import orders from CSV",
                                    "/settings/channels": "Channels",
                                    "/settings/routing": "Routing",
                                    "/stock/": "Stock", "/settings/carriers": "Carriers",
                                    "/dropship": "Dropship",
                                    "/dropship/suppliers": "Suppliers"}
EXPIRED = "Your form expired"


class Route(NamedTuple):
    """One method of one URL rule, with a dummy value for each URL argument."""

    endpoint: str
    method: str
    url: str


def _routes(machine: bool = False) -> list[Route]:
    """Every non-public method and rule of the app (or its machine endpoints), read from a
    throwaway app's url_map."""
    previous = workers._app
    throwaway = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    workers._app = previous
    routes = []
    with throwaway.test_request_context():
        for rule in throwaway.url_map.iter_rules():
            if rule.endpoint in PUBLIC or machine != rule.endpoint.startswith(MACHINE):
                continue
            url = url_for(rule.endpoint, **dict.fromkeys(rule.arguments, 1))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append(Route(rule.endpoint, method, url))
    return routes


ROUTES = _routes()
MACHINE_ROUTES = _routes(machine=True)
GUARDED = sorted({r.endpoint for r in ROUTES} - LOGIN_ONLY)


def _id(route: Route) -> str:
    return f"{route.method}-{route.endpoint}"


def _send(client, route: Route, **kwargs):
    """Send the route's method; POSTs carry the CSRF token so only the login gate decides."""
    if route.method == "POST":
        return client.post(route.url, **kwargs)
    return client.open(route.url, method=route.method, **kwargs)


def _log_in(client, username: str, password: str = "secret-pw", next_url: str | None = None):
    query = {"next": next_url} if next_url is not None else {}
    return client.post("/login", query_string=query,
                       data={"username": username, "password": password})


def _assert_logged_out(client) -> None:
    resp = client.get("/calls/")
    assert resp.status_code == 302
    assert location(resp)[0] == "/login"


# --- logging in -----------------------------------------------------------------


def test_login_page_shows_the_form(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    assert heading(resp) == "Log in to codboard"
    body = resp.get_data(as_text=True)
    assert 'name="username"' in body and 'name="password"' in body


@pytest.mark.parametrize("role", list(HOMES))
def test_login_right_password_lands_on_role_home(client, make_user, role):
    user = make_user(role=role, password="right-pw-123")
    resp = _log_in(client, user.username, "right-pw-123")
    assert resp.status_code == 303
    assert location(resp)[0] == "/"
    home = client.get("/")
    path, title = HOMES[role]
    assert home.status_code == 302
    assert location(home)[0] == path
    page = client.get(path)
    assert page.status_code == 200
    assert heading(page) == title


def test_login_wrong_password_refused_without_session(client, make_user):
    user = make_user(role="operator", password="right-pw-123")
    resp = _log_in(client, user.username, "wrong-pw-123")
    assert resp.status_code == 401
    assert "Wrong username or password" in text(resp)
    with client.session_transaction() as session:
        assert "_user_id" not in session
    _assert_logged_out(client)


def test_login_unknown_username_gets_same_message(client):
    resp = _log_in(client, "nobody-here", "whatever-pw")
    assert resp.status_code == 401
    assert "Wrong username or password" in text(resp)
    _assert_logged_out(client)


def test_login_disabled_user_refused(client, make_user):
    user = make_user(role="manager", password="right-pw-123", active=False)
    resp = _log_in(client, user.username, "right-pw-123")
    assert resp.status_code == 401
    assert "Wrong username or password" in text(resp)
    _assert_logged_out(client)


def test_login_empty_form_asks_again(client):
    resp = _log_in(client, "", "")
    assert resp.status_code == 422
    assert heading(resp) == "Log in to codboard"
    _assert_logged_out(client)


def test_user_password_stored_hashed(make_user):
    user = make_user(role="agent", password="hunter2-hunter2")
    stored = db.session.get(User, user.id).password_hash
    assert stored != "hunter2-hunter2"
    assert "hunter2" not in stored
    assert user.check_password("hunter2-hunter2")
    assert not user.check_password("hunter2")


def test_login_page_when_logged_in_goes_home(login):
    c = login("operator")
    resp = c.get("/login")
    assert resp.status_code == 302
    assert location(resp)[0] == "/"


# --- the `next` parameter -------------------------------------------------------


def test_login_next_local_path_followed(client, make_user):
    user = make_user(role="operator")
    gate = client.get("/shipping/?page=2")
    assert gate.status_code == 302
    path, query = location(gate)
    assert path == "/login"
    assert query["next"] == ["/shipping/?page=2"]
    resp = _log_in(client, user.username, next_url=query["next"][0])
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/shipping/?page=2"


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "http://evil.example/", "https://evil.example/login"]
)
def test_login_next_offsite_lands_on_home(client, make_user, target):
    user = make_user(role="agent")
    resp = _log_in(client, user.username, next_url=target)
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/"


def _as_browser_resolves(target: str) -> str:
    """Where a browser goes for a Location: it drops tabs and newlines and reads \\ as /."""
    cleaned = "".join(ch for ch in target if ch not in "\t\r\n").replace("\\", "/")
    return urljoin("http://localhost/login", cleaned)


@pytest.mark.parametrize(
    "target", ["/\\evil.example", "/\t/evil.example", "/\\/evil.example", "https:evil.example"]
)
def test_login_next_disguised_offsite_stays_on_site(client, make_user, target):
    user = make_user(role="agent")
    resp = _log_in(client, user.username, next_url=target)
    assert resp.status_code == 303
    assert urlsplit(_as_browser_resolves(resp.headers["Location"])).netloc == "localhost"


# --- logging out ----------------------------------------------------------------


def test_logout_get_not_allowed(login):
    c = login("agent")
    resp = c.get("/logout")
    assert resp.status_code == 405
    assert c.get("/calls/").status_code == 200


def test_logout_ends_session(login):
    c = login("agent")
    assert c.get("/calls/").status_code == 200
    resp = c.post("/logout")
    assert resp.status_code == 303
    assert location(resp)[0] == "/login"
    page = c.get("/login")
    assert "You are logged out." in text(page)
    _assert_logged_out(c)


def test_logout_copied_cookie_no_longer_authenticates(app, login):
    c = login("manager")
    cookie = c.get_cookie("session").value
    before = app.test_client()
    before.set_cookie("session", cookie)
    assert before.get("/boards/").status_code == 200

    assert c.post("/logout").status_code == 303

    replay = app.test_client()
    replay.set_cookie("session", cookie)
    resp = replay.get("/boards/")
    assert resp.status_code == 302
    assert location(resp)[0] == "/login"


def test_logout_ends_sessions_on_other_devices(login):
    phone = login("operator")
    desk = login(phone.user)
    assert desk.get("/shipping/").status_code == 200
    assert phone.post("/logout").status_code == 303
    _assert_logged_out(desk)


def test_user_disabled_loses_open_session(login):
    c = login("agent")
    assert c.get("/calls/").status_code == 200
    user = db.session.get(User, c.user.id)
    user.active = False
    db.session.commit()
    _assert_logged_out(c)


def test_logout_user_can_log_in_again(login):
    c = login("agent")
    assert c.post("/logout").status_code == 303
    again = login(c.user)
    assert again.get("/calls/").status_code == 200


# --- CSRF -----------------------------------------------------------------------


def test_login_without_csrf_token_refused(client, make_user):
    user = make_user(role="agent")
    resp = client.post("/login", data={"username": user.username, "password": "secret-pw"},
                       csrf=False)
    assert resp.status_code == 400
    assert EXPIRED in text(resp)
    _assert_logged_out(client)


def test_logout_without_csrf_token_refused(login):
    c = login("agent")
    resp = c.post("/logout", csrf=False)
    assert resp.status_code == 400
    assert EXPIRED in text(resp)
    assert c.get("/calls/").status_code == 200


def test_logout_with_wrong_csrf_token_refused(login):
    c = login("agent")
    resp = c.post("/logout", headers={"X-CSRFToken": "forged"})
    assert resp.status_code == 400
    assert EXPIRED in text(resp)
    assert c.get("/calls/").status_code == 200


def test_order_action_without_csrf_token_refused(login, make_order):
    order = make_order(confirmation_status="confirmed", shipping_status="created")
    version = order.version
    c = login("operator")
    resp = c.post(f"/orders/{order.id}/shipping", data={"to": "fulfilled", "version": version},
                  htmx=True, csrf=False)
    assert resp.status_code == 400
    assert EXPIRED in text(resp)
    assert "<html" not in resp.get_data(as_text=True)
    db.session.rollback()
    assert order.shipping_status == "created"
    assert order.version == version


# --- the login gate on every route ----------------------------------------------


def test_login_required_sweep_sees_the_app_routes():
    endpoints = {r.endpoint for r in ROUTES}
    assert {"home.index", "auth.logout", "orders.detail", "orders.set_shipping"} <= endpoints
    assert not endpoints & PUBLIC


@pytest.mark.parametrize("route", [r for r in MACHINE_ROUTES
                                   if r.endpoint not in SIGNED | READABLE], ids=_id)
def test_machine_endpoints_refuse_a_request_without_a_key(client, route):
    resp = _send(client, route)
    assert resp.status_code == 401, resp.get_data(as_text=True)[:300]


def test_every_machine_endpoint_is_signed_keyed_or_plain_reading():
    endpoints = {r.endpoint for r in MACHINE_ROUTES}
    assert SIGNED <= endpoints
    assert all(e.startswith(MACHINE) for e in endpoints)


@pytest.mark.parametrize("route", ROUTES, ids=_id)
def test_login_required(client, route):
    resp = _send(client, route)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    path, query = location(resp)
    assert path == "/login"
    assert query["next"] == [route.url]


@pytest.mark.parametrize("route", ROUTES, ids=_id)
def test_login_required_htmx_gets_redirect_header(client, route):
    resp = _send(client, route, headers={"HX-Request": "true"})
    assert resp.status_code == 401
    assert resp.headers["HX-Redirect"].startswith("/login?next=")
    assert resp.get_data(as_text=True) == ""


# --- roles ----------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", GUARDED)
def test_route_declares_roles(app, endpoint):
    roles = getattr(app.view_functions[endpoint], "roles", None)
    assert roles, f"{endpoint} does not say which roles may use it (use role_required)"
    assert all(isinstance(r, Role) for r in roles)
    assert Role.ADMIN in roles


@pytest.mark.parametrize("role", [r.value for r in Role])
@pytest.mark.parametrize("route", ROUTES, ids=_id)
def test_role_guard_matches_declared_roles(app, login, route, role):
    roles = getattr(app.view_functions[route.endpoint], "roles", set(Role))
    c = login(role)
    resp = _send(c, route)
    if Role(role) in roles:
        assert resp.status_code != 403
        assert resp.status_code < 500
    else:
        assert resp.status_code == 403
        assert heading(resp) == "Not allowed"


HOME_ACCESS = {
    "agent": {"/calls/": 200, "/calls/team": 403, "/shipping/": 403, "/boards/": 403,
              "/settings/users": 403},
    "operator": {"/calls/": 403, "/calls/team": 403, "/shipping/": 200, "/boards/": 403,
                 "/settings/users": 403},
    "manager": {"/calls/": 302, "/calls/team": 200, "/shipping/": 200, "/boards/": 200,
                "/settings/users": 403},
    "admin": {"/calls/": 302, "/calls/team": 200, "/shipping/": 200, "/boards/": 200,
              "/settings/users": 200},
}


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [(role, path, status) for role, paths in HOME_ACCESS.items() for path, status in paths.items()],
)
def test_home_screen_access_by_role(login, role, path, status):
    resp = login(role).get(path)
    assert resp.status_code == status
    if status == 200:
        assert heading(resp) == HEADINGS[path]
    elif status == 302:
        assert resp.headers["Location"] == "/calls/team"
    else:
        assert heading(resp) == "Not allowed"
        assert "Your role does not give access to this." in text(resp)


def test_forbidden_htmx_request_gets_readable_fragment(login):
    resp = login("agent").hx_get("/boards/")
    assert resp.status_code == 403
    body = resp.get_data(as_text=True)
    assert "<html" not in body
    assert "Not allowed" in body
    assert resp.headers["HX-Retarget"] == "#messages"


# --- navigation -----------------------------------------------------------------

NAV = {
    "agent": ["Calls"],
    "operator": ["Orders", "Import", "Shipping", "Dropship", "Stock"],
    "manager": ["Call team", "Orders", "Import", "Shipping", "Dropship", "Stock", "Boards",
                "Carriers", "Channels", "Suppliers", "Routing"],
    "admin": ["Call team", "Orders", "Import", "Shipping", "Dropship", "Stock", "Boards",
              "Carriers", "Channels", "Suppliers", "Routing", "Users"],
}


@pytest.mark.parametrize("role", list(NAV))
def test_navigation_shows_role_links(login, role):
    c = login(role)
    home_path, _ = HOMES[role]
    links = nav_links(c.get(home_path))
    assert list(links) == NAV[role]
    for label, href in links.items():
        resp = c.get(href)
        assert resp.status_code == 200, label
        assert heading(resp) == HEADINGS[href]


def test_navigation_agent_sees_calls_not_boards(login):
    links = nav_links(login("agent").get("/calls/"))
    assert "Calls" in links
    assert "Boards" not in links
    assert "Users" not in links


def test_navigation_admin_sees_users(login):
    links = nav_links(login("admin").get("/settings/users"))
    assert links["Users"] == "/settings/users"


def test_navigation_login_page_has_no_menu(client):
    assert nav_links(client.get("/login")) == {}
