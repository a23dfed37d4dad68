"""Who may use which route: every endpoint and method of the URL map against an explicit
table (anonymous, agent, operator, manager, admin), and the per-object checks behind it.

The table below is the specification. A route the app serves without an entry fails the
sweep by name, so a new route cannot ship without saying who may use it.
"""

from datetime import timedelta
from typing import NamedTuple

import pytest
from flask import url_for
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

import workers
from app import create_app
from extensions import db
from models import Actor, AuditEvent, Order, User, utcnow
from models.intake.api_keys import issue_key
from models.phones import normalize_phone
from models.status import Role

from .pages import heading, location

AGENT, OPERATOR, MANAGER, ADMIN = Role.AGENT, Role.OPERATOR, Role.MANAGER, Role.ADMIN
EVERYONE = frozenset(Role)
CALLERS = frozenset({AGENT, ADMIN})
CALL_SCREEN = frozenset({AGENT, MANAGER, ADMIN})
VIEWERS = EVERYONE
DESK = frozenset({OPERATOR, MANAGER, ADMIN})
LEADS = frozenset({MANAGER, ADMIN})
ADMINS = frozenset({ADMIN})
WHO = ["anonymous", *(r.value for r in Role)]


class Access(NamedTuple):
    """What one endpoint and method answers, by who asks.

    staff:   anonymous -> redirect to /login; a role outside `roles` -> 403 "Not allowed";
             a role inside passes the guard (no 401/403, no login redirect, no 5xx).
    key:     a channel's API key or nothing: 401 JSON for everyone, a session does not count.
    same:    no codboard login at all: everyone gets `status` (public pages, signed webhooks
             with an unknown code, the sandbox's own credentials).
    login:   the login form: anonymous gets `status`, a logged-in user goes home.
    """

    kind: str
    roles: frozenset = frozenset()
    status: int = 0


def staff(roles: frozenset) -> Access:
    return Access("staff", roles)


KEY = Access("key")


def same(status: int) -> Access:
    return Access("same", status=status)


