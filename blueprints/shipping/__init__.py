"""Parcels after confirmation: fulfilment, carriers and returns."""

from flask import Blueprint

bp = Blueprint("shipping", __name__, url_prefix="/shipping")

from . import views  # noqa: E402,F401
