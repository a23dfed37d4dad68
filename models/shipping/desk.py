"""The shipping desk's reads: parcels by status, stuck and failing ones, keyset pages.

Read-only. A page is one query over orders joined to their parcel, selecting only the
columns a row shows; names come from the cached lookups. Pages run oldest confirmation
first and are cut with a (confirmed_at, id) cursor, so orders confirmed while the
operator pages through land after the last page: no duplicates, no gaps.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, or_, select, tuple_

from models.base import db
from models.orders.tables import Order
from models.small_tables import cached
from models.status import DeliveryMode, Shipping

from .settings import ShippingSettings
from .tables import Parcel

PAGE_SIZE = 50
MAX_SELECTED = 500
# The error count reads a small partial index and follows every change: its key shares
# the prefix the order counters clear on a flush, and it lives two seconds at most.
COUNTS_TTL_SECONDS = 2.0
# Stuck is measured in hours and days, and counting it reads every order still on its
# way (tens of thousands in a big shop): once a minute per process is fresh enough.
STUCK_TTL_SECONDS = 60.0

# Why a row is stuck, as the page explains it.
NO_UPDATE, NO_TRACKING, LONG_RETURN = "no_update", "no_tracking", "long_return"
# Where a carrier parcel should have a tracking number by now.
NEEDS_TRACKING = (Shipping.CREATED.value, Shipping.FULFILLED.value, Shipping.SHIPPED.value,
                  Shipping.PACKAGE_ISSUE.value)
CAN_BE_STUCK = (*NEEDS_TRACKING, Shipping.IN_RETURN.value)
ON_THE_ROAD = (Shipping.SHIPPED.value, Shipping.PACKAGE_ISSUE.value)

# The carrier shown and filtered on: the parcel's (detection may correct it), else the order's.
CARRIER = func.coalesce(Parcel.carrier_id, Order.carrier_id)


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the (confirmed_at, id) of its last row."""

    confirmed_at: datetime
    id: int

    def encode(self) -> str:
        """A compact, URL-safe form: 20261121093015123456-42."""
        return f"{self.confirmed_at:%Y%m%d%H%M%S%f}-{self.id}"

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        """Parse encode()'s output; ValueError when it is not one."""
        stamp, _, ident = (text or "").partition("-")
        return cls(datetime.strptime(stamp, "%Y%m%d%H%M%S%f"), int(ident))


@dataclass(frozen=True)
class DeskFilters:
    """What the desk is narrowed to; None or False means "any"."""

    status: str | None = None
    carrier_id: int | None = None
    channel_id: int | None = None
    city: str | None = None
    confirmed_from: datetime | None = None  # UTC, inclusive
    confirmed_to: datetime | None = None  # UTC, exclusive
    stuck: bool = False
    error: bool = False
    after: Cursor | None = None


@dataclass
class Page:
    """One page of rows and the cursor of the next page, if any."""

    rows: list
    next_cursor: Cursor | None


def _latest(a, b):
    """The later of two nullable times (SQL has no portable GREATEST that skips NULL)."""
    return case((a.is_(None), b), (b.is_(None), a), (a > b, a), else_=b)


def stuck_reason(settings: ShippingSettings, now: datetime):
    """SQL: why a row is stuck (NO_UPDATE, NO_TRACKING, LONG_RETURN), or NULL when it isn't.

    Rules: a carrier parcel on its way (shipped, package issue, or packed and handed
    over) with no carrier news for N hours; a carrier order still without a tracking
    number N days after confirmation; an order In return for more than N days. Nothing
    but the return moves an order In return, so its updated_at is when it went there.
    """
    carrier_mode = Order.delivery_mode == DeliveryMode.CARRIER.value
    on_its_way = or_(
        Order.shipping_status.in_(ON_THE_ROAD),
        and_(Order.shipping_status == Shipping.FULFILLED.value,
             Parcel.handed_over_at.is_not(None)),
    )
    last_news = func.coalesce(_latest(Parcel.last_event_at, Parcel.handed_over_at),
                              Order.confirmed_at)
    no_update = and_(carrier_mode, on_its_way,
                     last_news < now - timedelta(hours=settings.stuck_no_update_hours))
    no_tracking = and_(
        carrier_mode, Order.shipping_status.in_(NEEDS_TRACKING),
        Parcel.tracking_number.is_(None),  # also NULL when no parcel was opened yet
        Order.confirmed_at < now - timedelta(days=settings.stuck_no_tracking_days))
    long_return = and_(
        Order.shipping_status == Shipping.IN_RETURN.value,
        Order.updated_at < now - timedelta(days=settings.stuck_in_return_days))
    return case((no_update, NO_UPDATE), (no_tracking, NO_TRACKING),
                (long_return, LONG_RETURN), else_=None)


