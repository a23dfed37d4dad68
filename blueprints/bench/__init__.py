"""Baseline routes for `make bench`, registered only with BENCH_ROUTES=1.

They measure the server and the template without the database, so every
scenario can be read as a ratio to them in the same run.
"""

from collections import namedtuple
from datetime import datetime, timedelta

from flask import Blueprint, request

from blueprints.dropship.forms import OUTCOME_LABELS, HistoryFilterForm
from blueprints.orders.listing import Lookups, filter_form
from blueprints.web import render
from models.dropship.queries import HISTORY_COLUMNS
from models.dropship.queries import Page as HistoryPage
from models.orders.listing import LIST_COLUMNS, Cursor, Page

bp = Blueprint("bench", __name__, url_prefix="/bench")

Row = namedtuple("Row", [c.key for c in LIST_COLUMNS])
# As many names as the benchmark data has, so the page renders the same options.
LOOKUPS = Lookups(
    channels={i: f"Channel {i}" for i in range(1, 6)},
    carriers={i: f"Carrier {i}" for i in range(1, 4)},
    agents={i: f"Agent {i:02d}" for i in range(1, 31)},
)
STATUSES = [("new", None), ("confirmed", "delivered"), ("confirmed", "shipped"),
            ("no_answer", None), ("canceled", None)]
ROWS = [
    Row(id=1_000_000 - i, created_at=datetime(2026, 11, 21, 12) - timedelta(minutes=7 * i),
        external_id=f"#{90_000 - i}", customer_name=f"Fatima Zahra El Amrani {i}",
        phone="06 12 34 56 78", city="Casablanca", channel_id=1 + i % 2, carrier_id=1,
        agent_id=1 + i % 10, delivery_mode="carrier", cod_amount_cents=34_900 + i,
        currency="MAD", confirmation_status=STATUSES[i % 5][0],
        shipping_status=STATUSES[i % 5][1], push_status="sent", push_detail="")
    for i in range(50)
]
COUNTS = {"confirmation": {"new": 80_000, "confirmed": 600_000}, "shipping": {"delivered": 1},
          "total": 1_000_000}


@bp.get("/minimal")
def minimal():
    """The smallest Flask response: the server's own ceiling."""
    return "ok"


@bp.get("/orders-memory")
def orders_memory():
    """The orders list page rendered from 50 rows held in memory (no database)."""
    form = filter_form(request.args, LOOKUPS)
    form.validate()
    return render("orders/list.html", block="results", form=form, page=Page(ROWS, None),
                  lookups=LOOKUPS, counts=COUNTS, query_args=_no_args)


def _no_args(form, **changes):
    """Query arguments for links: only the changes (there are no filters here)."""
    return {k: v for k, v in changes.items() if v}


# Order History: 50 supplier orders in every outcome, as the page's query hands them over
# (SupplierOrder objects and the order's currency), never attached to a session.
HISTORY_SUPPLIERS = {1: "Atlas Dropship", 2: "Souss Import"}
HISTORY_CHANNELS = dict(LOOKUPS.channels)
HISTORY_STATUSES = ["shipped", "pending", "accepted", "error", "shipped", "submitted",
                    "canceled", "shipped", "accepted", "shipped"]
HISTORY_ERRORS = ["Out of stock: ATL-RV-S1 (2 available, 3 asked)",
                  "SKU KIT-AIR-5L-NR has no Atlas Dropship SKU mapped."]


def _history_row(i: int):
    """One supplier order of the in-memory History page, its fields filled as its status has
    them."""
    status = HISTORY_STATUSES[i % len(HISTORY_STATUSES)]
    created = datetime(2026, 11, 27, 21) - timedelta(minutes=11 * i)
    sent = status not in ("pending", "error") or i % 4 == 3
    return HistoryRow(
        id=260_000 - i, order_id=999_000 - 3 * i, supplier_id=1 + i % 2, channel_id=1 + i % 5,
        status=status, cost_cents=21_000 + 1_300 * i, created_at=created,
        supplier_ref=f"SUP-{40_000_000 + 7_919 * i:08d}" if sent else None,
        tracking_number=f"SBX{3_000_000_000 + 104_729 * i:010d}" if status == "shipped"
        else None, carrier_name="Sandbox Express" if status == "shipped" else None,
        error=HISTORY_ERRORS[i // 10 % 2] if status == "error" else "",
        cancel_reason="Le client a annulé avant l'expédition" if status == "canceled" else "",
        manual_follow_up=False, last_error="")


# The page's own row shape (plain rows of HISTORY_COLUMNS), held in memory.
HistoryRow = namedtuple("HistoryRow", [c.name for c in HISTORY_COLUMNS])
HISTORY_ROWS: list = []


@bp.get("/history-memory")
def history_memory():
    """The Order History page rendered from 50 supplier orders held in memory (no database)."""
    if not HISTORY_ROWS:  # built on first use: the mappers are configured by then
        HISTORY_ROWS.extend(_history_row(i) for i in range(50))
    form = HistoryFilterForm(request.args).fill(HISTORY_SUPPLIERS, HISTORY_CHANNELS)
    form.validate()
    last = HISTORY_ROWS[-1]
    return render("dropship/history.html", block="results", form=form,
                  outcomes=OUTCOME_LABELS, suppliers=HISTORY_SUPPLIERS,
                  channels=HISTORY_CHANNELS, currency="MAD",
                  page=HistoryPage(HISTORY_ROWS, Cursor(last.created_at, last.id)))
