"""Orders arriving by hand: CSV uploads checked, previewed and imported."""

from flask import Blueprint

bp = Blueprint("intake", __name__, url_prefix="/intake")

from . import views  # noqa: E402,F401
