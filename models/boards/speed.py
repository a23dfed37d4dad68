"""Speed to lead: how soon the period's new orders got their first call."""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from models.base import db

from .histogram import median_bucket
from .period import Period, Slice
from .rollups import minutes_bucket
from .tables import LeadSpeedCount, OrderDayCount

WITHIN = 15  # minutes: the share of leads called this fast is the tile's headline


@dataclass(frozen=True)
class Speed:
    """The period's leads in one slice and how fast they were first called."""

    leads: int
    called: int
    median_minutes: int | None  # the median bucket's lower bound
    median_width: int | None  # that bucket's width in minutes
    within_15: int
    share: float | None  # within_15 ÷ leads

    @property
    def not_called(self) -> int:
        """Leads no agent has recorded an outcome for yet."""
        return self.leads - self.called

    @property
    def median_label(self) -> str | None:
        """The median bucket as people read it: "12–13 min", "4–5 h", "2–3 days"."""
        if self.median_minutes is None:
            return None
        low, high = self.median_minutes, self.median_minutes + self.median_width
        if high <= 240:
            return _("%(low)d–%(high)d min", low=low, high=high)
        if high <= 1440:
            return _("%(low)d–%(high)d h", low=low // 60, high=high // 60)
        return _("%(low)d–%(high)d days", low=low // 1440, high=high // 1440)


def bucket_width(low: int) -> int:
    """Minutes from a speed bucket's lower bound to the next bucket's."""
    high = low + 1
    while minutes_bucket(high) == low:
        high += 1
    return high - low


def _in(table, period: Period, slice_: Slice):
    """The rows of one slice over the period's days (the primary key's own prefix)."""
    return (table.dim == slice_.dim, table.key == slice_.key,
            table.day >= period.first, table.day <= period.last)


def speed_to_lead(period: Period, slice_: Slice) -> Speed:
    """Leads, calls and the time to first call of the orders that arrived in the period."""
    leads = db.session.scalar(
        select(func.coalesce(func.sum(OrderDayCount.n), 0))
        .where(*_in(OrderDayCount, period, slice_)))
    buckets = {minutes: int(n) for minutes, n in db.session.execute(
        select(LeadSpeedCount.minutes, func.sum(LeadSpeedCount.n))
        .where(*_in(LeadSpeedCount, period, slice_))
        .group_by(LeadSpeedCount.minutes)) if n}
    median = median_bucket(buckets)
    within = sum(n for minutes, n in buckets.items() if minutes < WITHIN)
    leads = int(leads)
    return Speed(leads=leads, called=sum(buckets.values()), median_minutes=median,
                 median_width=bucket_width(median) if median is not None else None,
                 within_15=within, share=within / leads if leads else None)
