"""Dropship: supplier orders to Process and Resolve, their history and trails, suppliers."""

from flask import Blueprint

bp = Blueprint("dropship", __name__, url_prefix="/dropship")

from . import history, orders, suppliers, trail  # noqa: E402,F401
