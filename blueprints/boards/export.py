"""The status board's tables as CSV files, for the same filters as the page."""

from flask import Response, abort, request

from models.boards.agents import agent_rows
from models.boards.speed import speed_to_lead
from models.boards.tables import ALL, NOT_SHIPPED
from models.intake.csvfile import neutralise, write_csv
from models.status import CONFIRMATION_INFO, SHIPPING_INFO, Role

from ..web import role_required
from . import bp
from .board import Board, board_of
from .forms import board_form

CONTEXT = ("From", "To", "Filter", "Filter value")
SHIPPING_COLUMNS = (NOT_SHIPPED, *SHIPPING_INFO)


def _status(board: Board):
    header = ("Confirmation", "Not shipped", *(i.label for i in SHIPPING_INFO.values()),
              "Total")
    rows = []
    for conf, info in CONFIRMATION_INFO.items():
        cells = [board.counts.cell(conf, ship) for ship in SHIPPING_COLUMNS]
        rows.append([info.label, *map(str, cells), str(sum(cells))])
    return header, rows


def _rates(board: Board):
    return (("Rate", "Formula", "Numerator", "Denominator", "Value"),
            [[r.name, r.formula, str(r.numerator), str(r.denominator),
              "" if r.value is None else f"{r.value:.1f}"] for r in board.rates])


def _funnel(board: Board):
    return (("Step", "Orders", "Lost vs previous step (%)"),
            [[s.name, str(s.n), "" if s.drop is None else f"{s.drop:.1f}"]
             for s in board.funnel])


def _trends(board: Board):
    return (("Day", "Leads", "Confirmed", "Delivered", "Returned (incl. in return)"),
            [[d.day.isoformat(), str(d.leads), str(d.confirmed), str(d.delivered),
              str(d.returned)] for d in board.trends])


def _agents(board: Board):
    def rate(value):
        return "" if value is None else f"{100 * value:.1f}"

    return (("Agent", "Calls", "Confirmed", "Confirmation rate (%)", "Median seconds per call",
             "Delivery rate (%)"),
            [[a.name, str(a.calls), str(a.confirmed), rate(a.confirmation_rate),
              "" if a.seconds_per_call is None else str(a.seconds_per_call),
              rate(a.delivery_rate)] for a in agent_rows(board.period) if a.has_figures])


def _speed(board: Board):
    speed = speed_to_lead(board.period, board.form.chosen_slice())
    return (("Leads", "Called", "Not called yet", "Median time to first call",
             "Called within 15 minutes", "Share called within 15 minutes (%)"),
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
    return write_csv([[neutralise(c) for c in (*header, *CONTEXT)],
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
        return Response(f"These filters cannot be exported: {problems}\n", status=422,
                        mimetype="text/plain")
    board = board_of(form)
    filename = f"board-{table}-{board.period.first:%Y%m%d}-{board.period.last:%Y%m%d}.csv"
    return Response(board_csv(board, table), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
