"""Reading supplier orders: the Orders screen's tabs, Order History, a bulk Process's
progress, an order's supplier orders and one SKU's trail.

Lists are keyset pages on (created_at, id), newest first. Each status is read on its own
from ix_supplier_orders_status_created (or the supplier, channel or order index) and the
few rows each gives are merged here, so a page costs the same at a million rows and no
list ever counts the whole table.
"""

import heapq
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import and_, bindparam, func, or_, select, tuple_
from sqlalchemy.orm import selectinload

from models.audit import AuditEvent
from models.base import db
from models.catalog.products import Supplier
from models.catalog.sales import Channel
from models.intake.tables import ChannelNews
from models.orders.listing import Cursor
from models.orders.tables import Order, OrderLine
from models.shipping.tables import Parcel
from models.small_tables import cached, watch
from models.status import (
    CONFIRMATION_INFO,
    SHIPPING_INFO,
    SUPPLIER_INFO,
    Confirmation,
    News,
    SupplierStatus,
)

from .tables import ShippingMapping, SupplierOrder

S = SupplierStatus
PAGE_SIZE = 50
# The Orders screen: what needs work, by tab.
TABS = {
    "process": (S.PENDING.value,),
    "errors": (S.ERROR.value,),
    "progress": (S.SUBMITTED.value, S.ACCEPTED.value),
}
# Order History: supplier orders by outcome ("all": any status).
OUTCOMES = {
    "all": (),
    "processed": (S.SUBMITTED.value, S.ACCEPTED.value),
    "failed": (S.ERROR.value,),
    "shipped": (S.SHIPPED.value,),
    "canceled": (S.CANCELED.value,),
}
OPEN = (S.PENDING.value, S.ERROR.value, S.SUBMITTED.value, S.ACCEPTED.value)


@dataclass(frozen=True)
class Filters:
    """What a list is narrowed to; empty statuses and None mean "any"."""

    statuses: tuple[str, ...] = ()
    supplier_id: int | None = None
    channel_id: int | None = None
    order_id: int | None = None
    created_from: datetime | None = None  # UTC, inclusive
    created_to: datetime | None = None  # UTC, exclusive
    before: Cursor | None = None


@dataclass
class Page:
    """One page of (supplier order, order currency) and the cursor of the next page."""

    rows: list[tuple[SupplierOrder, str]]
    next_cursor: Cursor | None


# What an Order History row shows: read as plain rows (no ORM objects, no join), since the
# page is read all day and at any size.
HISTORY_COLUMNS = tuple(SupplierOrder.__table__.c[name] for name in (
    "id", "order_id", "created_at", "supplier_id", "channel_id", "status", "supplier_ref",
    "tracking_number", "carrier_name", "cost_cents", "error", "cancel_reason",
    "manual_follow_up", "last_error"))


def page_query(f: Filters, status: str | None, limit: int, with_lines: bool = False,
               columns: tuple | None = None):
    """The page query for one status (or any): filters, cursor, newest first.

    With `columns`, plain rows of those columns; else (supplier order, order currency).
    """
    so = SupplierOrder
    query = (select(*columns) if columns else
             select(so, Order.currency).join(Order, Order.id == so.order_id))
    conditions = {so.status: status, so.supplier_id: f.supplier_id,
                  so.channel_id: f.channel_id, so.order_id: f.order_id}
    for column, value in conditions.items():
        if value is not None:
            query = query.where(column == value)
    if f.created_from is not None:
        query = query.where(so.created_at >= f.created_from)
    if f.created_to is not None:
        query = query.where(so.created_at < f.created_to)
    if f.before is not None:
        query = query.where(tuple_(so.created_at, so.id) < (f.before.created_at, f.before.id))
    if with_lines:
        query = query.options(selectinload(so.lines))
    # A literal LIMIT: PostgreSQL can then reuse one plan for every page of a filter.
    return query.order_by(so.created_at.desc(), so.id.desc()).limit(
        bindparam("page_limit", limit, literal_execute=True))


