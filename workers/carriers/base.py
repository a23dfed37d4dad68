"""The one small interface every carrier adapter implements, and what it hands back.

Adapters only talk HTTP and translate: they never touch the database. Jobs in
workers/shipping.py load what the adapter needs, call it outside any transaction,
and hand its results to the shipping operations (models/shipping/operations.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import requests
from flask_babel import gettext as _


class CarrierError(Exception):
    """A carrier call failed; `transient` errors (timeouts, 5xx) are retried with backoff."""

    def __init__(self, message: str, *, transient: bool = True):
        super().__init__(message)
        self.message = message
        self.transient = transient


class CarrierRefused(CarrierError):
    """The carrier answered and said no (4xx, bad data): retrying the same call won't help."""

    def __init__(self, message: str):
        super().__init__(message, transient=False)


class NotSupported(CarrierError):
    """This carrier has no API for that (local delivery, or a tracking-only service)."""

    def __init__(self, message: str):
        super().__init__(message, transient=False)


@dataclass(frozen=True)
class CarrierConfig:
    """What an adapter knows of one configured carrier (a plain copy of its row)."""

    id: int
    code: str
    name: str
    kind: str
    base_url: str | None = None
    api_key: str | None = None
    webhook_secret: str | None = None
    settings: dict = field(default_factory=dict)
    # raw status (code or text, as the carrier sends it) -> shipping status or "ignore"
    status_map: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0


@dataclass(frozen=True)
class ParcelRequest:
    """A parcel to register: the order as the carrier needs it."""

    order_id: int
    reference: str  # "#123", printed on the label
    idempotency_key: str  # sent with the request; the same key never makes two parcels
    customer_name: str
    phone: str
    address: str
    city: str
    cod_amount_cents: int
    currency: str
    items: tuple[tuple[str, str, int], ...] = ()  # (sku, name, quantity)
    tracking_number: str | None = None  # known already (tracking-only services need it)
    callback_url: str | None = None  # our webhook URL, for carriers that take one per parcel

    def common_body(self) -> dict:
        """The fields every carrier's create call takes under these names (amount apart)."""
        return {
            "reference": self.reference, "customer_name": self.customer_name,
            "phone": self.phone, "address": self.address, "city": self.city,
            "currency": self.currency,
            "items": [{"sku": sku, "name": name, "quantity": quantity}
                      for sku, name, quantity in self.items],
        }


@dataclass(frozen=True)
class Registration:
    """What the carrier gave back for a registered parcel."""

    tracking_number: str
    label_url: str | None = None


@dataclass(frozen=True)
class TrackingEvent:
    """One scan as the carrier reported it, before we decide what it means."""

    tracking_number: str
    occurred_at: datetime  # naive UTC
    code: str  # the carrier's raw status code (or its text when it has no codes)
    text: str = ""
    location: str = ""
    # The carrier's own id for the event when it has one; else a key is derived.
    event_id: str | None = None

    def dedupe_key(self) -> str:
        """Same event, same key: a redelivery or a repeated sync row is stored once."""
        if self.event_id:
            return f"id:{self.event_id}"[:128]
        return f"{self.code}|{self.occurred_at.isoformat()}|{self.location}"[:128]


@dataclass(frozen=True)
class Webhook:
    """A verified webhook delivery: its delivery id and the events it carries."""

    delivery_id: str
    events: list[TrackingEvent]


class CarrierAdapter:
    """Base class: register, track a batch, verify and parse a webhook, cancel, hand over.

    Subclasses set `kind` and override what their carrier supports; the defaults
    say plainly that it is not supported, so nothing pretends to work.
    """

    kind = ""
    # Map raw statuses with the manager's table (http_json) or the adapter's own.
    uses_status_table = False
    # Largest number of tracking numbers one track() call takes.
    batch_size = 100
    # A tracking service (AfterShip) registers a number the courier already gave; a carrier
    # that issues numbers takes a parcel whose number someone typed as registered already.
    registers_known_numbers = False

    def __init__(self, config: CarrierConfig, session: requests.Session | None = None):
        self.config = config
        self.http = session or requests.Session()

    # -- calls out -------------------------------------------------------------
    def register(self, parcel: ParcelRequest) -> Registration:
        """Create the parcel at the carrier (idempotent on parcel.idempotency_key)."""
        raise NotSupported(f"{self.config.name} has no API to register parcels.")

    def track(self, tracking_numbers: list[str]) -> list[TrackingEvent]:
        """Every event the carrier knows for these parcels (any order, repeats allowed)."""
        raise NotSupported(f"{self.config.name} has no tracking API.")

    def cancel(self, tracking_number: str) -> None:
        """Cancel a parcel that has not left yet."""
        raise NotSupported(f"{self.config.name} has no API to cancel parcels.")

    def hand_over(self, tracking_numbers: list[str]) -> None:
        """Tell the carrier these parcels are packed and ready for pickup (optional)."""

    def test_connection(self) -> str:
        """Make one harmless authenticated call; return what it showed, or raise."""
        raise NotSupported(_("%(carrier)s has no API to test.", carrier=self.config.name))

    # -- calls in --------------------------------------------------------------
    def verify_webhook(self, headers, body: bytes) -> bool:
        """True when the raw body carries a valid signature from this carrier."""
        return False

    def parse_webhook(self, headers, body: bytes) -> Webhook:
        """The delivery id and events in a verified webhook; CarrierRefused if malformed."""
        raise NotSupported(f"{self.config.name} sends no webhooks.")

    # -- meaning ---------------------------------------------------------------
    def map_status(self, code: str, text: str = "") -> str | None:
        """Our shipping status for a raw one, "ignore", or None when unmapped (never guessed)."""
        table = self.config.status_map
        for key in (code, text):
            if key and key in table:
                return table[key]
            if key and key.lower() in table:
                return table[key.lower()]
        return None
