"""The call center: the queue agents work from."""

from flask import Blueprint

bp = Blueprint("calls", __name__, url_prefix="/calls")

from . import views  # noqa: E402,F401
