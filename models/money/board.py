"""The money board's figures: where each carrier's cash on delivery stands.

Read from the cod_counts rollup only (a few rows per carrier, status and day) and, for
the cash of tracking numbers no parcel matched, from the statements' own lines (few).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import case, func, literal, select

from models.base import db
from models.boards.tables import UNPAID, CodCount
from models.catalog import Carrier
from models.status import Shipping

from .tables import OVER, SETTLING, SHORT, RemittanceStatement

NO_CARRIER = 0  # cod_counts' carrier of confirmed orders that have none yet
WAITING = (Shipping.CREATED.value, Shipping.FULFILLED.value)
IN_TRANSIT = (Shipping.SHIPPED.value, Shipping.PACKAGE_ISSUE.value)
DELIVERED = Shipping.DELIVERED.value
LOST = (Shipping.IN_RETURN.value, Shipping.RETURNED.value)


@dataclass
class Figure:
    """A count of parcels and their cash (COD value, or what a statement said)."""

    n: int = 0
    cents: int = 0

    def add(self, n: int, cents: int) -> None:
        """Count more parcels in."""
        self.n += n
        self.cents += cents


def _by_status(statuses: tuple[str, ...]) -> dict[str, Figure]:
    return {status: Figure() for status in statuses}


@dataclass
class CarrierMoney:
    """One carrier's cash (carrier_id None: every carrier together)."""

    carrier_id: int | None
    name: str
    waiting: dict[str, Figure] = field(default_factory=lambda: _by_status(WAITING))
    in_transit: dict[str, Figure] = field(default_factory=lambda: _by_status(IN_TRANSIT))
    awaiting: Figure = field(default_factory=Figure)  # delivered, no statement yet
    overdue: Figure = field(default_factory=Figure)  # of those, delivered too long ago
    paid: Figure = field(default_factory=Figure)  # cents: what the statements collected
    fees_cents: int = 0
    short: Figure = field(default_factory=Figure)  # cents: collected − COD (negative)
    over: Figure = field(default_factory=Figure)  # cents: collected − COD (positive)
    lost: dict[str, Figure] = field(default_factory=lambda: _by_status(LOST))
    unknown: Figure = field(default_factory=Figure)  # statement lines matching no parcel

    @property
    def waiting_total(self) -> Figure:
        """Confirmed orders not handed to the carrier yet."""
        return _total(self.waiting)

    @property
    def in_transit_total(self) -> Figure:
        """Parcels on the road: their cash is still with the carrier's driver."""
        return _total(self.in_transit)

    @property
    def lost_total(self) -> Figure:
        """Parcels coming or come back: their cash will never arrive."""
        return _total(self.lost)

    @property
    def disputed(self) -> Figure:
        """Short and over lines together (cents: their differences' sum)."""
        return Figure(self.short.n + self.over.n, self.short.cents + self.over.cents)

    @property
    def net_paid_cents(self) -> int:
        """What the carrier paid out: collected minus fees."""
        return self.paid.cents - self.fees_cents

    def fold(self, status: str, remittance: str, overdue: bool, n: int, cod: int,
             collected: int, fees: int) -> None:
        """Count one group of cod_counts rows in."""
        for group in (self.waiting, self.in_transit, self.lost):
            if status in group:
                group[status].add(n, cod)
        if status == DELIVERED and remittance == UNPAID:
            self.awaiting.add(n, cod)
            if overdue:
                self.overdue.add(n, cod)
        if remittance in SETTLING:
            self.paid.add(n, collected)
            self.fees_cents += fees
        if remittance == SHORT:
            self.short.add(n, collected - cod)
        elif remittance == OVER:
            self.over.add(n, collected - cod)


def _total(figures: dict[str, Figure]) -> Figure:
    return Figure(sum(f.n for f in figures.values()), sum(f.cents for f in figures.values()))


@dataclass
class MoneyBoard:
    """Every carrier's row, the total row, and the day before which payouts are overdue."""

    rows: list[CarrierMoney]
    total: CarrierMoney
    overdue_before: date  # delivered before this local day and unpaid: overdue
    carriers: int  # carriers configured (the empty state tells "none" from "no parcels")


def overdue_before(today: date, overdue_days: int) -> date:
    """The first delivery day that is not overdue yet: a parcel delivered exactly
    `overdue_days` days ago still has today."""
    return today - timedelta(days=overdue_days)


def _cod_groups(before: date):
    """cod_counts summed by carrier, status, remittance and whether the day is overdue."""
    late = case((CodCount.day < before, literal(True)), else_=literal(False)).label("late")
    return db.session.execute(
        select(CodCount.carrier_id, CodCount.shipping_status, CodCount.remittance, late,
               func.sum(CodCount.n), func.sum(CodCount.cod_cents),
               func.sum(CodCount.collected_cents), func.sum(CodCount.fees_cents))
        .group_by(CodCount.carrier_id, CodCount.shipping_status, CodCount.remittance, late)
    ).all()


def _unknown_lines() -> dict[int, tuple[int, int]]:
    """Per carrier: statement lines whose tracking number matched no parcel, and their cash."""
    statements = RemittanceStatement
    return {carrier_id: (int(n), int(cents)) for carrier_id, n, cents in db.session.execute(
        select(statements.carrier_id, func.sum(statements.unknown_lines),
               func.sum(statements.unknown_cents))
        .group_by(statements.carrier_id)) if n}


def _carrier_name(carrier_id: int) -> str:
    """The row name of cash whose carrier has no name: none chosen yet, or one deleted."""
    if carrier_id == NO_CARRIER:
        return _("No carrier yet")
    return _("Carrier #%(id)s", id=carrier_id)


def money_board(today: date, overdue_days: int) -> MoneyBoard:
    """Each carrier's cash by where it stands, and the total."""
    before = overdue_before(today, overdue_days)
    names = dict(db.session.execute(select(Carrier.id, Carrier.name)).all())
    rows: dict[int, CarrierMoney] = {}
    total = CarrierMoney(None, _("All carriers"))
    for carrier_id, status, remittance, late, n, cod, collected, fees in _cod_groups(before):
        if not n:
            continue
        row = rows.get(carrier_id) or rows.setdefault(carrier_id, CarrierMoney(
            carrier_id, names.get(carrier_id) or _carrier_name(carrier_id)))
        for target in (row, total):
            target.fold(status, remittance, bool(late), n, cod or 0, collected or 0, fees or 0)
    for carrier_id, (n, cents) in _unknown_lines().items():
        row = rows.get(carrier_id) or rows.setdefault(carrier_id, CarrierMoney(
            carrier_id, names.get(carrier_id) or _carrier_name(carrier_id)))
        row.unknown.add(n, cents)
        total.unknown.add(n, cents)
    ordered = sorted(rows.values(), key=lambda r: (r.carrier_id == NO_CARRIER, r.name.lower()))
    return MoneyBoard(ordered, total, before, len(names))
