"""The intake door: every new order (manual, CSV, API, channel) is created here.

Set-based for any batch size: one query for the keys already known, the catalogue and
the routing data loaded once, then the orders, their lines and their audit events
inserted in bulk (COPY on PostgreSQL for big batches). Idempotent on (channel,
external id): a key seen before returns the existing order and writes nothing.
The caller commits.
"""

from dataclasses import dataclass, field

from sqlalchemy import select

from models.actor import Actor
from models.audit import AuditEvent
from models.base import db, utcnow
from models.boards.rollups import apply as roll
from models.boards.rollups import facts_for
from models.bulk import insert_new_rows, insert_rows
from models.catalog.sales import Carrier, Channel
from models.errors import DomainError
from models.orders.counters import count_arrivals
from models.orders.operations import change_confirmation, expire_order
from models.orders.tables import Order, OrderLine
from models.phones import normalize_phone
from models.settings import CallSettings
from models.small_tables import cached
from models.status import Confirmation, DeliveryMode, PushStatus

from .forwarding import hold_order
from .incoming import Catalogue, IncomingOrder, Problem, check_order
from .routing import Router

ORDERS, LINES = Order.__table__, OrderLine.__table__
# shown translated: models/stored_text.py
SOURCES = {"manual": "entered by hand", "csv": "CSV upload", "api": "JSON API"}
KEY_CHUNK = 1000
# shown translated: models/stored_text.py
WAITING_FOR_PAYMENT = "Waiting for the channel to say it is paid."


@dataclass
class Arrival:
    """What became of one incoming order."""

    external_id: str
    order_id: int | None = None
    created: bool = False
    problems: list[Problem] = field(default_factory=list)


def existing_orders(channel_id: int, external_ids) -> dict[str, int]:
    """The orders a channel already sent, by external id."""
    keys = sorted({k for k in external_ids if k})
    found = {}
    for start in range(0, len(keys), KEY_CHUNK):
        found.update(db.session.execute(
            select(ORDERS.c.external_id, ORDERS.c.id).where(
                ORDERS.c.channel_id == channel_id,
                ORDERS.c.external_id.in_(keys[start:start + KEY_CHUNK]))).all())
    return found


def push_decision(channel: Channel, order: IncomingOrder, problems: list[Problem],
                  catalogue: Catalogue) -> tuple[str, str]:
    """Whether an arriving order goes on to confirmation, by the channel's forwarding
    settings, and why not: (push status, detail)."""
    # shown translated: models/stored_text.py
    if channel.forwarding == "off":
        return PushStatus.NOT_SENT, "Forwarding is off for this channel: send it by hand."
    unknown = [line.sku for line in order.lines if line.sku not in catalogue.items]
    if channel.forwarding == "managed" and unknown:
        return PushStatus.NOT_SENT, _clip(
            f"Not every product is managed here ({', '.join(unknown)}).")
    if problems:
        return PushStatus.ERROR, _clip(" ".join(p.message for p in problems))
    if channel.forward_when == "paid" and not order.paid:
        return PushStatus.NOT_SENT, WAITING_FOR_PAYMENT
    return PushStatus.SENT, ""


def create_orders(channel: Channel, incoming: list[IncomingOrder], actor: Actor, *,
                  source: str, strict: bool = True, region: str | None = None) -> list[Arrival]:
    """Create the orders not seen before; one Arrival per incoming order, in order.

    strict: an order with problems is refused (its Arrival lists them); otherwise (a
    channel's own orders, which must not be lost) it is created and held with push
    status error and the problems as detail.
    """
    region = region or CallSettings.load().phone_region
    arrivals = [Arrival((o.external_id or "").strip()) for o in incoming]
    known = existing_orders(channel.id, (a.external_id for a in arrivals))
    catalogue = Catalogue.load(line.sku.strip() for o in incoming for line in o.lines)
    fresh, taken = [], set()
    for arrival, order in zip(arrivals, incoming, strict=True):
        key = arrival.external_id
        if key in known or key in taken:
            continue  # known: resolved below, like a duplicate inside this batch
        problems = check_order(order, catalogue, region)
        if problems and (strict or not key):
            arrival.problems = problems
            continue
        taken.add(key)
        fresh.append((arrival, order, problems))
    created = _insert(channel, fresh, catalogue, actor, source, region)
    # Duplicates inside the batch and keys a concurrent import took: their ids, once.
    known.update(existing_orders(channel.id, (
        a.external_id for a in arrivals
        if a.order_id is None and not a.problems and a.external_id not in known)))
    for arrival in arrivals:
        if arrival.order_id is None and not arrival.problems:
            arrival.order_id = known.get(arrival.external_id)
    _confirm_prepaid(channel, created)
    return arrivals


