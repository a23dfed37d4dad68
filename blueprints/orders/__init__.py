"""Orders: the detail page and the actions a role may take on one order."""

from flask import Blueprint

bp = Blueprint("orders", __name__, url_prefix="/orders")

from . import export, new, send, views  # noqa: E402,F401
