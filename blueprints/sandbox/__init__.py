"""The sandbox: other companies' APIs played over real HTTP for the demo and the tests.

Registered only when SANDBOX_ENABLED is set; codboard reaches it exactly as it would
reach the real service, through its adapters in workers/.
"""

from flask import Blueprint

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

from . import carrier, marketplace, statements, supplier  # noqa: E402,F401
