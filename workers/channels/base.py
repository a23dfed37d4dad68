"""The one small interface every channel adapter implements, and what it hands back.

Adapters only talk HTTP and translate between a platform's shapes and IncomingOrder:
they never touch the database. Jobs in workers/channels/jobs.py load what an adapter
needs, call it outside any transaction, and hand its results to models/intake.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models.intake.incoming import IncomingOrder


class ChannelError(Exception):
    """A channel call failed; `transient` errors (timeouts, 5xx, 429) are retried."""

    def __init__(self, message: str, *, transient: bool = True):
        super().__init__(message)
        self.message = message
        self.transient = transient


class ChannelRefused(ChannelError):
    """The channel answered and said no (4xx, bad data): the same call won't succeed."""

    def __init__(self, message: str):
        super().__init__(message, transient=False)


@dataclass(frozen=True)
class ChannelConfig:
    """What an adapter knows of one configured channel (a plain copy of its row)."""

    id: int
    code: str
    name: str
    kind: str
    base_url: str | None = None
    api_key: str | None = None
    api_secret: str | None = None
    webhook_secret: str | None = None
    settings: dict = field(default_factory=dict)
    timeout: float = 10.0


@dataclass
class OrderPage:
    """One page of orders changed since a cursor, and the cursor to ask with next.

    `cursor` is what to store once this page is applied: asking again with it never
    skips an order (it may repeat some, which intake recognises by external id).
    """

    orders: list[IncomingOrder]
    cursor: str | None
    more: bool = False


@dataclass
class WebhookDelivery:
    """A verified webhook, read: its delivery id (dedupe), event id, topic and orders."""

    delivery_id: str
    topic: str
    orders: list[IncomingOrder]
    event_id: str | None = None


@dataclass(frozen=True)
class Fulfilment:
    """The news of a shipped order, as the channel is told it."""

    external_id: str
    idempotency_key: str  # the same key never makes two fulfilments on the channel
    tracking_number: str | None  # None: shipped without a tracking code
    carrier_name: str | None
    tracking_url: str | None = None


class ChannelAdapter:
    """Base adapter: every call says plainly that this channel cannot do it."""

    kind = "base"
    pushes_fulfilment = True  # False: nothing to tell (CSV, API, manual)

    def __init__(self, config: ChannelConfig):
        self.config = config

    def fetch_orders(self, cursor: str | None) -> OrderPage:
        """Orders created or changed since `cursor` (None: the recent ones), one page.

        Canceled orders come back with `canceled` set: that is how the channel's
        cancellations are read.
        """
        raise ChannelError(f"{self.config.name} cannot be polled.", transient=False)

    def verify_webhook(self, headers, body: bytes) -> bool:
        """True when the raw body carries a valid signature for this channel's secret."""
        return False

    def parse_webhook(self, headers, body: bytes) -> WebhookDelivery:
        """Read a verified delivery; ChannelError when it cannot be read."""
        raise ChannelError(f"{self.config.name} sends no webhooks.", transient=False)

    def push_fulfilment(self, news: Fulfilment) -> None:
        """Tell the channel the order shipped, with its tracking when known.

        Idempotent on the platform side where it allows (the key is sent), and tolerant
        of "already fulfilled" answers, which count as success.
        """
        raise ChannelError(f"{self.config.name} takes no shipping news.", transient=False)
