"""Machine-to-machine endpoints: carrier webhooks (signed), later the JSON API."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import webhooks  # noqa: E402,F401
