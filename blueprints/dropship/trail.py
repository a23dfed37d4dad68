"""One SKU's trail on an order: everything that happened to that line, oldest first."""

from models import OrderLine
from models.dropship.queries import line_trail
from models.status import Role

from ..web import get_or_404, render, role_required
from . import bp


@bp.get("/lines/<int:line_id>/trail")
@role_required(Role.OPERATOR, Role.MANAGER)
def trail(line_id: int):
    """Arrival, routing, edits, supplier events, shipping and the channel news of one line."""
    line = get_or_404(OrderLine, line_id)
    return render("dropship/trail.html", block="trail", line=line, entries=line_trail(line))
