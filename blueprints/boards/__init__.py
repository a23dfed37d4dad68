"""Live status boards for managers."""

from flask import Blueprint

bp = Blueprint("boards", __name__, url_prefix="/boards")

from . import money, money_board, views  # noqa: E402,F401