def list_supplier_orders(f: Filters, limit: int = PAGE_SIZE, *, with_lines: bool = False) -> Page:
    """The page after f.before (or the newest), newest first, over every status asked for."""
    parts = [db.session.execute(page_query(f, status, limit + 1, with_lines)).all()
             for status in (f.statuses or (None,))]
    newest_first = heapq.merge(*parts, key=lambda row: (row[0].created_at, row[0].id),
                               reverse=True)
    rows = [row for _n, row in zip(range(limit + 1), newest_first, strict=False)]
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1][0] if more else None
    return Page(rows, Cursor(last.created_at, last.id) if last else None)


def history_page(f: Filters, limit: int = PAGE_SIZE) -> Page:
    """An Order History page: plain rows (HISTORY_COLUMNS), newest first, and the next cursor."""
    parts = [db.session.execute(page_query(f, status, limit + 1, columns=HISTORY_COLUMNS)).all()
             for status in (f.statuses or (None,))]
    newest_first = heapq.merge(*parts, key=lambda row: (row.created_at, row.id), reverse=True)
    rows = [row for _n, row in zip(range(limit + 1), newest_first, strict=False)]
    last = rows[limit - 1] if len(rows) > limit else None
    return Page(rows[:limit], Cursor(last.created_at, last.id) if last else None)


def tab_counts(supplier_id: int | None = None, channel_id: int | None = None,
               order_id: int | None = None) -> dict[str, int]:
    """How many supplier orders each Orders tab holds (open statuses only, never the table)."""
    query = select(SupplierOrder.status, func.count()).where(SupplierOrder.status.in_(OPEN))
    for column, value in ((SupplierOrder.supplier_id, supplier_id),
                          (SupplierOrder.channel_id, channel_id),
                          (SupplierOrder.order_id, order_id)):
        if value is not None:
            query = query.where(column == value)
    by_status = dict(db.session.execute(query.group_by(SupplierOrder.status)).all())
    return {tab: sum(by_status.get(s, 0) for s in statuses) for tab, statuses in TABS.items()}


def load_supplier_order(so_id: int) -> SupplierOrder | None:
    """One supplier order with its lines, its supplier and its order, as stored now."""
    return db.session.scalar(
        select(SupplierOrder).where(SupplierOrder.id == so_id)
        .options(selectinload(SupplierOrder.lines), selectinload(SupplierOrder.supplier),
                 selectinload(SupplierOrder.order))
        .execution_options(populate_existing=True))


def load_many(ids: list[int]) -> list[SupplierOrder]:
    """These supplier orders (those that exist) with lines, supplier and order, in the order
    given."""
    found = {so.id: so for so in db.session.scalars(
        select(SupplierOrder).where(SupplierOrder.id.in_(ids))
        .options(selectinload(SupplierOrder.lines), selectinload(SupplierOrder.supplier),
                 selectinload(SupplierOrder.order)))}
    return [found[i] for i in ids if i in found]


# ---- names ------------------------------------------------------------------------------


def supplier_names() -> dict[int, str]:
    """Supplier names by id (cached for a few seconds per process)."""
    return cached("supplier_names", lambda: dict(
        db.session.execute(select(Supplier.id, Supplier.name).order_by(Supplier.name)).all()))


def channel_names() -> dict[int, str]:
    """Channel names by id, by name (cached for a few seconds per process)."""
    return cached("dropship_channel_names", lambda: dict(
        db.session.execute(select(Channel.id, Channel.name).order_by(Channel.name)).all()))


watch(Supplier, Channel)


def shipping_methods(supplier: Supplier) -> list[str]:
    """The supplier's known methods: its default, then those its mappings name."""
    mapped = db.session.scalars(select(ShippingMapping.method).distinct()
                                .where(ShippingMapping.supplier_id == supplier.id))
    methods = [supplier.default_shipping_method] if supplier.default_shipping_method else []
    return list(dict.fromkeys(methods + sorted(m for m in mapped if m)))


