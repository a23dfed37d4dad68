"""The manager's status board: what arrived in a period, where it stands, live."""

from flask import request

from models.boards.agents import agent_rows
from models.boards.speed import speed_to_lead
from models.status import Role

from ..web import render, role_required
from . import bp
from .board import board_of, percent
from .forms import board_form


def board_page(template: str):
    """The board for the query string's filters, or the form's problems as a 422."""
    form = board_form(request.args)
    if not form.validate():
        return render(template, block="live", status=422, form=form, board=None,
                      percent=percent)
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
