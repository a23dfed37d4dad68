"""What happens to a sandbox parcel over time, and how the sandbox carrier tells the shop.

A parcel follows one of three journeys once it is picked up; which events are visible
depends only on the clock, so tracking and webhooks always agree. A trouble switch in
Redis makes the carrier misbehave on request, for the tests and the demo.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from flask import current_app
from sqlalchemy import case, or_, select, update

from models.base import db, utcnow
from models.sandbox import SandboxParcel

JOURNEYS = {
    "delivered": ("PICKED_UP", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"),
    "failed_then_delivered": (
        "PICKED_UP", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERY_FAILED", "OUT_FOR_DELIVERY",
        "DELIVERED",
    ),
    "refused_return": (
        "PICKED_UP", "IN_TRANSIT", "OUT_FOR_DELIVERY", "REFUSED", "RETURN_TO_SENDER",
    ),
}
# Out of 100 seeds: 70 delivered, 15 delivered at the second attempt, 15 refused.
SHARES = (("delivered", 70), ("failed_then_delivered", 15), ("refused_return", 15))

DESCRIPTIONS = {
    "INFO_RECEIVED": "Shipment information received; waiting for the parcel",
    "PICKED_UP": "Picked up from the shipper",
    "IN_TRANSIT": "In transit to the destination hub",
    "OUT_FOR_DELIVERY": "Out for delivery",
    "DELIVERY_FAILED": "Delivery attempt failed: the customer could not be reached",
    "REFUSED": "The customer refused the parcel",
    "RETURN_TO_SENDER": "Returning to the shipper",
    "DELIVERED": "Delivered; cash collected",
    "WEATHER_HOLD": "Held at the hub because of the weather",
}
HUB = "Sandbox sorting hub"
AT_THE_CUSTOMER = {"OUT_FOR_DELIVERY", "DELIVERY_FAILED", "REFUSED", "DELIVERED"}

TROUBLE_KEY = "sandbox:carrier:misbehave"
TROUBLE_MODES = ("timeout", "500", "malformed", "duplicate", "shuffle", "unknown")
ANSWER_TROUBLE = ("timeout", "500", "malformed")  # any API call
EVENT_TROUBLE = ("duplicate", "shuffle", "unknown")  # track answers and webhook pushes
TROUBLE_TTL = 3600  # seconds: a forgotten switch does not haunt the demo forever

PUSH_TIMEOUT = 5.0  # seconds per webhook POST


@dataclass(frozen=True)
class Event:
    """One scan of a sandbox parcel."""

    tracking_number: str
    id: str
    code: str
    location: str
    at: datetime  # naive UTC

    def as_json(self) -> dict:
        """The event on the wire (track answers and webhooks share it)."""
        return {
            "id": self.id,
            "code": self.code,
            "description": DESCRIPTIONS.get(self.code, self.code),
            "location": self.location,
            "time": self.at.isoformat(timespec="microseconds") + "Z",
        }


def choose_journey(tracking_number: str) -> str:
    """The journey a parcel follows, from a seed taken from its tracking number."""
    seed = int.from_bytes(hashlib.sha256(tracking_number.encode()).digest()[:4], "big") % 100
    for journey, share in SHARES:
        if seed < share:
            return journey
        seed -= share
    return SHARES[0][0]


def _location(code: str, city: str) -> str:
    """Where a scan happens: at the shipper, the hub, or in the customer's city."""
    if code == "PICKED_UP":
        return "Shipper's warehouse"
    if code in AT_THE_CUSTOMER:
        return city
    return HUB if code != "INFO_RECEIVED" else ""