# ---- a bulk Process -----------------------------------------------------------------------


@dataclass
class Batch:
    """Where a bulk Process stands: its rows, how many the jobs are done with."""

    rows: list[SupplierOrder]

    @property
    def total(self) -> int:
        """Rows queued by the bulk Process (still in its batch)."""
        return len(self.rows)

    @property
    def done(self) -> int:
        """Rows no longer waiting in the queue (submitted, answered, in error...)."""
        return sum(1 for so in self.rows if not waiting(so))

    @property
    def finished(self) -> bool:
        """Nothing of the batch waits any more."""
        return self.done == self.total


def waiting(so: SupplierOrder) -> bool:
    """Queued for its supplier's job and not taken yet."""
    return so.status == S.PENDING and so.process_requested_at is not None


def batch_progress(batch: str) -> Batch:
    """The rows of one bulk Process as they are now (ix_supplier_orders_batch)."""
    return Batch(list(db.session.scalars(
        select(SupplierOrder).where(SupplierOrder.batch == batch).order_by(SupplierOrder.id)
        .execution_options(populate_existing=True))))


# ---- the order page and the suppliers list --------------------------------------------------


@dataclass(frozen=True)
class OrderSupplierOrder:
    """One supplier order on its order's page, with the parcel its tracking number opened."""

    so: SupplierOrder
    parcel: Parcel | None


def supplier_orders_of(order_id: int) -> list[OrderSupplierOrder]:
    """An order's supplier orders (lines, supplier) and their parcels, by supplier order id."""
    orders = db.session.scalars(
        select(SupplierOrder).where(SupplierOrder.order_id == order_id)
        .options(selectinload(SupplierOrder.lines), selectinload(SupplierOrder.supplier))
        .order_by(SupplierOrder.id)).all()
    if not orders:
        return []
    parcels = {p.supplier_order_id: p for p in db.session.scalars(
        select(Parcel).where(Parcel.order_id == order_id, Parcel.supplier_order_id.is_not(None))
        .options(selectinload(Parcel.carrier)))}
    return [OrderSupplierOrder(so, parcels.get(so.id)) for so in orders]


def waiting_by_supplier() -> dict[int, int]:
    """Per supplier, its supplier orders waiting for Process or a Resolve."""
    rows = db.session.execute(
        select(SupplierOrder.supplier_id, func.count())
        .where(SupplierOrder.status.in_((S.PENDING.value, S.ERROR.value)))
        .group_by(SupplierOrder.supplier_id))
    return dict(rows.all())


# ---- one SKU's trail ------------------------------------------------------------------------


@dataclass(frozen=True)
class TrailEntry:
    """One thing that happened to a line, as the trail shows it."""

    at: datetime
    actor: str
    kind: str  # import, routing, edit, supplier, confirmation, shipping, news
    what: str
    note: str = ""


# Events about the whole order that belong in every line's trail.
_ORDER_KINDS = ("import", "shipping")


def _label(info: dict, value: str | None) -> str:
    """A status value as people read it."""
    return info[value].label if value in info else (value or "")


def _what(event: AuditEvent, channel: str) -> str:
    """An audit event in words."""
    src, dst = event.from_value, event.to_value
    if event.kind == "import":
        return _("Pulled in from %(channel)s", channel=channel)
    if event.kind == "confirmation":
        return _("Order %(status)s", status=_label(CONFIRMATION_INFO, dst))
    if event.kind == "shipping":
        if not src:
            return _("Shipping opened: %(status)s", status=_label(SHIPPING_INFO, dst))
        return _("Shipping %(old)s → %(new)s", old=_label(SHIPPING_INFO, src),
                 new=_label(SHIPPING_INFO, dst))
    if event.kind == "supplier":
        if src and dst:
            return _("Supplier order %(old)s → %(new)s", old=_label(SUPPLIER_INFO, src),
                     new=_label(SUPPLIER_INFO, dst))
        if dst:
            return _("Supplier order %(status)s", status=_label(SUPPLIER_INFO, dst))
        return _("Supplier order")
    if event.kind == "routing":
        nowhere = _("nowhere")
        return _("Routed %(old)s → %(new)s", old=src or nowhere, new=dst or nowhere)
    if event.kind == "edit":
        return _("Edited: %(old)s → %(new)s", old=src, new=dst) if src or dst else _("Edited")
    return event.kind.capitalize() + (f": {src or ''} → {dst or ''}" if src or dst else "")