def _insert(channel: Channel, fresh: list, catalogue: Catalogue, actor: Actor,
            source: str, region: str) -> list[int]:
    """Insert the new orders, their routed lines and audit events; return the new ids."""
    if not fresh:
        return []
    now = utcnow()
    mode = _delivery_mode(channel.default_carrier_id)
    rows = []
    for _arrival, order, problems in fresh:
        push, detail = push_decision(channel, order, problems, catalogue)
        rows.append(_order_row(channel, order, push, detail, mode, region, now))
    ids = insert_new_rows(ORDERS, rows, conflict=("channel_id", "external_id"),
                          key="external_id")
    router = Router.load({item.product_id for item in catalogue.items.values()})
    lines, events, made = [], [], []
    # shown translated: models/stored_text.py
    note = SOURCES.get(source, f"from {channel.name}")
    for arrival, order, _problems in fresh:
        order_id = ids.get(arrival.external_id)
        if order_id is None:
            continue  # a concurrent import took this key first: reported as existing
        arrival.order_id, arrival.created = order_id, True
        made.append(order_id)
        lines += _line_rows(router, channel.id, order_id, order, catalogue)
        events.append(_audit(order_id, actor, note, now))
    insert_rows(LINES, lines)
    insert_rows(AuditEvent.__table__, events)
    count_arrivals(channel.id, len(made))
    roll((None, facts) for facts in facts_for(made).values())
    return made


def _order_row(channel, order: IncomingOrder, push: str, detail: str, mode: str,
               region: str, now) -> dict:
    """The orders row for an arriving order (every column: COPY takes no defaults)."""
    return {
        "channel_id": channel.id, "external_id": order.external_id,
        "customer_name": order.customer_name, "phone": order.phone,
        "phone_normalized": normalize_phone(order.phone, region), "address": order.address,
        "city": order.city, "region": order.region,
        "cod_amount_cents": order.cod_amount_cents or 0, "currency": order.currency,
        "confirmation_status": Confirmation.NEW.value, "shipping_status": None,
        "delivery_mode": mode, "carrier_id": channel.default_carrier_id,
        "tracking_number": None, "attempts": 0, "callback_at": None, "last_attempt_at": None,
        "claimed_by_id": None, "agent_id": None, "claimed_at": None, "confirmed_at": None,
        "note": order.note, "shipping_method": order.shipping_method, "push_status": push,
        "push_detail": detail, "paid": bool(order.paid), "channel_canceled_at": None,
        "version": 1, "created_at": now, "updated_at": now,
    }


def _line_rows(router: Router, channel_id: int, order_id: int, order: IncomingOrder,
               catalogue: Catalogue) -> list[dict]:
    """The order's lines, each routed to a warehouse or a supplier."""
    items = [catalogue.items.get(line.sku) for line in order.lines]
    routes = router.route(channel_id=channel_id, city=order.city, region=order.region,
                          lines=[(item.product_id if item else None, line.quantity)
                                 for item, line in zip(items, order.lines, strict=True)])
    return [{"order_id": order_id, "product_id": item.product_id if item else None,
             "sku": line.sku, "name": line.name, "quantity": line.quantity,
             "unit_price_cents": line.unit_price_cents or 0,
             "warehouse_id": route.warehouse_id, "supplier_id": route.supplier_id,
             "routed_by": route.rule[:120]}
            for item, line, route in zip(items, order.lines, routes, strict=True)]


def _audit(order_id: int, actor: Actor, note: str, now) -> dict:
    """The arrival event every order starts its history with."""
    return {"order_id": order_id, "order_line_id": None, "sku": None,
            "actor_user_id": actor.user_id, "actor_name": actor.name, "kind": "import",
            "from_value": None, "to_value": Confirmation.NEW.value, "note": note,
            "created_at": now}


def _delivery_mode(carrier_id: int | None) -> str:
    """Local delivery when the channel's default carrier is the shop's own couriers."""
    if carrier_id is None:
        return DeliveryMode.CARRIER.value
    local = cached(f"carrier_local:{carrier_id}", lambda: db.session.scalar(
        select(Carrier.local_delivery).where(Carrier.id == carrier_id)))
    return DeliveryMode.LOCAL.value if local else DeliveryMode.CARRIER.value


def _confirm_prepaid(channel: Channel, order_ids: list[int]) -> None:
    """A prepaid channel's sent orders skip the call: the system confirms each one.

    A confirmation the stock cannot serve holds that order (push status error, with the
    shortage) instead of failing the batch.
    """
    if channel.confirm_by != "system" or not order_ids:
        return
    actor = Actor.system(f"channel:{channel.code}")
    sent = db.session.execute(select(Order).where(
        Order.id.in_(order_ids), Order.push_status == PushStatus.SENT)).scalars().all()
    for order in sent:
        confirm_by_system(order, actor)


def confirm_by_system(order: Order, actor: Actor) -> bool:
    """Confirm a prepaid order through the door, or hold it with the reason; True if confirmed."""
    try:
        with db.session.begin_nested():
            # shown translated: models/stored_text.py
            change_confirmation(order, Confirmation.CONFIRMED, actor,
                                note="prepaid: confirmed without a call")
        return True
    except DomainError as error:
        expire_order(order.id)  # the savepoint's rollback left the loaded copy behind
        hold_order(order, actor, str(error))
        return False


def _clip(text: str, limit: int = 255) -> str:
    """Shorten a detail to fit its column."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
