"""The money board (managers): where each carrier's cash on delivery stands, its CSV, the
overdue setting, and fetching a statement from a carrier's API."""

from flask import Response, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Actor, Carrier
from models.base import utcnow
from models.boards.period import today
from models.errors import InvalidInput
from models.intake.csvfile import neutralise, write_csv
from models.money.board import NO_CARRIER, CarrierMoney, money_board
from models.money.settings import MoneySettings, parse_overdue_days
from models.status import Role
from workers.money import API_KINDS, FetchError, fetch_and_import

from ..web import get_or_404, is_fragment, render, role_required
from . import bp
from .money import carrier_page, imported_page

# Translated per request (the header is in the user's language; amounts stay 1234.50).
CSV_HEADER = [
    _l("Carrier"), _l("Not with the carrier"), _l("Not with the carrier COD"),
    _l("In transit"), _l("In transit COD"), _l("Delivered awaiting payout"),
    _l("Awaiting payout COD"), _l("Overdue"), _l("Overdue COD"), _l("Paid out"),
    _l("Collected"), _l("Fees"), _l("Net paid out"), _l("Short"), _l("Short total"),
    _l("Over"), _l("Over total"), _l("Lost"), _l("Lost COD"), _l("Unknown statement lines"),
    _l("Unknown collected")]


def orders_link(row: CarrierMoney, **filters) -> str:
    """The orders list showing exactly the orders of one figure of this row."""
    if row.carrier_id is not None:
        filters["carrier"] = "none" if row.carrier_id == NO_CARRIER else str(row.carrier_id)
    return url_for("orders.index", **filters)


@bp.app_template_global()
def statement_api_carriers() -> set[int]:
    """Ids of carriers whose statements can be fetched from their API (remittances page)."""
    return set(db.session.scalars(select(Carrier.id).where(Carrier.kind.in_(API_KINDS),
                                                           Carrier.local_delivery.is_(False))))


def _board_page(block: str = "live", status: int = 200, problem: str | None = None,
                typed: str | None = None, saved: str | None = None):
    """The money board (one block of it for htmx)."""
    settings = MoneySettings.load()
    board = money_board(today(), settings.overdue_days)
    return render("boards/money.html", block=block, status=status, board=board,
                  settings=settings, problem=problem, saved=saved,
                  typed=settings.overdue_days if typed is None else typed,
                  orders_link=orders_link, updated=utcnow())


@bp.get("/money")
@role_required(Role.MANAGER)
def money():
    """Each carrier's cash: with the carrier, delivered and awaiting payout, paid, lost."""
    return _board_page()


@bp.post("/money/settings")
@role_required(Role.MANAGER)
def post_money_settings():
    """Save after how many days an unpaid delivered parcel is overdue."""
    typed = request.form.get("overdue_days", "")
    try:
        days = parse_overdue_days(typed)
    except InvalidInput as refused:
        return _board_page("money", status=refused.status_code, problem=refused.message,
                           typed=typed[:20])
    MoneySettings(overdue_days=days).save()
    db.session.commit()
    if not is_fragment():
        return redirect(url_for("boards.money"), code=303)
    return _board_page("money", saved=ngettext(
        "Delivered parcels are overdue after %(num)d day.",
        "Delivered parcels are overdue after %(num)d days.", days))


def _csv_row(row: CarrierMoney) -> list[str]:
    """One row of the board as CSV cells (amounts as 1234.50)."""
    def amount(cents: int) -> str:
        return f"{cents / 100:.2f}"

    figures = (row.waiting_total, row.in_transit_total, row.awaiting, row.overdue)
    cells = [neutralise(row.name)]
    for figure in figures:
        cells += [str(figure.n), amount(figure.cents)]
    cells += [str(row.paid.n), amount(row.paid.cents), amount(row.fees_cents),
              amount(row.net_paid_cents), str(row.short.n), amount(row.short.cents),
              str(row.over.n), amount(row.over.cents), str(row.lost_total.n),
              amount(row.lost_total.cents), str(row.unknown.n), amount(row.unknown.cents)]
    return cells


@bp.get("/money.csv")
@role_required(Role.MANAGER)
def money_csv():
    """The money board's table as a CSV file (UTF-8 with BOM, formula cells neutralised)."""
    board = money_board(today(), MoneySettings.load().overdue_days)
    header = [neutralise(str(name)) for name in CSV_HEADER]
    rows = [header, *(_csv_row(r) for r in board.rows), _csv_row(board.total)]
    name = f"money-{today().isoformat()}.csv"
    return Response(write_csv(rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/money/remittances/fetch")
@role_required(Role.MANAGER)
def fetch_statement():
    """Fetch the carrier's statement from its API and import it as an upload would be."""
    carrier = get_or_404(Carrier, request.form.get("carrier_id", type=int) or 0)
    try:
        result = fetch_and_import(carrier, Actor.of(current_user), today())
        db.session.commit()
    except (FetchError, InvalidInput) as failed:
        db.session.rollback()
        status = failed.status if isinstance(failed, FetchError) else failed.status_code
        return carrier_page(carrier.id, status=status, problem=failed.message)
    except IntegrityError:
        # Two fetches of the same carrier at once: the database refused the second.
        db.session.rollback()
        return carrier_page(carrier.id, status=409,
                            problem=_("Another statement of this carrier was being imported "
                                      "at the same moment. Fetch again to see its result."))
    if result.statement is None and not result.refused:
        return carrier_page(carrier.id, saved=_(
            "%(carrier)s's statement lists no delivered parcel yet: nothing to import.",
            carrier=carrier.name))
    return imported_page(carrier, result)