def _news(news: ChannelNews, channel: str) -> list[TrailEntry]:
    """What the channel was told about the order shipping (the push job's record)."""
    owed = (_("Shipped: %(channel)s is owed the news (waiting for a tracking code)",
              channel=channel) if news.state == News.WAITING
            else _("Shipped: %(channel)s is owed the news", channel=channel))
    entries = [TrailEntry(news.shipped_at, "system", "news", owed)]
    actor = f"channel:{channel}"
    if news.sent_at is not None:
        entries.append(TrailEntry(news.sent_at, actor, "news", _pushed(news, channel)))
    elif news.last_error:
        entries.append(TrailEntry(news.shipped_at, actor, "news",
                                  ngettext("Push to %(channel)s failed after %(num)d attempt; "
                                           "it is tried again by itself",
                                           "Push to %(channel)s failed after %(num)d "
                                           "attempts; it is tried again by itself",
                                           news.attempts, channel=channel),
                                  news.last_error))
    return entries


def _pushed(news: ChannelNews, channel: str) -> str:
    """What the channel was told when the shipping news went out."""
    if not news.tracking_number:
        return _("Pushed back to %(channel)s: shipped, without a tracking code", channel=channel)
    if news.carrier_name:
        return _("Pushed back to %(channel)s: shipped, tracking %(tracking)s (%(carrier)s)",
                 channel=channel, tracking=news.tracking_number, carrier=news.carrier_name)
    return _("Pushed back to %(channel)s: shipped, tracking %(tracking)s", channel=channel,
             tracking=news.tracking_number)


def line_trail(line: OrderLine) -> list[TrailEntry]:
    """One order line's story, oldest first: arrival, routing, edits, supplier, shipping, news.

    One query on ix_audit_events_order_created reads the order's events; those naming
    another line, and the order's other kinds (calls, claims), are left out.
    """
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.order_id == line.order_id,
            or_(AuditEvent.order_line_id == line.id,
                and_(AuditEvent.order_line_id.is_(None),
                     or_(AuditEvent.kind.in_(_ORDER_KINDS),
                         and_(AuditEvent.kind == "confirmation",
                              AuditEvent.to_value == Confirmation.CONFIRMED.value)))))
        .order_by(AuditEvent.created_at, AuditEvent.id))
    channel_id = db.session.scalar(select(Order.channel_id).where(Order.id == line.order_id))
    channel = channel_names().get(channel_id, "the channel")
    entries = [TrailEntry(e.created_at, e.actor_name, e.kind, _what(e, channel),
                          "" if e.note == f"from {channel}" else e.note or "")
               for e in events]
    news = db.session.get(ChannelNews, line.order_id)
    if news is not None:
        entries += _news(news, channel)
    entries.sort(key=lambda e: e.at)  # stable: events keep their recorded order
    return entries


__all__ = [
    "OUTCOMES", "PAGE_SIZE", "TABS", "Batch", "Filters", "OrderSupplierOrder", "Page",
    "TrailEntry", "batch_progress", "history_page", "HISTORY_COLUMNS",
    "channel_names", "line_trail", "list_supplier_orders", "load_many", "load_supplier_order",
    "shipping_methods", "supplier_names", "supplier_orders_of", "tab_counts",
    "waiting", "waiting_by_supplier",
]
