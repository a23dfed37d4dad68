"""The status board for a wall screen: no navigation, large numbers, live."""

from models.status import Role

from ..web import role_required
from . import bp
from .views import board_page


@bp.get("/tv")
@role_required(Role.MANAGER)
def tv():
    """Main counts, rate tiles and funnel in large type, refreshed every 5 seconds."""
    return board_page("boards/tv.html")
