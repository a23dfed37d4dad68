"""Stock: what is on hand per product and warehouse, and every movement of the ledger."""

from flask import Blueprint

bp = Blueprint("stock", __name__, url_prefix="/stock")

from . import views  # noqa: E402,F401