ACCESS: dict[str, Access] = {
    # Public reading and the login form.
    "GET static": same(200),
    "GET system.healthz": same(200),
    "GET api.openapi": same(200),
    "GET api.docs": same(200),
    "GET auth.login": Access("login", status=200),
    "POST auth.login": Access("login", status=422),
    # Any logged-in user.
    "GET home.index": staff(EVERYONE),
    "POST auth.logout": staff(EVERYONE),
    "POST auth.set_language": staff(EVERYONE),
    "GET auth.account": staff(EVERYONE),
    "POST auth.change_password": staff(EVERYONE),
    # A second factor: managers and admins enrol; an admin resets another user's.
    "POST auth.start_second_factor": staff(LEADS),
    "POST auth.confirm_second_factor": staff(LEADS),
    "POST auth.disable_second_factor": staff(LEADS),
    "POST auth.reset_second_factor": staff(ADMINS),
    # Machines: a channel's key, or a partner's signature (unknown code: JSON 404).
    "POST api.create_order": KEY,
    "GET api.list_orders": KEY,
    "GET api.get_order": KEY,
    "POST api.carrier_webhook": same(404),
    "POST api.channel_webhook": same(404),
    # Calls.
    "GET calls.index": staff(CALL_SCREEN),
    "POST calls.next_call": staff(CALLERS),
    "POST calls.outcome": staff(CALLERS),
    "POST calls.release": staff(LEADS),
    "POST calls.assign": staff(LEADS),
    "GET calls.team_view": staff(LEADS),
    "GET calls.settings": staff(LEADS),
    "POST calls.settings": staff(LEADS),
    # Orders.
    "GET orders.detail": staff(VIEWERS),
    "GET orders.index": staff(DESK),
    "GET orders.export_csv": staff(DESK),
    "GET orders.new_order": staff(DESK),
    "POST orders.new_order": staff(DESK),
    "GET orders.new_order_line": staff(DESK),
    "GET orders.new_order_phone": staff(DESK),
    "GET orders.new_order_total": staff(DESK),
    "POST orders.send_selected": staff(DESK),
    "POST orders.set_parcel_tracking": staff(DESK),
    "POST orders.set_shipping": staff(DESK),
    "POST orders.reopen": staff(LEADS),
    # Import.
    "GET intake.upload_csv": staff(DESK),
    "POST intake.upload_csv": staff(DESK),
    "GET intake.csv_template": staff(DESK),
    "GET intake.show_csv": staff(DESK),
    "POST intake.start_import": staff(DESK),
    "GET intake.download_rejects": staff(DESK),
    # Shipping.
    "GET shipping.index": staff(DESK),
    "GET shipping.ids": staff(DESK),
    "POST shipping.bulk": staff(DESK),
    "GET shipping.scan_page": staff(DESK),
    "POST shipping.scan": staff(DESK),
    "POST shipping.undo_scan": staff(DESK),
    "GET shipping.slips": staff(DESK),
    "GET shipping.settings": staff(LEADS),
    "POST shipping.settings": staff(LEADS),
    # Stock.
    "GET stock.index": staff(DESK),
    "GET stock.product": staff(DESK),
    # Dropship: the desk works orders; suppliers and their files are for leads.
    "GET dropship.index": staff(DESK),
    "GET dropship.history": staff(DESK),
    "GET dropship.batch": staff(DESK),
    "GET dropship.row": staff(DESK),
    "GET dropship.trail": staff(DESK),
    "GET dropship.resolve_form": staff(DESK),
    "POST dropship.resolve": staff(DESK),
    "POST dropship.process": staff(DESK),
    "POST dropship.process_selected": staff(DESK),
    "POST dropship.cancel": staff(DESK),
    "POST dropship.tracking": staff(DESK),
    "GET dropship.suppliers": staff(LEADS),
    "GET dropship.supplier_fields": staff(LEADS),
    "GET dropship.new_supplier": staff(LEADS),
    "POST dropship.new_supplier": staff(LEADS),
    "GET dropship.edit_supplier": staff(LEADS),
    "POST dropship.edit_supplier": staff(LEADS),
    "GET dropship.sku_mappings": staff(LEADS),
    "POST dropship.save_sku_mapping": staff(LEADS),
    "POST dropship.remove_sku_mapping": staff(LEADS),
    "POST dropship.upload_sku_mappings": staff(LEADS),
    "POST dropship.save_shipping_mapping": staff(LEADS),
    "POST dropship.remove_shipping_mapping": staff(LEADS),
    "POST dropship.upload_status_file": staff(LEADS),
    "POST dropship.download_file": staff(LEADS),
    # Boards and money.
    "GET boards.index": staff(LEADS),
    "GET boards.tv": staff(LEADS),
    "GET boards.export_csv": staff(LEADS),
    "GET boards.money": staff(LEADS),
    "GET boards.money_csv": staff(LEADS),
    "POST boards.post_money_settings": staff(LEADS),
    "GET boards.remittances": staff(LEADS),
    "POST boards.post_remittances": staff(LEADS),
    "POST boards.fetch_statement": staff(LEADS),
    # Settings: partners and routing for leads, users for admins.
    "GET settings.carriers": staff(LEADS),
    "GET settings.carrier_fields": staff(LEADS),
    "GET settings.new_carrier": staff(LEADS),
    "POST settings.new_carrier": staff(LEADS),
    "GET settings.edit_carrier": staff(LEADS),
    "POST settings.edit_carrier": staff(LEADS),
    "POST settings.save_mapping": staff(LEADS),
    "POST settings.remove_mapping": staff(LEADS),
    "POST settings.save_rule": staff(LEADS),
    "POST settings.remove_rule": staff(LEADS),
    "POST settings.test_carrier": staff(LEADS),
    "GET settings.test_result": staff(LEADS),
    "GET settings.channels": staff(LEADS),
    "GET settings.channel_fields": staff(LEADS),
    "GET settings.new_channel": staff(LEADS),
    "POST settings.new_channel": staff(LEADS),
    "GET settings.edit_channel": staff(LEADS),
    "POST settings.edit_channel": staff(LEADS),
    "POST settings.new_api_key": staff(LEADS),
    "POST settings.revoke_api_key": staff(LEADS),
    "POST settings.sync_channel": staff(LEADS),
    "GET settings.routing": staff(LEADS),
    "POST settings.add_routing_rule": staff(LEADS),
    "POST settings.remove_routing_rule": staff(LEADS),
    "POST settings.save_warehouse_routing": staff(LEADS),
    "GET settings.users": staff(ADMINS),
    "POST settings.set_user_language": staff(ADMINS),
}
# The sandbox plays outside companies; it checks their credentials, never a codboard login.
SANDBOX: dict[str, Access] = {
    "GET sandbox.marketplace_page": same(200),
    "POST sandbox.push_webhooks": same(200),
    "POST sandbox.set_misbehaviour": same(422),
    "POST sandbox.set_marketplace_misbehaviour": same(422),
    "GET sandbox.parcel_label": same(404),
    **{f"{method} sandbox.{name}": same(401) for method, name in [
        ("POST", "register_parcel"), ("POST", "cancel_parcel"), ("POST", "pick_up_parcels"),
        ("POST", "track_parcels"), ("GET", "show_account"), ("GET", "remittance_statement"),
        ("POST", "create_order"), ("GET", "list_shop_orders"), ("POST", "cancel_order"),
        ("POST", "fulfil_order"), ("POST", "submit_supplier_order"),
        ("GET", "show_supplier_order"), ("POST", "cancel_supplier_order"),
        ("POST", "supplier_order_statuses")]},
}
URL_ARGS = {"static": {"filename": "css/app.css"}}
# The sweep logs in hundreds of users: a one-round hash keeps that from costing minutes
# (the login form still checks it like any other).
SWEEP_PASSWORD = "sweep-pw"
SWEEP_HASH = generate_password_hash(SWEEP_PASSWORD, method="pbkdf2:sha256:1")


