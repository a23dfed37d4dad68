"""Jinja filters, navigation per role, and the headers every HTML response carries."""

from flask import request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from extensions import login_manager
from models.status import (
    CONFIRMATION_INFO,
    NEWS_INFO,
    PUSH_INFO,
    ROLE_LABELS,
    SHIPPING_INFO,
    SUPPLIER_INFO,
    Role,
)

from .i18n import language

PUBLIC_ENDPOINTS = {"auth.login", "system.healthz", "static"}
# Machine-to-machine endpoints authenticate each request themselves (webhook signatures,
# API keys); other systems' sides (the sandbox) and bench baselines answer without a login.
PUBLIC_PREFIXES = ("api.", "bench.", "sandbox.")

# (label, endpoint, roles that see it); one list so every page shows the same menu.
NAV = [
    (_l("Calls"), "calls.index", {Role.AGENT}),
    (_l("Call team"), "calls.team_view", {Role.MANAGER, Role.ADMIN}),
    (_l("Orders"), "orders.index", {Role.OPERATOR, Role.MANAGER, Role.ADMIN}),
    (_l("Import"), "intake.upload_csv", {Role.OPERATOR, Role.MANAGER, Role.ADMIN}),
    (_l("Shipping"), "shipping.index", {Role.OPERATOR, Role.MANAGER, Role.ADMIN}),
    (_l("Dropship"), "dropship.index", {Role.OPERATOR, Role.MANAGER, Role.ADMIN}),
    (_l("Stock"), "stock.index", {Role.OPERATOR, Role.MANAGER, Role.ADMIN}),
    (_l("Boards"), "boards.index", {Role.MANAGER, Role.ADMIN}),
    (_l("Carriers"), "settings.carriers", {Role.MANAGER, Role.ADMIN}),
    (_l("Channels"), "settings.channels", {Role.MANAGER, Role.ADMIN}),
    (_l("Suppliers"), "dropship.suppliers", {Role.MANAGER, Role.ADMIN}),
    (_l("Routing"), "settings.routing", {Role.MANAGER, Role.ADMIN}),
    (_l("Users"), "settings.users", {Role.ADMIN}),
]


def status_badges(env) -> dict[str, dict]:
    """Every badge, rendered once by the one status macro; lists look them up per row."""
    macros = env.get_template("_macros/status.html").make_module(
        {"CONFIRMATION_INFO": CONFIRMATION_INFO, "SHIPPING_INFO": SHIPPING_INFO,
         "PUSH_INFO": PUSH_INFO, "SUPPLIER_INFO": SUPPLIER_INFO})
    confirmation = {value: macros.confirmation(value) for value in CONFIRMATION_INFO}
    shipping = {value: macros.shipping(value) for value in SHIPPING_INFO}
    shipping[None] = macros.shipping(None)
    push = {value: macros.push(value) for value in PUSH_INFO}
    supplier = {value: macros.supplier(value) for value in SUPPLIER_INFO}
    return {"confirmation": confirmation, "shipping": shipping, "push": push,
            "supplier": supplier}


class LocaleBadges:
    """BADGES in templates: every badge drawn once per language, looked up per row."""

    def __init__(self, env):
        self._env = env
        self._by_language: dict[str, dict] = {}

    def __getattr__(self, kind: str) -> dict:
        code = language()
        badges = self._by_language.get(code)
        if badges is None:
            badges = self._by_language[code] = status_badges(self._env)
        return badges[kind]

    __getitem__ = __getattr__


def _nav_items():
    """(label, url) of the menu entries the current user's role may open."""
    if not current_user.is_authenticated:
        return
    role = Role(current_user.role)
    for label, endpoint, roles in NAV:
        if role in roles:
            yield label, url_for(endpoint)


# Bidirectional embeddings, overrides and isolates in stored text (a name with U+202E shows
# "gpj.exe" as "exe.jpg") would reorder what a page shows; pages lay text out with dir and
# <bdi>, so every printed value goes without them.
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def printed(value):
    """A value as a template prints it: text without bidirectional controls."""
    return value.translate(BIDI_CONTROLS) if isinstance(value, str) else value


def init_app(app) -> None:
    """Register filters, globals, the login gate and the Vary header."""
    app.jinja_env.finalize = printed  # set before any template is compiled
    app.jinja_env.globals.update(
        CONFIRMATION_INFO=CONFIRMATION_INFO, SHIPPING_INFO=SHIPPING_INFO, PUSH_INFO=PUSH_INFO,
        NEWS_INFO=NEWS_INFO, SUPPLIER_INFO=SUPPLIER_INFO, ROLE_LABELS=ROLE_LABELS,
    )
    app.jinja_env.globals["BADGES"] = LocaleBadges(app.jinja_env)

    @app.context_processor
    def navigation():
        # A generator: fragments never iterate it, so they pay nothing for the menu.
        return {"nav": _nav_items()}

    @app.before_request
    def require_login():
        # Login is the default: a new route is protected unless listed as public.
        endpoint = request.endpoint
        if endpoint is None or endpoint in PUBLIC_ENDPOINTS or endpoint.startswith(PUBLIC_PREFIXES):
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return None

    @app.after_request
    def headers(response):
        if response.mimetype == "text/html":
            response.vary.add("HX-Request")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
