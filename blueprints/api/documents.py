"""The API's reads: a channel's orders as documents, one by id or a page of changes.

Plain column reads (no ORM entities): one query for the orders, one for their lines.
"""

from datetime import timedelta

from sqlalchemy import select, tuple_

from models.base import db, utcnow
from models.catalog.sales import Carrier
from models.intake.api_keys import ApiCaller
from models.orders.tables import Order, OrderLine

from . import schemas

# A change is listed only once it is this old. updated_at is stamped when a writer
# flushes, not when it commits: a slow transaction could commit a time older than a
# page already read, and a cursor past it would skip that order for good.
SETTLE = timedelta(seconds=5)

COLUMNS = (Order.id, Order.external_id, Order.customer_name, Order.phone, Order.address,
           Order.city, Order.region, Order.cod_amount_cents, Order.currency, Order.paid,
           Order.confirmation_status, Order.shipping_status, Order.push_status,
           Order.tracking_number, Carrier.name.label("carrier"), Order.created_at,
           Order.updated_at)


def find_order(caller: ApiCaller, order_id: int) -> schemas.Order | None:
    """The caller's channel's order with this id, or None (also for another channel's)."""
    if not 0 < order_id <= schemas.MAX_ID:
        return None
    rows = db.session.execute(_select().where(
        Order.id == order_id, Order.channel_id == caller.channel_id)).all()
    return _documents(caller, rows)[0] if rows else None


def order_page(caller: ApiCaller, query: schemas.OrderQuery) -> schemas.OrderPage:
    """The next page of the channel's orders by (updated_at, id), and the cursor after it."""
    statement = _select().where(Order.channel_id == caller.channel_id,
                                Order.updated_at <= utcnow() - SETTLE)
    if query.confirmation is not None:
        statement = statement.where(Order.confirmation_status == query.confirmation.value)
    if query.shipping is not None:
        statement = statement.where(Order.shipping_status == query.shipping.value)
    if query.updated_since is not None:
        statement = statement.where(Order.updated_at >= query.updated_since)
    if query.cursor is not None:
        statement = statement.where(tuple_(Order.updated_at, Order.id) > query.cursor)
    statement = statement.order_by(Order.updated_at, Order.id).limit(query.limit + 1)
    rows = db.session.execute(statement).all()
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    return schemas.OrderPage(
        orders=_documents(caller, rows),
        next_cursor=schemas.cursor(rows[-1].updated_at, rows[-1].id) if more else None)


def _select():
    """The document's columns, with the carrier's name."""
    return select(*COLUMNS).outerjoin(Carrier, Carrier.id == Order.carrier_id)


def _documents(caller: ApiCaller, rows) -> list[schemas.Order]:
    """The order rows as documents, each with its lines (one query)."""
    if not rows:
        return []
    lines: dict[int, list[schemas.Line]] = {row.id: [] for row in rows}
    for order_id, sku, name, quantity, price in db.session.execute(
            select(OrderLine.order_id, OrderLine.sku, OrderLine.name, OrderLine.quantity,
                   OrderLine.unit_price_cents)
            .where(OrderLine.order_id.in_(lines)).order_by(OrderLine.order_id, OrderLine.id)):
        lines[order_id].append(schemas.Line(sku=sku, name=name, quantity=quantity,
                                            unit_price=schemas.amount_text(price)))
    return [_document(caller, row, lines[row.id]) for row in rows]


def _document(caller: ApiCaller, row, lines: list[schemas.Line]) -> schemas.Order:
    """One order row as the API shows it."""
    return schemas.Order(
        id=row.id, external_id=row.external_id, channel=caller.channel_code,
        customer=schemas.Customer(name=row.customer_name, phone=row.phone,
                                  address=row.address, city=row.city, region=row.region),
        lines=lines, cod_amount=schemas.amount_text(row.cod_amount_cents),
        currency=row.currency, paid=row.paid, confirmation_status=row.confirmation_status,
        shipping_status=row.shipping_status, push_status=row.push_status,
        tracking_number=row.tracking_number, carrier=row.carrier,
        created_at=schemas.timestamp(row.created_at),
        updated_at=schemas.timestamp(row.updated_at))
