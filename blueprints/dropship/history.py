"""Order History: every supplier order by outcome, filtered, in keyset pages."""

from flask import current_app, request

from models.dropship.queries import channel_names, history_page, supplier_names
from models.status import Role

from ..web import render, role_required
from . import bp
from .forms import OUTCOME_LABELS, HistoryFilterForm


@bp.get("/history")
@role_required(Role.OPERATOR, Role.MANAGER)
def history():
    """Supplier orders by outcome (processed, failed, shipped, canceled), newest first."""
    suppliers, channels = supplier_names(), channel_names()
    form = HistoryFilterForm(request.args).fill(suppliers, channels)
    # Supplier costs are in the shop's own currency (the SKU mappings' costs).
    context = {"form": form, "outcomes": OUTCOME_LABELS, "suppliers": suppliers,
               "channels": channels, "currency": current_app.config["DEFAULT_CURRENCY"]}
    if not form.validate():
        return render("dropship/history.html", block="results", status=422, page=None,
                      **context)
    return render("dropship/history.html", block="results",
                  page=history_page(form.filters()), **context)
