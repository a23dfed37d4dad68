"""The daily counters check: recount the counter tables and log what differs."""

import logging
from datetime import timedelta

from models import db, utcnow
from models.boards.check import compact
from models.orders.agent_days import local_day
from models.orders.counter_check import check_counters
from workers import job

log = logging.getLogger(__name__)

# Agents' days further back are history nobody's screen reads; recounting them every
# night would fold the whole audit trail.
AGENT_DAYS_CHECKED = 35


@job("default", timeout=1800)
def check_counters_daily(days: int = AGENT_DAYS_CHECKED) -> list[str]:
    """Fold past days' rollup shards, then compare the counters with a recount (agents'
    days and call times: the last `days`); log each difference at WARNING and return them."""
    today = local_day(utcnow())
    compact(today)  # past days' shards fold into one row each: boards read fewer rows
    db.session.commit()
    since = today - timedelta(days=days)
    differences = [str(d) for d in check_counters(since)]
    for difference in differences:
        log.warning("counter differs from its recount: %s", difference)
    return differences
