"""Carrier events applied in bulk: the carriers' way through the one door.

A sync page or a webhook batch brings hundreds or thousands of events. Each is
checked by the door's own `plan_shipping` (table, actor) on plain rows, in carrier
time order per parcel, and the batch is written set-based: the timeline rows, the
orders' new shipping status, audit events and counters by the door's one writer
(write_shipping: one version-guarded UPDATE for the whole batch), and the parcels' last
news, in the caller's transaction.
Carriers never make a move with a stock effect (Returned is the operator's), so this
path writes no stock.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Integer, String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from models.actor import Actor
from models.audit import audit_row
from models.base import db, utcnow
from models.bulk import insert_rows, update_rows
from models.errors import DomainError
from models.orders.operations import ShippingWrite, plan_shipping, write_shipping
from models.orders.tables import Order
from models.status import SHIPPING_EFFECTS, Effect, Shipping

from .tables import (
    APPLIED,
    IGNORED,
    NO_CHANGE,
    REFUSED,
    STALE,
    UNMAPPED,
    Parcel,
    ParcelEvent,
)

# Once here, no carrier can move the parcel again (In return → Returned is the
# operator's move when it is back): the sync stops asking about it.
FINAL_FOR_CARRIER = frozenset({Shipping.IN_RETURN, Shipping.RETURNED, Shipping.CANCELED})
CHUNK = 2000


@dataclass
class Applied:
    """What a batch of carrier events did, by outcome."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unknown: set[str] = field(default_factory=set)  # tracking numbers we have no parcel for
    # Orders that reached Shipped: their channel is due a tracking push.
    push_tracking: list[int] = field(default_factory=list)
    changed_orders: set[int] = field(default_factory=set)

    def summary(self) -> str:
        """One line for a job result or a webhook row."""
        parts = [f"{n} {k}" for k, n in sorted(self.counts.items()) if n]
        if self.unknown:
            parts.append(f"{len(self.unknown)} unknown tracking number(s)")
        return ", ".join(parts) or "nothing new"


@dataclass
class _State:
    """One parcel and its order as the batch sees them, updated as events apply."""

    parcel_id: int
    order_id: int
    id: int  # the order's id, for the door's messages
    channel_id: int
    confirmation_status: str
    shipping_status: str | None
    delivery_mode: str
    version: int
    last_event_at: datetime | None
    final: bool
    claimed_by_id: None = None
    start_status: str | None = None
    # False for a supplier's parcel beside the order's own: followed, never moves the order.
    leads: bool = True
    latest: object = None  # newest non-stale event: the parcel's "last raw status"
    moved: list = field(default_factory=list)
    audits: list = field(default_factory=list)


def _covering(column, values: list, type_):
    """WHERE clauses that together cover `values`: one array parameter per 50,000 on
    PostgreSQL (one plan, one round trip), IN lists of 2,000 elsewhere (SQLite's limit)."""
    if db.session.get_bind().dialect.name == "postgresql":
        for start in range(0, len(values), 50_000):
            chunk = values[start:start + 50_000]
            yield column == any_(bindparam(None, chunk, type_=ARRAY(type_)))
        return
    for start in range(0, len(values), CHUNK):
        yield column.in_(values[start:start + CHUNK])


def _load(carrier_id: int, numbers: list[str]) -> dict[str, _State]:
    """Parcels of this carrier with these tracking numbers, with their orders' statuses."""
    found = {}
    for clause in _covering(Parcel.tracking_number, numbers, String):
        rows = db.session.execute(
            select(Parcel.tracking_number, Parcel.id, Parcel.order_id, Order.channel_id,
                   Order.confirmation_status, Order.shipping_status, Order.delivery_mode,
                   Order.version, Parcel.last_event_at, Parcel.final, Parcel.leads)
            .join(Order, Order.id == Parcel.order_id)
            .where(Parcel.carrier_id == carrier_id, clause)
        ).all()
        for tn, pid, oid, channel, conf, ship, mode, version, last, final, leads in rows:
            found[tn] = _State(pid, oid, oid, channel, conf, ship, mode, version, last, final,
                               start_status=ship, leads=leads)
    return found


def _known_keys(parcel_ids: list[int]) -> set[tuple[int, str]]:
    """(parcel, dedupe key) of the events already on these timelines."""
    keys = set()
    for clause in _covering(ParcelEvent.parcel_id, parcel_ids, Integer):
        keys.update(db.session.execute(
            select(ParcelEvent.parcel_id, ParcelEvent.dedupe_key).where(clause)).all())
    return keys