class Route(NamedTuple):
    """One method of one URL rule, with a dummy value for each URL argument."""

    key: str
    endpoint: str
    method: str
    url: str


def url_map_routes(sandbox: bool = True) -> list[Route]:
    """Every endpoint and method a throwaway app (configured as the test app) serves."""
    previous = workers._app
    throwaway = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True,
                            "SANDBOX_ENABLED": sandbox})
    workers._app = previous
    routes = []
    with throwaway.test_request_context():
        for rule in throwaway.url_map.iter_rules():
            args = URL_ARGS.get(rule.endpoint) or dict.fromkeys(rule.arguments, 1)
            url = url_for(rule.endpoint, **args)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append(Route(f"{method} {rule.endpoint}", rule.endpoint, method, url))
    return sorted(routes)


ROUTES = url_map_routes()
TABLE = ACCESS | SANDBOX


def _sweeper(login, role: str):
    """A client logged in (through the login form) as a new user of this role."""
    user = User(username=f"sweep-{role}", role=role, name="", password_hash=SWEEP_HASH)
    db.session.add(user)
    db.session.commit()
    return login(user, password=SWEEP_PASSWORD)


def _send(client, route: Route):
    if route.method == "POST":
        return client.post(route.url)
    return client.open(route.url, method=route.method)


def _body(resp) -> str:
    return resp.get_data(as_text=True)[:300]


# --- the table covers the URL map -----------------------------------------------


def test_every_route_has_an_entry_in_the_table():
    missing = [r.key for r in ROUTES if r.key not in TABLE]
    assert not missing, f"routes without an entry in ACCESS: {', '.join(missing)}"


def test_every_entry_names_a_route():
    served = {r.key for r in ROUTES}
    stale = sorted(set(TABLE) - served)
    assert not stale, f"entries for routes the app does not serve: {', '.join(stale)}"


