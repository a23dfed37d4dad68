"""Machine-to-machine endpoints: carrier and channel webhooks (signed), the JSON API (keys)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import auth, channel_webhooks, docs, openapi, orders, webhooks  # noqa: E402,F401
