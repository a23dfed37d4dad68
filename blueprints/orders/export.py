"""The orders list as a CSV file: the same filters, every matching order, streamed."""

from dataclasses import replace

from flask import Response, request, stream_with_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, tuple_

from extensions import db
from models import CallSettings, Order, utcnow
from models.intake.csvfile import neutralise, write_csv
from models.orders.listing import OrderFilters, filtered
from models.status import Role

from ..i18n import local_time
from ..web import role_required
from . import bp
from .listing import Lookups, filter_form, to_filters

# Rows read per query: memory stays flat however many orders match.
EXPORT_CHUNK = 1000
# Column headers speak the user's language; the cells keep stored values (statuses, ids).
HEADER = (_l("Order id"), _l("External id"), _l("Created"), _l("Channel"), _l("Customer"),
          _l("Phone"), _l("City"), _l("Confirmation"), _l("Shipping"), _l("Carrier"),
          _l("Tracking"), _l("COD amount"), _l("Currency"), _l("Agent"))
COLUMNS = (
    Order.id, Order.created_at, Order.external_id, Order.channel_id, Order.customer_name,
    Order.phone, Order.city, Order.confirmation_status, Order.shipping_status,
    Order.carrier_id, Order.tracking_number, Order.cod_amount_cents, Order.currency,
    Order.agent_id,
)


def _chunks(filters: OrderFilters, region: str):
    """Every matching order, newest first, EXPORT_CHUNK rows per query (keyset, no OFFSET)."""
    base = filtered(select(*COLUMNS), filters, region).order_by(
        Order.created_at.desc(), Order.id.desc()).limit(EXPORT_CHUNK)
    last = None
    while True:
        query = base if last is None else base.where(
            tuple_(Order.created_at, Order.id) < (last.created_at, last.id))
        rows = db.session.execute(query).all()
        if rows:
            yield rows
        if len(rows) < EXPORT_CHUNK:
            return
        last = rows[-1]


def _cells(o, lookups: Lookups) -> list[str]:
    """One order as CSV cells, every text cell safe to open in a spreadsheet."""
    cells = [
        str(o.id), o.external_id or "", local_time(o.created_at, "%Y-%m-%d %H:%M:%S"),
        lookups.channels.get(o.channel_id, ""), o.customer_name or "", o.phone or "",
        o.city or "", o.confirmation_status, o.shipping_status or "",
        lookups.carriers.get(o.carrier_id, ""), o.tracking_number or "",
        f"{o.cod_amount_cents / 100:.2f}" if o.cod_amount_cents is not None else "",
        o.currency or "", lookups.agents.get(o.agent_id, ""),
    ]
    return [neutralise(c) for c in cells]


def _lines(filters: OrderFilters, region: str, lookups: Lookups):
    """The file piece by piece: the byte order mark and header, then one piece per chunk."""
    yield write_csv([[str(h) for h in HEADER]])
    for rows in _chunks(filters, region):
        # write_csv starts every piece with the byte order mark; the file needs one only.
        yield write_csv(_cells(o, lookups) for o in rows).removeprefix("\ufeff")


@bp.get("/export.csv")
@role_required(Role.OPERATOR, Role.MANAGER)
def export_csv():
    """Every order the list's filters match, as a CSV file (UTF-8 with BOM, for Excel)."""
    lookups = Lookups.load()
    form = filter_form(request.args, lookups)
    if not form.validate():
        problems = "; ".join(_("%(field)s: %(message)s", field=form[name].label.text,
                               message=errors[0]) for name, errors in form.errors.items())
        message = _("These filters cannot be exported: %(problems)s", problems=problems)
        return Response(f"{message}\n", status=422, mimetype="text/plain")
    filters = replace(to_filters(form), before=None)  # the whole list, not one page of it
    region = CallSettings.load().phone_region
    filename = f"orders-{utcnow():%Y%m%d-%H%M}.csv"
    return Response(stream_with_context(_lines(filters, region, lookups)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
