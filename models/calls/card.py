"""What the agent sees about the order on the phone, read in three plain queries."""

from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select

from models.audit import AuditEvent
from models.base import db, utcnow
from models.catalog.sales import Channel
from models.orders.tables import Order, OrderLine
from models.phones import is_valid_phone
from models.small_tables import cached, watch
from models.status import Confirmation, Shipping

ORDERS, LINES, AUDIT = Order.__table__, OrderLine.__table__, AuditEvent.__table__
DUPLICATE_WINDOW = timedelta(days=7)
FINISHED_SHIPPING = frozenset({Shipping.DELIVERED, Shipping.RETURNED, Shipping.CANCELED})
NOT_DUPLICATES = frozenset({Confirmation.CANCELED, Confirmation.FAKE})
# Orders from one phone read for the flags; a number shared by more is counted apart.
SAME_PHONE_LIMIT = 100

# The order columns a card (and the outcome that follows it) needs.
CARD_COLUMNS = tuple(ORDERS.c[name] for name in (
    "id", "version", "customer_name", "phone", "phone_normalized", "address", "city",
    "channel_id", "external_id", "confirmation_status", "shipping_status", "delivery_mode",
    "attempts", "cod_amount_cents", "currency", "created_at", "claimed_by_id", "claimed_at",
))
LINE_COLUMNS = tuple(LINES.c[name] for name in (
    "id", "sku", "name", "quantity", "unit_price_cents", "product_id", "warehouse_id",
    "supplier_id",
))

_ORDER_ROW = namedtuple("OrderRow", [c.name for c in CARD_COLUMNS])
_LINE_ROW = namedtuple("LineRow", [c.name for c in LINE_COLUMNS])
_LINES = select(*LINE_COLUMNS).where(LINES.c.order_id == bindparam("order_id")).order_by(
    LINES.c.id)
_ATTEMPTS = (
    select(AUDIT.c.created_at, AUDIT.c.actor_name, AUDIT.c.to_value, AUDIT.c.note)
    .where(AUDIT.c.order_id == bindparam("order_id"), AUDIT.c.kind == "confirmation")
    .order_by(AUDIT.c.created_at.desc(), AUDIT.c.id.desc())
)
_SAME_PHONE = (
    select(ORDERS.c.id, ORDERS.c.created_at, ORDERS.c.confirmation_status,
           ORDERS.c.shipping_status)
    .where(ORDERS.c.phone_normalized == bindparam("phone"),
           ORDERS.c.id != bindparam("order_id"))
    .order_by(ORDERS.c.created_at.desc()).limit(SAME_PHONE_LIMIT)
)
_FAKES = select(func.count()).where(
    ORDERS.c.phone_normalized == bindparam("phone"), ORDERS.c.id != bindparam("order_id"),
    ORDERS.c.confirmation_status == Confirmation.FAKE)


_ORDER_AND_LINES = (
    select(*CARD_COLUMNS, *(c.label(f"line_{c.name}") for c in LINE_COLUMNS))
    .outerjoin(LINES, LINES.c.order_id == ORDERS.c.id)
    .where(ORDERS.c.id == bindparam("order_id")).order_by(LINES.c.id)
)


def order_with_lines(order_id: int) -> tuple:
    """(order row or None, its line rows) in one query."""
    rows = db.session.execute(_ORDER_AND_LINES, {"order_id": order_id}).all()
    if not rows:
        return None, []
    width = len(CARD_COLUMNS)
    order = _ORDER_ROW(*rows[0][:width])
    lines = [_LINE_ROW(*row[width:]) for row in rows if row[width] is not None]
    return order, lines


def order_lines(order_id: int) -> list:
    """The order's lines as plain rows, in entry order."""
    return list(db.session.execute(_LINES, {"order_id": order_id}))


def channel_names() -> dict[int, str]:
    """Channel names by id (cached for a few seconds per process)."""
    return cached("channel_names", lambda: dict(
        db.session.execute(select(Channel.id, Channel.name)).all()))


watch(Channel)


@dataclass
class CallCard:
    """Everything the agent sees about the order on the phone."""

    order: object  # a row of CARD_COLUMNS (or an Order)
    channel_name: str
    lines: list
    attempts: list
    duplicates: list
    fake_count: int
    phone_valid: bool
    waited: timedelta


def call_card(order, now: datetime | None = None) -> CallCard:
    """The card for an order: lines, earlier attempts and the duplicate / fake flags."""
    now = now or utcnow()
    key = {"order_id": order.id, "phone": order.phone_normalized}
    attempts = list(db.session.execute(_ATTEMPTS, key))
    history = phone_history(order.phone_normalized, order.id, now)
    return CallCard(order, channel_names().get(order.channel_id, ""), order_lines(order.id),
                    attempts, history.duplicates, history.fake_count,
                    is_valid_phone(order.phone_normalized), now - order.created_at)


@dataclass
class PhoneHistory:
    """The other orders from one phone number, and what they say about the customer."""

    orders: list  # newest first, at most SAME_PHONE_LIMIT
    duplicates: list  # recent and still open: possibly the same order twice
    fake_count: int


def phone_history(phone: str, order_id: int = 0, now: datetime | None = None) -> PhoneHistory:
    """Orders with this normalised phone other than `order_id` (0: a number not saved yet)."""
    if not phone:
        return PhoneHistory([], [], 0)
    key = {"order_id": order_id, "phone": phone}
    same = list(db.session.execute(_SAME_PHONE, key))
    since = (now or utcnow()) - DUPLICATE_WINDOW
    duplicates = [o for o in same if o.created_at >= since
                  and o.confirmation_status not in NOT_DUPLICATES
                  and o.shipping_status not in FINISHED_SHIPPING]
    fakes = sum(o.confirmation_status == Confirmation.FAKE for o in same)
    if len(same) == SAME_PHONE_LIMIT:
        fakes = db.session.scalar(_FAKES, key)
    return PhoneHistory(same, duplicates, fakes)