def events_at(parcel, now: datetime, step_seconds: float) -> list[Event]:
    """The events of a parcel (a SandboxParcel or a row with its columns) visible at `now`."""
    tn = parcel.tracking_number
    city = (parcel.payload or {}).get("city", "")
    events = [Event(tn, f"{tn}-0", "INFO_RECEIVED", "", parcel.registered_at)]
    if parcel.picked_up_at is None:
        return events
    for i, code in enumerate(JOURNEYS[parcel.journey]):
        due = parcel.picked_up_at + timedelta(seconds=i * step_seconds)
        if due > now:
            break
        # At full speed every step has the same instant; a millisecond apiece keeps order.
        at = due if step_seconds > 0 else due + timedelta(milliseconds=i)
        events.append(Event(tn, f"{tn}-{i + 1}", code, _location(code, city), at))
    return events


def weather_hold(events: list[Event]) -> Event:
    """The extra event of the "unknown" misbehaviour: a status codboard has no mapping for."""
    last = events[-1]
    return Event(last.tracking_number, f"{last.tracking_number}-hold-{len(events)}",
                 "WEATHER_HOLD", HUB, last.at + timedelta(milliseconds=1))


def distort(events: list[Event], mode: str | None) -> list[Event]:
    """A track answer's events as the misbehaving carrier sends them."""
    if mode == "duplicate":
        return [event for event in events for _ in range(2)]
    if mode == "shuffle":
        return list(reversed(events))
    if mode == "unknown" and events:
        return [*events, weather_hold(events)]
    return events


# -- the trouble switch ----------------------------------------------------------------
@dataclass(frozen=True)
class Trouble:
    """One requested misbehaviour, used up by the request it affects."""

    mode: str
    seconds: float = 3.0


def _redis():
    """The app's Redis connection."""
    return current_app.extensions["redis"]


def set_trouble(mode: str, times: int = 1, seconds: float = 3.0) -> None:
    """Make the next `times` affected requests misbehave (mode "off" clears the switch)."""
    pipe = _redis().pipeline()
    pipe.delete(TROUBLE_KEY)
    if mode != "off":
        token = json.dumps({"mode": mode, "seconds": seconds})
        pipe.rpush(TROUBLE_KEY, *[token] * times)
        pipe.expire(TROUBLE_KEY, TROUBLE_TTL)
    pipe.execute()


def take_trouble(modes: tuple[str, ...]) -> Trouble | None:
    """The pending misbehaviour if it is one of `modes`, used up; else None."""

    def take(pipe):
        """Pop the head token when it is one of `modes` (run under WATCH)."""
        head = pipe.lindex(TROUBLE_KEY, 0)
        if head is None or json.loads(head)["mode"] not in modes:
            return None
        pipe.multi()
        pipe.lpop(TROUBLE_KEY)
        return Trouble(**json.loads(head))

    # WATCH makes peek-then-pop atomic: two requests never share one token.
    return _redis().transaction(take, TROUBLE_KEY, value_from_callable=True)


# -- webhooks --------------------------------------------------------------------------
def sign(body: bytes, api_key: str) -> str:
    """Hex HMAC-SHA256 of the raw body keyed with the account's API key."""
    return hmac.new(api_key.encode(), body, hashlib.sha256).hexdigest()


def _event_count():
    """SQL: how many events a parcel's whole journey has, INFO_RECEIVED included."""
    counts = {name: len(codes) + 1 for name, codes in JOURNEYS.items()}
    return case(counts, value=SandboxParcel.journey, else_=0)


def _due_parcels(now: datetime, step: float) -> list[tuple]:
    """(parcel row, events not pushed yet) for parcels with a callback URL and news."""
    rows = db.session.execute(
        select(SandboxParcel.id, SandboxParcel.tracking_number, SandboxParcel.api_key,
               SandboxParcel.journey, SandboxParcel.payload, SandboxParcel.registered_at,
               SandboxParcel.picked_up_at, SandboxParcel.callback_url, SandboxParcel.pushed)
        .where(SandboxParcel.callback_url.is_not(None),
               or_(SandboxParcel.pushed == 0,
                   SandboxParcel.picked_up_at.is_not(None)
                   & (SandboxParcel.pushed < _event_count())))
        .order_by(SandboxParcel.id)
    ).all()
    due = [(row, events_at(row, now, step)[row.pushed:]) for row in rows]
    return [(row, events) for row, events in due if events]


