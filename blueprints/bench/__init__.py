"""Baseline routes for `make bench`, registered only with BENCH_ROUTES=1.

They measure the server and the template without the database, so every
scenario can be read as a ratio to them in the same run.
"""

from collections import namedtuple
from datetime import datetime, timedelta

from flask import Blueprint, request

from blueprints.orders.listing import Lookups, filter_form
from blueprints.web import render
from models.orders.listing import LIST_COLUMNS, Page

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
