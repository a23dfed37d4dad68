"""The status board's tables as CSV files, for the same filters as the page."""

from flask import Response, abort, request
from flask_babel import gettext as _
from flask_babel import pgettext

from models.boards.agents import agent_rows
from models.boards.speed import speed_to_lead
from models.boards.tables import ALL, NOT_SHIPPED
from models.intake.csvfile import neutralise, write_csv
from models.status import CONFIRMATION_INFO, SHIPPING_INFO, Role

from ..web import role_required
from . import bp
from .board import Board, board_of
from .forms import board_form

SHIPPING_COLUMNS = (NOT_SHIPPED, *SHIPPING_INFO)
# Headers and labels are in the requesting user's language; the figures stay plain
# (1234, 82.5, 2026-11-28) so a spreadsheet reads them as numbers and dates in any locale.


def _context_header() -> tuple[str, ...]:
    """The columns every row ends with: the period and the slice it counts."""
    # The noun (a column), not the verb of the lists' Filter buttons.
    return (_("From"), _("To"), pgettext("csv column", "Filter"), _("Filter value"))


def _status(board: Board):
    header = (_("Confirmation"), _("Not shipped"),
              *(str(i.label) for i in SHIPPING_INFO.values()), _("Total"))
    rows = []
    for conf, info in CONFIRMATION_INFO.items():
        cells = [board.counts.cell(conf, ship) for ship in SHIPPING_COLUMNS]
        rows.append([str(info.label), *map(str, cells), str(sum(cells))])
    return header, rows


def _rates(board: Board):
    return ((_("Rate"), _("Formula"), _("Numerator"), _("Denominator"), _("Value")),
            [[str(r.name), str(r.formula), str(r.numerator), str(r.denominator),
              "" if r.value is None else f"{r.value:.1f}"] for r in board.rates])


def _funnel(board: Board):
    return ((_("Step"), _("Orders"), _("Lost vs previous step (%)")),
            [[s.label, str(s.n), "" if s.drop is None else f"{s.drop:.1f}"]
             for s in board.funnel])


def _trends(board: Board):
    return ((_("Day"), _("Leads"), _("Confirmed"), _("Delivered"),
             _("Returned (incl. in return)")),
            [[d.day.isoformat(), str(d.leads), str(d.confirmed), str(d.delivered),
              str(d.returned)] for d in board.trends])


def _agents(board: Board):
    def rate(value):
        return "" if value is None else f"{100 * value:.1f}"

    return ((_("Agent"), _("Calls"), _("Confirmed"), _("Confirmation rate (%)"),
             _("Median seconds per call"), _("Delivery rate (%)")),
            [[a.name, str(a.calls), str(a.confirmed), rate(a.confirmation_rate),
              "" if a.seconds_per_call is None else str(a.seconds_per_call),
              rate(a.delivery_rate)] for a in agent_rows(board.period) if a.has_figures])


def _speed(board: Board):
    speed = speed_to_lead(board.period, board.form.chosen_slice())
    return ((_("Leads"), _("Called"), _("Not called yet"), _("Median time to first call"),
             _("Called within 15 minutes"), _("Share called within 15 minutes (%)")),
            [[str(speed.leads), str(speed.called), str(speed.not_called),
              speed.median_label or "", str(speed.within_15),
              "" if speed.share is None else f"{100 * speed.share:.1f}"]])


TABLES = {"status": _status, "rates": _rates, "funnel": _funnel, "trends": _trends,
          "agents": _agents, "speed": _speed}


def board_csv(board: Board, table: str) -> str:
    """One table's rows, each ending with the period and the slice it counts."""
    header, rows = TABLES[table](board)
    chosen = board.form.chosen_slice()
    context = [board.period.first.isoformat(), board.period.last.isoformat(),
               "" if chosen.dim == ALL else chosen.dim, chosen.key]
    return write_csv([[neutralise(c) for c in (*header, *_context_header())],
                      *([neutralise(c) for c in (*row, *context)] for row in rows)])


@bp.get("/export/<table>.csv")
@role_required(Role.MANAGER)
def export_csv(table: str):
    """One of the board's tables (status, rates, funnel, trends, agents, speed) as CSV."""
    if table not in TABLES:
        abort(404)
    form = board_form(request.args)
    if not form.validate():
        problems = "; ".join(f"{form[name].label.text}: {errors[0]}"
                             for name, errors in form.errors.items())
        message = _("These filters cannot be exported: %(problems)s", problems=problems)
        return Response(f"{message}\n", status=422, mimetype="text/plain")
    board = board_of(form)
    filename = f"board-{table}-{board.period.first:%Y%m%d}-{board.period.last:%Y%m%d}.csv"
    return Response(board_csv(board, table), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
