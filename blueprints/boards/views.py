"""Manager boards."""

from models.orders.queries import status_matrix
from models.status import Role

from ..web import render, role_required
from . import bp


@bp.get("/")
@role_required(Role.MANAGER)
def index():
    """The manager's home: every order counted by both statuses."""
    return render("boards/index.html", matrix=status_matrix())
