"""Call-center views."""

from models.queries import call_queue_summary
from models.status import Role

from ..web import render, role_required
from . import bp


@bp.get("/")
@role_required(Role.AGENT, Role.MANAGER)
def index():
    """The agent's home: what is waiting in the call queue."""
    return render("calls/index.html", summary=call_queue_summary())
