"""The one small interface every supplier adapter implements, and what it hands back.

Adapters only talk to the supplier (HTTP or files) and translate between its shapes and
ours: they never touch the database. Jobs in workers/suppliers/jobs.py load what an
adapter needs, call it outside any transaction and hand its replies to models/dropship.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _

# What a reply says happened to one supplier order on the supplier's side.
ACCEPTED = "accepted"  # the supplier took it
REJECTED = "rejected"  # the supplier refused it; `message` says why (out of stock, ...)
SUBMITTED = "submitted"  # received, no decision yet (or a file handed over)
SHIPPED = "shipped"  # on its way; `tracking_number` (and `carrier`) when known
CANCELED = "canceled"  # canceled on the supplier's side
FAILED = "failed"  # we could not get an answer (timeout, 5xx, malformed): retry, same key
OUTCOMES = (ACCEPTED, REJECTED, SUBMITTED, SHIPPED, CANCELED, FAILED)


class SupplierError(Exception):
    """A supplier call failed as a whole; `transient` errors are retried later."""

    def __init__(self, message: str, *, transient: bool = True):
        super().__init__(message)
        self.message = message
        self.transient = transient


class CannotCancel(SupplierError):
    """This supplier takes no cancellations through its API: someone must call them."""

    def __init__(self, message: str):
        super().__init__(message, transient=False)


@dataclass(frozen=True)
class SupplierConfig:
    """What an adapter knows of one configured supplier (a plain copy of its row)."""

    id: int
    name: str
    kind: str
    base_url: str | None = None
    api_key: str | None = None
    settings: dict = field(default_factory=dict)
    timeout: float = 10.0


@dataclass(frozen=True)
class PurchaseLine:
    """One line as the supplier gets it."""

    supplier_sku: str
    sku: str  # ours
    name: str
    quantity: int
    unit_cost_cents: int


@dataclass(frozen=True)
class PurchaseOrder:
    """One supplier order to submit: who gets what, how, and the key that dedupes it."""

    supplier_order_id: int
    idempotency_key: str
    reference: str  # "#1234-56": our order and supplier order
    customer_name: str
    phone: str
    address: str
    city: str
    region: str
    shipping_method: str
    lines: tuple[PurchaseLine, ...]
    currency: str = "MAD"
    note: str = ""


@dataclass(frozen=True)
class StatusQuery:
    """A submitted supplier order to ask about (or cancel)."""

    supplier_order_id: int
    idempotency_key: str
    supplier_ref: str | None
    reference: str


@dataclass
class SupplierReply:
    """What the supplier said about one supplier order."""

    supplier_order_id: int
    outcome: str  # one of OUTCOMES
    message: str = ""  # the supplier's words (a refusal, a failure)
    supplier_ref: str | None = None
    tracking_number: str | None = None
    carrier: str | None = None  # the carrier's name as the supplier gives it


@dataclass
class Submission:
    """The replies to one submit call, and a purchase-order file when one was made."""

    replies: list[SupplierReply]
    file_name: str | None = None
    file_body: str | None = None  # CSV text, stored for download
    delivered: bool = False  # the file was handed to the supplier (posted to its drop URL)
    delivery_error: str = ""


@dataclass
class StatusFile:
    """A supplier's status/tracking file, read: replies by our reference, and bad rows."""

    replies: list[tuple[str, SupplierReply]]  # (our reference "#1234-56", reply)
    errors: list[tuple[int, str]]  # (line number, reason)


class SupplierAdapter:
    """Base adapter: every call says plainly that this supplier cannot do it."""

    kind = "base"
    by_file = False  # True: orders leave as a purchase-order file (csv)

    def __init__(self, config: SupplierConfig):
        self.config = config

    def submit(self, orders: list[PurchaseOrder]) -> Submission:
        """Send these orders, each with its idempotency key; one reply per order.

        An order the supplier could not be reached for comes back FAILED (retried later
        with the same key); the call never raises for one order's trouble.
        """
        raise SupplierError(f"{self.config.name} takes no orders.", transient=False)

    def fetch_status(self, queries: list[StatusQuery]) -> list[SupplierReply]:
        """The supplier's news on submitted orders (accepted, shipped with tracking, ...)."""
        return []

    def cancel(self, query: StatusQuery) -> SupplierReply:
        """Cancel one order with the supplier; CannotCancel when only a person can."""
        raise CannotCancel(f"{self.config.name} takes cancellations by phone or e-mail only.")

    def read_status_file(self, data: bytes) -> StatusFile:
        """Read a status/tracking file the supplier sent back (file suppliers)."""
        raise SupplierError(_("%(supplier)s sends no status files.", supplier=self.config.name),
                            transient=False)
