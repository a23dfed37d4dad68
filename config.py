"""Configuration read once from the environment, with defaults that run on one machine."""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
# Writable state (SQLite database, generated keys): beside the code unless CODBOARD_INSTANCE
# names another directory, as an installed (read-only) copy needs.
INSTANCE_DIR = Path(os.environ.get("CODBOARD_INSTANCE") or BASE_DIR / "instance").resolve()


def _bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable ("1", "true", "yes" are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """Use SECRET_KEY, else a key kept in instance/ so sessions survive restarts."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = INSTANCE_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        path.write_text(key)
        path.chmod(0o600)
        return key


def _secrets_keys() -> list[str]:
    """CODBOARD_SECRETS_KEY (comma-separated Fernet keys, newest first), else a key kept
    in instance/secrets_key; never derived from SECRET_KEY."""
    if os.environ.get("CODBOARD_SECRETS_KEY"):
        return [k.strip() for k in os.environ["CODBOARD_SECRETS_KEY"].split(",") if k.strip()]
    path = INSTANCE_DIR / "secrets_key"
    try:
        return [path.read_text().strip()]
    except FileNotFoundError:
        from cryptography.fernet import Fernet

        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key().decode()
        path.write_text(key)
        path.chmod(0o600)
        return [key]


class Config:
    """Every setting codboard reads; each can be overridden by an environment variable."""

    SECRET_KEY = _secret_key()
    # Encrypts partner credentials at rest (models/crypto.py); rotate with `flask rotate-secrets`.
    SECRETS_KEYS = _secrets_keys()
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'codboard.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    # Secure cookies are only sent back over https: off by default so plain-http
    # `make run` logins work; production sets SECURE_COOKIES=1.
    SESSION_COOKIE_SECURE = _bool("SECURE_COOKIES", False)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # Behind one TLS-terminating proxy: believe its X-Forwarded-Proto/-For/-Host, so https
    # requests get HSTS and secure redirects. Only when the app is reachable through it alone.
    TRUST_PROXY = _bool("TRUST_PROXY", False)
    SESSION_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Sessions: an unattended screen locks after SESSION_IDLE_MINUTES without a request; any
    # session ends SESSION_ABSOLUTE_HOURS after its login (SESSION_HOURS is the old name).
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "60"))
    SESSION_ABSOLUTE_HOURS = int(
        os.environ.get("SESSION_ABSOLUTE_HOURS", os.environ.get("SESSION_HOURS", "12")))
    PERMANENT_SESSION_LIFETIME = SESSION_ABSOLUTE_HOURS * 3600
    # Login throttling (Flask-Limiter on REDIS_URL), counting failed attempts only. Unset,
    # it is on except under TESTING, so a suite's logins are never throttled by accident.
    LOGIN_THROTTLE = _bool("LOGIN_THROTTLE", True) if "LOGIN_THROTTLE" in os.environ else None
    LOGIN_THROTTLE_ACCOUNT = os.environ.get("LOGIN_THROTTLE_ACCOUNT", "10 per 15 minutes")
    LOGIN_THROTTLE_IP = os.environ.get("LOGIN_THROTTLE_IP", "30 per 15 minutes")
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    DISPLAY_TIMEZONE = os.environ.get("DISPLAY_TIMEZONE", "Africa/Casablanca")
    DEFAULT_CURRENCY = os.environ.get("DEFAULT_CURRENCY", "MAD")
    # Baseline routes for `make bench`; never enable in production.
    BENCH_ROUTES = _bool("BENCH_ROUTES", False)
    HTTP_TIMEOUT = float(os.environ.get("HTTP_TIMEOUT", "10"))
    # Where carriers and channels reach this instance (webhook URLs shown to managers).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
    # The built-in sandbox carrier (and later supplier and channel) over real HTTP:
    # on in `make run` and the tests, never in production.
    SANDBOX_ENABLED = _bool("SANDBOX_ENABLED", False)
    # Demo speed: seconds between two steps of a sandbox parcel's journey.
    SANDBOX_STEP_SECONDS = float(os.environ.get("SANDBOX_STEP_SECONDS", "20"))
    # Demo speed: seconds the sandbox supplier takes to ship an order it accepted, and
    # the sandbox carrier account its parcels go to (default: the shop's own key).
    SANDBOX_SUPPLIER_SHIP_SECONDS = float(os.environ.get("SANDBOX_SUPPLIER_SHIP_SECONDS", "120"))
    SANDBOX_SUPPLIER_CARRIER_KEY = os.environ.get("SANDBOX_SUPPLIER_CARRIER_KEY") or None