class Unreachable(Exception):
    """The shop's callback URL did not answer (down, refused the connection, too slow)."""


def _post(http: requests.Session, row, events: list[Event]) -> bool:
    """POST one delivery; True when the shop answered 2xx, Unreachable when it did not answer."""
    body = json.dumps({"tracking_number": row.tracking_number,
                       "events": [event.as_json() for event in events]},
                      separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        # One delivery per event: its id names the event, so a resend is recognisable.
        "X-Sandbox-Delivery": f"dlv-{events[0].id}",
        "X-Sandbox-Signature": sign(body, row.api_key),
        "User-Agent": "codboard-sandbox-carrier",
    }
    try:
        response = http.post(row.callback_url, data=body, headers=headers,
                             timeout=PUSH_TIMEOUT)
    except requests.RequestException as exc:
        raise Unreachable(str(exc)) from exc
    if 200 <= response.status_code < 300:
        return True
    current_app.logger.warning("sandbox webhook to %s answered %s", row.callback_url,
                               response.status_code)
    return False


@dataclass
class Pushed:
    """What one parcel's push achieved."""

    in_order: int = 0  # due events delivered from the oldest on, without a gap
    posts: int = 0  # POSTs the shop accepted (resends and the duplicate misbehaviour count)
    reachable: bool = True


def _push_parcel(http: requests.Session, row, due: list[Event]) -> Pushed:
    """Send a parcel's due events, one delivery each, stopping at the first failure."""
    trouble = take_trouble(EVENT_TROUBLE)
    mode = trouble.mode if trouble else None
    deliveries = [[event] for event in due]
    if mode == "unknown":
        deliveries.append([weather_hold(due)])
    if mode == "shuffle":
        deliveries.reverse()  # newest first
    result, delivered = Pushed(), set()
    try:
        for delivery in deliveries:
            for _ in range(2 if mode == "duplicate" else 1):
                if not _post(http, row, delivery):
                    return _count_in_order(result, due, delivered)
                result.posts += 1
            delivered.add(delivery[0].id)
    except Unreachable as exc:
        current_app.logger.warning("sandbox webhook to %s failed: %s", row.callback_url, exc)
        result.reachable = False
    return _count_in_order(result, due, delivered)


def _count_in_order(result: Pushed, due: list[Event], delivered: set[str]) -> Pushed:
    """Set how many due events, from the oldest, were delivered without a gap."""
    while result.in_order < len(due) and due[result.in_order].id in delivered:
        result.in_order += 1
    return result


def push_due_webhooks(now: datetime | None = None) -> int:
    """POST newly visible events to each parcel's callback URL; returns the POSTs accepted.

    A failed POST leaves `pushed` where it was, so the next push sends the event again
    with the same delivery id.
    """
    now = now or utcnow()
    plans = _due_parcels(now, current_app.config["SANDBOX_STEP_SECONDS"])
    db.session.commit()  # hold no transaction while waiting on the shops
    sent, unreachable = 0, set()
    with requests.Session() as http:
        for row, due in plans:
            if row.callback_url in unreachable:
                continue  # down or too slow: its other parcels wait for the next push
            result = _push_parcel(http, row, due)
            sent += result.posts
            if not result.reachable:
                unreachable.add(row.callback_url)
            if result.in_order:
                # Only from the count we read: a concurrent push never moves it backwards.
                db.session.execute(
                    update(SandboxParcel)
                    .where(SandboxParcel.id == row.id, SandboxParcel.pushed == row.pushed)
                    .values(pushed=row.pushed + result.in_order))
                db.session.commit()
    return sent


__all__ = [
    "ANSWER_TROUBLE", "EVENT_TROUBLE", "JOURNEYS", "TROUBLE_MODES", "Event", "Trouble",
    "choose_journey", "distort", "events_at", "push_due_webhooks", "set_trouble",
    "sign", "take_trouble",
]
