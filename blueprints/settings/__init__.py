"""Users, channels, carriers and warehouses."""

from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from . import carriers, channels, routing, views  # noqa: E402,F401
