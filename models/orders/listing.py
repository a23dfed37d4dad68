"""The orders list query: filters, search and keyset pagination, newest first.

Every filter is served by an index on (column, created_at, id), and pages are cut
with a (created_at, id) cursor, so a page costs the same at any table size and
orders arriving meanwhile never shift later pages (no duplicates, no gaps).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, tuple_

from models.base import db
from models.phones import looks_like_phone, normalize_phone

from .tables import Order, OrderLine

PAGE_SIZE = 50
LIST_COLUMNS = (
    Order.id, Order.created_at, Order.external_id, Order.customer_name, Order.phone,
    Order.city, Order.channel_id, Order.carrier_id, Order.agent_id, Order.delivery_mode,
    Order.cod_amount_cents, Order.currency, Order.confirmation_status, Order.shipping_status,
    Order.push_status, Order.push_detail,
)


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the (created_at, id) of its last row."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        """A compact, URL-safe form: 20261121093015123456-42."""
        return f"{self.created_at:%Y%m%d%H%M%S%f}-{self.id}"

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        """Parse encode()'s output; ValueError when it is not one."""
        stamp, _, ident = (text or "").partition("-")
        return cls(datetime.strptime(stamp, "%Y%m%d%H%M%S%f"), int(ident))


@dataclass(frozen=True)
class OrderFilters:
    """What the list is narrowed to; None means "any"."""

    confirmation: str | None = None
    shipping: str | None = None
    channel_id: int | None = None
    carrier_id: int | None = None
    city: str | None = None
    agent_id: int | None = None
    push: str | None = None  # sent / not_sent / error (ix_orders_push_created)
    not_shipped: bool = False  # no shipping status yet (not confirmed)
    supplier_id: int | None = None  # has a line from this dropship supplier
    remittance: tuple[str, ...] | None = None  # outcomes ("" = no statement settled it)
    shipped_before: datetime | None = None  # UTC: entered its shipping status before
    created_from: datetime | None = None  # UTC, inclusive
    created_to: datetime | None = None  # UTC, exclusive
    search: str = ""
    before: Cursor | None = None


@dataclass
class Page:
    """One page of rows and the cursor of the next (older) page, if any."""

    rows: list
    next_cursor: Cursor | None


def _escape_like(text: str) -> str:
    """Make user text literal inside a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(term: str, region: str = "MA"):
    """Match an order number, an external id, a phone in any format, or part of a name."""
    term = term.strip()
    if not term:
        return None
    digits = term.lstrip("#")
    matches = [Order.external_id == term]
    if digits.isdigit() and len(digits) <= 9:
        matches.append(Order.id == int(digits))
    if looks_like_phone(term):
        phone = normalize_phone(term, region)
        if phone:
            matches.append(Order.phone_normalized == phone)
    elif len(term) >= 2 and not digits.isdigit():
        pattern = f"%{_escape_like(term.lower())}%"
        matches.append(func.lower(Order.customer_name).like(pattern, escape="\\"))
    return or_(*matches)


def filtered(query, f: OrderFilters, region: str = "MA"):
    """Apply every filter but the cursor."""
    equal = {
        Order.confirmation_status: f.confirmation, Order.shipping_status: f.shipping,
        Order.channel_id: f.channel_id, Order.carrier_id: f.carrier_id, Order.city: f.city,
        Order.agent_id: f.agent_id, Order.push_status: f.push,
    }
    for column, value in equal.items():
        if value is not None:
            # Carrier 0: orders without one (as the money board counts them).
            query = query.where(column.is_(None) if column is Order.carrier_id and value == 0
                                else column == value)
    if f.not_shipped:
        query = query.where(Order.shipping_status.is_(None))
    if f.supplier_id is not None:
        # ix_order_lines_supplier finds the supplier's orders without reading their lines.
        query = query.where(Order.id.in_(select(OrderLine.order_id).where(
            OrderLine.supplier_id == f.supplier_id)))
    if f.remittance is not None:
        query = query.where(Order.remittance.in_(f.remittance))
    if f.shipped_before is not None:
        # As the money board counts a parcel's day: when it entered its status, or arrived.
        query = query.where(func.coalesce(Order.shipping_changed_at, Order.created_at)
                            < f.shipped_before)
    if f.created_from is not None:
        query = query.where(Order.created_at >= f.created_from)
    if f.created_to is not None:
        query = query.where(Order.created_at < f.created_to)
    condition = search_condition(f.search, region)
    if condition is not None:
        query = query.where(condition)
    return query


def list_orders(f: OrderFilters, limit: int = PAGE_SIZE, region: str = "MA") -> Page:
    """The page of orders after f.before (or the newest), newest first."""
    query = filtered(select(*LIST_COLUMNS), f, region)
    if f.before is not None:
        query = query.where(tuple_(Order.created_at, Order.id) < (f.before.created_at,
                                                                  f.before.id))
    query = query.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit + 1)
    rows = db.session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more else None
    return Page(rows, Cursor(last.created_at, last.id) if last else None)