def apply_carrier_events(
    carrier_id: int, carrier_code: str, events: Iterable, *, source: str,
    map_status: Callable[[str, str], str | None], now: datetime | None = None,
) -> Applied:
    """Record every new event on its parcel's timeline and apply those the table allows.

    `events` are TrackingEvent-like (tracking_number, occurred_at, code, text, location,
    dedupe_key()). Repeats of stored events are skipped; an event older than the last
    applied one is recorded as stale; unmapped and ignored statuses are recorded with the
    reason; a move the table refuses is recorded with the door's message. Flushes; the
    caller commits. Raises Conflict when an order changed underneath (retry the batch).
    """
    now = now or utcnow()
    actor = Actor.carrier(carrier_code)
    result = Applied()
    by_number: dict[str, list] = defaultdict(list)
    for event in events:
        by_number[event.tracking_number].append(event)
    states = _load(carrier_id, list(by_number))
    result.unknown = set(by_number) - set(states)
    result.counts["unknown_parcel"] = sum(len(by_number[n]) for n in result.unknown)
    known = _known_keys([s.parcel_id for s in states.values()])

    timeline = []
    for number, state in states.items():
        seen = set()
        for event in sorted(by_number[number], key=lambda e: e.occurred_at):
            key = event.dedupe_key()
            if (state.parcel_id, key) in known or key in seen:
                result.counts["duplicate"] += 1
                continue
            seen.add(key)
            outcome, maps_to, reason = _decide(state, event, actor, map_status, now)
            result.counts[outcome] += 1
            timeline.append({
                "parcel_id": state.parcel_id, "carrier_id": carrier_id,
                "occurred_at": event.occurred_at, "received_at": now, "source": source,
                "raw_code": (event.code or "")[:64], "raw_text": (event.text or "")[:255],
                "location": (event.location or "")[:120], "maps_to": maps_to,
                "outcome": outcome, "reason": reason[:255], "dedupe_key": key,
            })
    _write(states, timeline, result, now)
    return result


def _decide(state: _State, event, actor: Actor, map_status, now):
    """(outcome, maps_to, reason) for one new event; applies it to the state when allowed."""
    if state.last_event_at is not None and event.occurred_at < state.last_event_at:
        last = f"{state.last_event_at:%Y-%m-%d %H:%M:%S}"
        return STALE, None, f"older than the last applied event ({last} UTC)"
    state.latest = event
    maps_to = map_status(event.code, event.text)
    if maps_to is None:
        return UNMAPPED, None, f"no mapping for “{event.code}”; add one in the carrier's settings"
    if maps_to == "ignore":
        return IGNORED, None, "mapped to ignore"
    if not state.leads:
        state.last_event_at = event.occurred_at
        state.final = maps_to in FINAL_FOR_CARRIER or maps_to == Shipping.DELIVERED
        return NO_CHANGE, maps_to, ("a supplier's parcel beside the order's own: shown with "
                                    "its supplier order")
    try:
        dst = plan_shipping(state, maps_to, actor)
    except DomainError as refused:
        return REFUSED, maps_to, refused.message
    state.last_event_at = event.occurred_at
    if dst is None:
        return NO_CHANGE, maps_to, "already in that status"
    # The table never lets a carrier make a move with a stock effect.
    assert Effect.RESTOCK not in SHIPPING_EFFECTS.get(dst, ())
    note = f"{event.code}: {event.text}".strip(": ")[:1000]
    state.audits.append(audit_row(state.order_id, actor, "shipping", state.shipping_status,
                                  dst.value, note, now))
    state.moved.append((state.shipping_status, dst.value))
    state.shipping_status = dst.value
    state.final = dst in FINAL_FOR_CARRIER
    return APPLIED, maps_to, ""


def _write(states: dict[str, _State], timeline: list, result: Applied, now: datetime) -> None:
    """Write the batch set-based: timeline, orders, audit trail, counters, parcels."""
    insert_rows(ParcelEvent.__table__, timeline)
    moved = [s for s in states.values() if s.moved]
    if moved:
        write_shipping([ShippingWrite(s.order_id, s.channel_id, s.confirmation_status,
                                      s.version, s.start_status, s.shipping_status, s.audits)
                        for s in moved], now)
        result.changed_orders = {s.order_id for s in moved}
        result.push_tracking = [s.order_id for s in moved
                                if any(dst == Shipping.SHIPPED for _src, dst in s.moved)]
    news = [s for s in states.values() if s.latest is not None]
    update_rows(Parcel.__table__, [
        {"id": s.parcel_id, "carrier_status": (s.latest.code or "")[:64],
         "carrier_status_text": (s.latest.text or "")[:255],
         "last_event_at": s.last_event_at, "final": s.final, "updated_at": now}
        for s in news])
    _forget_parcels({s.parcel_id for s in news})


def _forget_parcels(parcel_ids: set[int]) -> None:
    """Parcels this session loaded earlier are stale after the plain UPDATE."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Parcel) and obj.id in parcel_ids:
            db.session.expire(obj)
