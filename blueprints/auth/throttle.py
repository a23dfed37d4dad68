"""Login throttling: failed attempts counted per account (or per trusted device) and per
address, on Flask-Limiter's Redis storage."""

import math
import secrets
import time

from flask import current_app, request, session
from flask_babel import ngettext
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from extensions import limiter

# A browser that once logged in as a user carries this signed cookie. Failures from it are
# counted on its own, so someone guessing a password elsewhere cannot lock that user out
# of the devices they really use.
DEVICE_COOKIE = "codboard_device"
DEVICE_DAYS = 180
DEVICE_USERS = 5
PENDING = "_pending_login"


def init_app(app) -> None:
    """Bind the limiter to REDIS_URL (short timeouts: a dead Redis must not stall a login)."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                          {"socket_connect_timeout": 1, "socket_timeout": 1})
    limiter.init_app(app)
    # Flask-Limiter keeps "storage unreachable" per extension, not per app: a new app
    # starts on its own storage.
    limiter._storage_dead = False
    app.register_error_handler(RateLimitExceeded, too_many)


def throttled() -> bool:
    """LOGIN_THROTTLE, which when unset is on everywhere but under TESTING."""
    on = current_app.config.get("LOGIN_THROTTLE")
    return not current_app.testing if on is None else bool(on)


def _off() -> bool:
    return not throttled()


def _failed(response) -> bool:
    """Only refusals count: a wrong password (401) or a wrong or reused code (422)."""
    return response.status_code in (401, 422)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="login-device")


def _device() -> dict:
    """The signed device cookie: {"d": device id, "u": [usernames]}, or {}."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return {}
    try:
        return _serializer().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return {}


def _folded(username: str) -> str:
    return username.strip().lower()[:64]


def login_username() -> str:
    """The account a login attempt is for: the typed username, or the one awaiting a code."""
    pending = session.get(PENDING)
    if pending:
        return _folded(pending.get("name", ""))
    return _folded(request.form.get("username", ""))


def account_key() -> str:
    """Per trusted device when this browser has logged in as the user, else per account."""
    username = login_username()
    device = _device()
    if username and username in device.get("u", []):
        return f"device:{device['d']}"
    return f"account:{username}"


def remember_device(response, username: str) -> None:
    """Mark this browser as one the user logs in from (see DEVICE_COOKIE)."""
    device = _device()
    users = [u for u in device.get("u", []) if u != _folded(username)]
    value = {"d": device.get("d") or secrets.token_urlsafe(16),
             "u": [_folded(username), *users][:DEVICE_USERS]}
    response.set_cookie(DEVICE_COOKIE, _serializer().dumps(value), max_age=DEVICE_DAYS * 86400,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True,
                        samesite="Lax")


def login_limits(view):
    """Per address and per account (or device): failed attempts only, POST only."""
    view = limiter.limit(lambda: current_app.config["LOGIN_THROTTLE_IP"],
                         key_func=get_remote_address, methods=["POST"], scope="ip",
                         deduct_when=_failed, exempt_when=_off)(view)
    return limiter.limit(lambda: current_app.config["LOGIN_THROTTLE_ACCOUNT"],
                         key_func=account_key, methods=["POST"], scope="account",
                         deduct_when=_failed, exempt_when=_off)(view)


def code_limits(view):
    """Wrong codes or passwords on the account page count against the account, as login
    failures do."""
    return limiter.limit(lambda: current_app.config["LOGIN_THROTTLE_ACCOUNT"],
                         key_func=lambda: f"account:{_folded(current_user.username)}",
                         methods=["POST"], scope="account", deduct_when=_failed,
                         exempt_when=_off)(view)


def retry_seconds() -> int:
    """Seconds until the breached limit lets the next attempt through."""
    breached = limiter.current_limit
    return max(1, math.ceil(breached.reset_at - time.time())) if breached else 60


def too_many(exc: RateLimitExceeded):
    """A 429 that says when to try again; on the login page, the login page itself."""
    from blueprints.errors import error_response

    seconds = retry_seconds()
    # Said in whole minutes, rounded: "15 minutes" rather than 15 and a second.
    minutes = max(1, round(seconds / 60))
    message = ngettext("Too many failed attempts. Try again in %(num)d minute.",
                       "Too many failed attempts. Try again in %(num)d minutes.", minutes)
    headers = {"Retry-After": str(seconds)}
    if request.endpoint == "auth.login":
        from .views import login_page

        return login_page(refusal=message), 429, headers
    body, status, *rest = error_response(429, message)
    return body, status, {**(rest[0] if rest else {}), **headers}