def test_sandbox_routes_only_when_enabled():
    served = {r.key for r in url_map_routes(sandbox=False)}
    assert not any(key.split(" ")[1].startswith("sandbox.") for key in served)
    assert set(ACCESS) == served


@pytest.mark.parametrize("key", sorted(k for k, a in TABLE.items() if a.kind == "staff"))
def test_declared_roles_agree_with_the_table(app, key):
    endpoint = key.split(" ")[1]
    declared = getattr(app.view_functions[endpoint], "roles", None)
    # A login-only view (no role guard) is open to every role.
    assert frozenset(declared or EVERYONE) == TABLE[key].roles, key


# --- the sweep: every route x everyone --------------------------------------------


def _refusal(route: Route, access: Access, who: str, resp) -> str | None:
    """Why this answer breaks the table for this person, or None when it agrees."""
    status = resp.status_code
    if access.kind == "same":
        ok = status == access.status
    elif access.kind == "key":
        ok = (status == 401 and resp.is_json and bool(resp.get_json()["error"])
              and resp.headers["WWW-Authenticate"].startswith("Bearer"))
    elif access.kind == "login":
        ok = (status == access.status if who == "anonymous"
              else status == 302 and location(resp)[0] == "/")
    elif who == "anonymous":
        path, query = location(resp) if status == 302 else ("", {})
        ok = path == "/login" and query.get("next") == [route.url]
    elif Role(who) in access.roles:
        ok = status not in (401, 403) and status < 500 and not (
            status == 302 and "next" in location(resp)[1])  # not sent to the login gate
    else:
        ok = status == 403 and heading(resp) == "Not allowed"
    return None if ok else f"{who}: {status} {_body(resp)!r}"


# One test per route, everyone in turn: an app, a database and four logins per route
# rather than per (route, person) keeps the sweep to minutes on both databases.
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.key.replace(" ", "-"))
def test_route_answers_as_the_table_says(client, login, route):
    access = TABLE.get(route.key)
    assert access is not None, f"{route.key} ({route.url}) has no entry in ACCESS"
    wrong = []
    for who in WHO:
        c = client if who == "anonymous" else _sweeper(login, who)
        resp = _send(c, route)
        wrong.append(_refusal(route, access, who, resp))
        resp.close()  # a static file is streamed from an open file
    assert not any(wrong), f"{route.key}: " + "; ".join(w for w in wrong if w)


# --- per object: an agent and another agent's order -------------------------------


@pytest.fixture
def held(make_order, make_user, login):
    """An order another agent holds on the phone (claimed through the call screen)."""
    holder = make_user(role="agent")
    order = make_order(customer_name="Salma Idrissi", phone="0698765432",
                       phone_normalized=normalize_phone("0698765432"))
    c = login(holder)
    assert c.post("/calls/next", htmx=True).status_code == 200
    db.session.expire_all()
    assert db.session.get(Order, order.id).claimed_by_id == holder.id
    return order


def snapshot(order_id: int) -> tuple:
    """What a refused request must leave unchanged."""
    db.session.rollback()
    order = db.session.get(Order, order_id)
    events = db.session.scalar(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.order_id == order_id))
    return (order.confirmation_status, order.shipping_status, order.version,
            order.claimed_by_id, order.attempts, order.city, order.phone, events)


@pytest.mark.parametrize("htmx", [True, False], ids=["fragment", "page"])
@pytest.mark.parametrize("outcome", ["confirmed", "canceled", "no_answer"])
def test_agent_outcome_on_another_agents_order_refused(login, held, outcome, htmx):
    before = snapshot(held.id)
    resp = login("agent").post(f"/calls/{held.id}/outcome", htmx=htmx, data={
        "version": str(held.version), "outcome": outcome, "city": "Tanger",
        "reason": "Wrong number"})
    assert resp.status_code == 403
    assert "not in your hands" in resp.get_data(as_text=True)
    assert ("<html" in resp.get_data(as_text=True)) is not htmx
    assert snapshot(held.id) == before


