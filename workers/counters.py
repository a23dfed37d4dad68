"""The daily counters check: recount the counter tables and log what differs."""

import logging

from models.orders.counter_check import check_counters
from workers import job

log = logging.getLogger(__name__)


@job("default", timeout=1800)
def check_counters_daily() -> list[str]:
    """Compare every counter with a recount; log each difference at WARNING and return them."""
    differences = [str(d) for d in check_counters()]
    for difference in differences:
        log.warning("counter differs from its recount: %s", difference)
    return differences
