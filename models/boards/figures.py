"""The status board's figures: status counts, rates, funnel and daily trends of the orders
that arrived in a period, read from order_day_counts alone (never the orders table)."""

from collections import Counter
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from models.base import db
from models.status import Confirmation, Shipping

from .period import Period, Slice
from .tables import NOT_SHIPPED, OrderDayCount

C, S = Confirmation, Shipping
# A parcel that left the warehouse, whatever happened to it since.
SHIPPED = frozenset(s.value for s in (S.SHIPPED, S.PACKAGE_ISSUE, S.DELIVERED, S.IN_RETURN,
                                      S.RETURNED))
RETURNED = frozenset({S.IN_RETURN.value, S.RETURNED.value})
# A customer the call center spoke to, whatever they said.
REACHED = frozenset(c.value for c in (C.CONFIRMED, C.CANCELED, C.FAKE, C.CALL_LATER))
DECIDED = frozenset(c.value for c in (C.CONFIRMED, C.CANCELED, C.FAKE))
CONFIRMED = frozenset({C.CONFIRMED.value})
DELIVERED = frozenset({S.DELIVERED.value})

# The funnel's steps by name (the name stays English: pages and tests key on it).
STEP_LABELS = {"Leads": _l("Leads"), "Reached": _l("Reached"), "Confirmed": _l("Confirmed"),
               "Shipped": _l("Shipped"), "Delivered": _l("Delivered")}

Pair = tuple[str, str]  # (confirmation status, shipping status or NOT_SHIPPED)


def share(numerator: int, denominator: int) -> float | None:
    """numerator ÷ denominator as a percentage; None when there is nothing to divide by."""
    return 100 * numerator / denominator if denominator else None


@dataclass(frozen=True)
class Rate:
    """One rate tile: its formula in words and its raw numbers."""

    key: str
    name: str
    formula: str
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """The rate in percent, None when the denominator is 0."""
        return share(self.numerator, self.denominator)


@dataclass(frozen=True)
class Step:
    """One step of the funnel and the share of the previous step lost on the way."""

    name: str
    n: int
    previous: int | None  # None for the first step

    @property
    def label(self) -> str:
        """The step's name in the reader's language."""
        return str(STEP_LABELS.get(self.name, self.name))

    @property
    def drop(self) -> float | None:
        """Percent of the previous step that did not reach this one (None: nothing to lose)."""
        if self.previous is None:
            return None
        return share(self.previous - self.n, self.previous)


@dataclass(frozen=True)
class Day:
    """One day of the trends chart."""

    day: date
    leads: int
    confirmed: int
    delivered: int
    returned: int


class Counts:
    """Orders of a period and slice by (confirmation, shipping), in total and per day."""

    def __init__(self, period: Period, per_day: dict[date, Counter]):
        self.period = period
        self.per_day = per_day
        self.pairs: Counter = Counter()
        for cells in per_day.values():
            self.pairs.update(cells)

    @property
    def total(self) -> int:
        """Every order that arrived in the period."""
        return sum(self.pairs.values())

    def by_confirmation(self) -> dict[str, int]:
        """Count per confirmation status, in the statuses' own order."""
        return {c.value: sum(n for (conf, _), n in self.pairs.items() if conf == c.value)
                for c in Confirmation}

    def by_shipping(self) -> dict[str, int]:
        """Count per shipping status, NOT_SHIPPED ('') first."""
        return {s: sum(n for (_, ship), n in self.pairs.items() if ship == s)
                for s in (NOT_SHIPPED, *(s.value for s in Shipping))}

    def cell(self, conf: str, ship: str) -> int:
        """Orders in this confirmation × shipping pair."""
        return self.pairs.get((conf, ship), 0)


def read_counts(period: Period, slice_: Slice) -> Counts:
    """One read of the slice's rollup rows for the period (shards summed)."""
    t = OrderDayCount
    rows = db.session.execute(
        select(t.day, t.confirmation_status, t.shipping_status, func.sum(t.n))
        .where(t.dim == slice_.dim, t.key == slice_.key,
               t.day >= period.first, t.day <= period.last)
        .group_by(t.day, t.confirmation_status, t.shipping_status))
    per_day: dict[date, Counter] = {day: Counter() for day in period.days}
    for day, conf, ship, n in rows:
        if n:
            per_day[day][(conf, ship)] += int(n)
    return Counts(period, per_day)


def _sum(cells: Counter, *, conf=None, ship=None) -> int:
    """Orders whose confirmation is in `conf` and shipping in `ship` (None: any)."""
    return sum(n for (c, s), n in cells.items()
               if (conf is None or c in conf) and (ship is None or s in ship))


def rates(counts: Counts) -> list[Rate]:
    """Confirmation, delivery and return rates."""
    cells = counts.pairs
    confirmed = _sum(cells, conf=CONFIRMED)
    decided = _sum(cells, conf=DECIDED)
    delivered = _sum(cells, ship=DELIVERED)
    returned = _sum(cells, ship=RETURNED)
    shipped = _sum(cells, ship=SHIPPED)
    return [
        Rate("confirmation", _l("Confirmation rate"),
             _l("confirmed ÷ (confirmed + canceled + fake)"), confirmed, decided),
        Rate("delivery", _l("Delivery rate"),
             _l("delivered ÷ (delivered + returned + in return)"),
             delivered, delivered + returned),
        Rate("return", _l("Return rate"),
             _l("(returned + in return) ÷ shipped (shipped, package issue, delivered, "
                "in return, returned)"), returned, shipped),
    ]


def funnel(counts: Counts) -> list[Step]:
    """Leads → reached → confirmed → shipped → delivered."""
    cells = counts.pairs
    numbers = [("Leads", counts.total), ("Reached", _sum(cells, conf=REACHED)),
               ("Confirmed", _sum(cells, conf=CONFIRMED)),
               ("Shipped", _sum(cells, ship=SHIPPED)),
               ("Delivered", _sum(cells, ship=DELIVERED))]
    steps, previous = [], None
    for name, n in numbers:
        steps.append(Step(name, n, previous))
        previous = n
    return steps


def trends(counts: Counts) -> list[Day]:
    """Per day of the period: leads, confirmed, delivered, returned (returned + in return)."""
    return [Day(day, sum(cells.values()), _sum(cells, conf=CONFIRMED),
                _sum(cells, ship=DELIVERED), _sum(cells, ship=RETURNED))
            for day, cells in sorted(counts.per_day.items())]