def _base(columns):
    """Confirmed orders (they have a shipping status) with their parcel, if any."""
    # The door sets confirmed_at with the first shipping status; the cursor needs it.
    return (select(*columns).select_from(Order)
            .outerjoin(Parcel, (Parcel.order_id == Order.id) & Parcel.supplier_order_id.is_(None))
            .where(Order.shipping_status.is_not(None), Order.confirmed_at.is_not(None)))


def filtered(query, f: DeskFilters, reason):
    """Apply every filter but the cursor."""
    equal = {Order.shipping_status: f.status, Order.channel_id: f.channel_id,
             Order.city: f.city, CARRIER: f.carrier_id}
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if f.confirmed_from is not None:
        query = query.where(Order.confirmed_at >= f.confirmed_from)
    if f.confirmed_to is not None:
        query = query.where(Order.confirmed_at < f.confirmed_to)
    if f.stuck:
        query = query.where(reason.is_not(None))
    if f.error:
        query = query.where(Parcel.last_error.is_not(None))
    return query


def desk_page(f: DeskFilters, settings: ShippingSettings, now: datetime,
              limit: int = PAGE_SIZE) -> Page:
    """The page of parcels after f.after (or the first), oldest confirmation first."""
    reason = stuck_reason(settings, now)
    columns = (
        Order.id, Order.customer_name, Order.city, Order.delivery_mode, Order.shipping_status,
        Order.confirmed_at, CARRIER.label("carrier_id"), Parcel.tracking_number,
        Parcel.last_error, Parcel.carrier_status_text, Parcel.last_event_at,
        reason.label("stuck"),
    )
    query = filtered(_base(columns), f, reason)
    if f.after is not None:
        query = query.where(tuple_(Order.confirmed_at, Order.id)
                            > (f.after.confirmed_at, f.after.id))
    query = query.order_by(Order.confirmed_at, Order.id).limit(limit + 1)
    rows = db.session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more else None
    return Page(rows, Cursor(last.confirmed_at, last.id) if last else None)


def matching_ids(f: DeskFilters, settings: ShippingSettings, now: datetime,
                 limit: int = MAX_SELECTED) -> list[int]:
    """Ids of the first `limit` orders the filters match (for "select all"), in page order."""
    reason = stuck_reason(settings, now)
    query = filtered(_base((Order.id,)), f, reason)
    return list(db.session.execute(
        query.order_by(Order.confirmed_at, Order.id).limit(limit)).scalars())


def problem_counts(settings: ShippingSettings, now: datetime,
                   channel_id: int | None = None) -> dict[str, int]:
    """How many parcels are stuck and how many carry a carrier error (cached briefly)."""
    limits = (settings.stuck_no_update_hours, settings.stuck_no_tracking_days,
              settings.stuck_in_return_days)
    stuck = cached(f"desk_stuck:{channel_id}:{limits}",
                   lambda: _count_stuck(settings, now, channel_id), ttl=STUCK_TTL_SECONDS)
    errors = cached(f"status_counts:desk_errors:{channel_id}",
                    lambda: _count_errors(channel_id), ttl=COUNTS_TTL_SECONDS)
    return {"stuck": stuck, "errors": errors}


def _count_stuck(settings: ShippingSettings, now: datetime, channel_id: int | None) -> int:
    """Stuck parcels, read only among the statuses that can be stuck (an index)."""
    reason = stuck_reason(settings, now)
    # Delivered, returned and canceled orders are most of a shop's history and never stuck.
    query = _base((func.count(),)).where(Order.shipping_status.in_(CAN_BE_STUCK),
                                         reason.is_not(None))
    if channel_id is not None:
        query = query.where(Order.channel_id == channel_id)
    return int(db.session.scalar(query))


def _count_errors(channel_id: int | None) -> int:
    """Parcels carrying a carrier error (the ix_parcels_failing partial index)."""
    query = _base((func.count(),)).where(Parcel.last_error.is_not(None))
    if channel_id is not None:
        query = query.where(Order.channel_id == channel_id)
    return int(db.session.scalar(query))
