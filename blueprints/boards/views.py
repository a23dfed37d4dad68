"""The manager's status board: what arrived in a period, where it stands, live."""

from flask import request

from models.boards.agents import agent_rows
from models.boards.rollups import LIVE_PREFIX
from models.boards.speed import speed_to_lead
from models.small_tables import cached, forget, live_keys
from models.status import Role

from ..i18n import language
from ..web import is_fragment, render, role_required
from . import bp
from .board import board_of, percent
from .forms import board_form

# Every wall screen polls its board every 5 s; within a process one read and render
# serves the same board's polls for this long (this process's own writes clear it).
LIVE_SECONDS = 2.0
LIVE_KEPT = 200  # boards kept per process before the oldest are dropped


def board_page(template: str):
    """The board for the query string's filters, or the form's problems as a 422."""
    form = board_form(request.args)
    if not form.validate():
        return render(template, block="live", status=422, form=form, board=None,
                      percent=percent)
    if not is_fragment():
        return _render(template, form)
    if len(live_keys(LIVE_PREFIX)) >= LIVE_KEPT:
        forget(LIVE_PREFIX)
    # Each language renders its own words and number formats: never serve one to another.
    key = f"{LIVE_PREFIX}{language()}:{template}?{request.query_string.decode()}"
    return cached(key, lambda: _render(template, form), ttl=LIVE_SECONDS)


def _render(template: str, form):
    """Read the board's figures and render it (its live block alone for htmx)."""
    board = board_of(form)
    return render(template, block="live", form=form, board=board, percent=percent,
                  agents=agent_rows(board.period), period=board.period,
                  speed=speed_to_lead(board.period, form.chosen_slice()))


@bp.get("/")
@role_required(Role.MANAGER)
def index():
    """Status counts, rates, funnel and trends of the orders that arrived in a period."""
    return board_page("boards/index.html")


# The TV screen and the CSV files register their routes on the same blueprint.
from . import export, tv  # noqa: E402,F401