@pytest.mark.parametrize("htmx", [True, False], ids=["fragment", "page"])
def test_agent_cannot_open_another_agents_held_order(login, held, htmx):
    before = snapshot(held.id)
    c = login("agent")
    resp = c.hx_get(f"/orders/{held.id}") if htmx else c.get(f"/orders/{held.id}")
    assert resp.status_code == 403
    assert "Salma" not in resp.get_data(as_text=True)
    assert held.phone not in resp.get_data(as_text=True)
    assert snapshot(held.id) == before


def test_agent_call_screen_never_shows_another_agents_card(login, held):
    resp = login("agent").get("/calls/")
    assert resp.status_code == 200
    assert f'data-order="{held.id}"' not in resp.get_data(as_text=True)


# --- per object: one channel's key and another channel's orders --------------------


@pytest.fixture
def two_shops(app, make_channel, make_order, make_product):
    """Two API channels, each with a key and an order; returns (mine, theirs, their order)."""
    make_product(sku="MUG-1", stock=20)
    keys = {}
    for code in ("mine", "theirs"):
        channel = make_channel(code=code, kind="api")
        keys[code] = issue_key(channel, "backend", Actor.system("test"))[1]
        # The list leaves out orders changed in the last seconds (still settling).
        keys[f"{code}-order"] = make_order(channel=channel, external_id=f"{code}-1",
                                           updated_at=utcnow() - timedelta(minutes=5))
    db.session.commit()
    return keys


def api(client, token, method, url, **kwargs):
    headers = {"Authorization": f"Bearer {token}"}
    if method == "POST":
        return client.post(url, headers=headers, csrf=False, **kwargs)
    return client.open(url, method=method, headers=headers, **kwargs)


def test_key_cannot_read_another_channels_order(client, two_shops):
    theirs = two_shops["theirs-order"]
    resp = api(client, two_shops["mine"], "GET", f"/api/v1/orders/{theirs.id}")
    assert resp.status_code == 404
    assert resp.get_json()["error"] == f"There is no order {theirs.id} for this channel."
    own = api(client, two_shops["theirs"], "GET", f"/api/v1/orders/{theirs.id}")
    assert own.status_code == 200


def test_key_lists_only_its_own_channels_orders(client, two_shops):
    resp = api(client, two_shops["mine"], "GET", "/api/v1/orders")
    assert resp.status_code == 200
    ids = {o["id"] for o in resp.get_json()["orders"]}
    assert ids == {two_shops["mine-order"].id}


def test_key_posting_another_channels_external_id_leaves_their_order_alone(
        client, two_shops):
    theirs = two_shops["theirs-order"]
    before = snapshot(theirs.id)
    body = {"external_id": "theirs-1", "lines": [{"sku": "MUG-1", "quantity": 1}],
            "customer": {"name": "Nadia", "phone": "0612345679", "address": "1 rue Fes",
                         "city": "Rabat"}}
    resp = api(client, two_shops["mine"], "POST", "/api/v1/orders", json=body)
    assert resp.status_code == 201
    assert resp.get_json()["id"] != theirs.id
    assert snapshot(theirs.id) == before


@pytest.mark.parametrize("method", ["PATCH", "PUT", "DELETE"])
def test_key_cannot_change_or_cancel_an_order_by_id(client, two_shops, method):
    theirs = two_shops["theirs-order"]
    before = snapshot(theirs.id)
    for token in (two_shops["mine"], two_shops["theirs"]):
        resp = api(client, token, method, f"/api/v1/orders/{theirs.id}",
                   json={"status": "canceled"})
        # Refused in the API's own JSON shape, like every other API refusal.
        assert resp.status_code == 405
        assert resp.is_json and resp.get_json()["error"]
    assert snapshot(theirs.id) == before


def test_api_path_that_matches_nothing_answers_json(client, two_shops):
    resp = api(client, two_shops["mine"], "GET", "/api/v1/no-such-thing")
    assert resp.status_code == 404
    assert resp.is_json and resp.get_json()["error"]
