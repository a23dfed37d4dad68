"""Dropship test support: suppliers, mapped products, routed orders confirmed through the
door, and a local HTTP supplier that keeps its orders by Idempotency-Key."""

from __future__ import annotations

import json
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from extensions import db
from models import Actor, AuditEvent, Order
from models.catalog.products import SupplierSku
from models.dropship.mappings import fold
from models.dropship.tables import ShippingMapping, SupplierOrder
from models.intake.routing import reroute_order
from models.orders.operations import change_confirmation
from tests.workers.carriers.peer import Peer, Reply, Seen
from workers.suppliers.http_json import DEFAULT_SETTINGS


@pytest.fixture
def make_dropship_product(make_product):
    """make_dropship_product(supplier, supplier_sku="X-…", cost_cents=1000, mapped=True)."""

    def make(supplier, supplier_sku: str | None = None, cost_cents: int = 1000,
             mapped: bool = True, **overrides):
        product = make_product(stock=0, dropship_supplier_id=supplier.id, **overrides)
        if mapped:
            db.session.add(SupplierSku(supplier_id=supplier.id, product_id=product.id,
                                       supplier_sku=supplier_sku or f"X-{product.sku}",
                                       cost_cents=cost_cents))
            db.session.commit()
        return product

    return make


@pytest.fixture
def map_rate(app):
    """map_rate(supplier, rate_name, method): a shipping mapping as the settings page keeps it."""

    def make(supplier, rate_name: str, method: str) -> ShippingMapping:
        mapping = ShippingMapping(supplier_id=supplier.id, rate_name=rate_name,
                                  rate_key=fold(rate_name), method=method)
        db.session.add(mapping)
        db.session.commit()
        return mapping

    return make


@pytest.fixture
def routed_order(make_order):
    """routed_order(lines=[(product, qty), ...], **overrides): an order whose lines the
    routing sent to their warehouse or dropship supplier, as intake does."""

    def make(lines, **overrides) -> Order:
        order = make_order(lines=lines, **overrides)
        reroute_order(order, Actor.system("routing"))
        db.session.commit()
        return order

    return make


@pytest.fixture
def confirm(make_user):
    """confirm(order): an agent holding the order confirms it through the door; committed."""

    def run(order: Order):
        agent = make_user("agent")
        order.claimed_by_id = agent.id
        db.session.flush()
        outcome = change_confirmation(order, "confirmed", Actor.of(agent))
        db.session.commit()
        return outcome

    return run


def supplier_orders(order_id: int) -> list[SupplierOrder]:
    """The order's supplier orders, by supplier."""
    return list(db.session.scalars(select(SupplierOrder).where(
        SupplierOrder.order_id == order_id).order_by(SupplierOrder.supplier_id)))


def supplier_trail(so: SupplierOrder) -> list[AuditEvent]:
    """The audit events of a supplier order's lines, oldest first."""
    line_ids = [line.order_line_id for line in so.lines]
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.kind == "supplier", AuditEvent.order_line_id.in_(line_ids))
        .order_by(AuditEvent.id)))


# -- a supplier over real HTTP --------------------------------------------------------

SETTINGS = deepcopy(DEFAULT_SETTINGS)


@dataclass
class Made:
    """One order the supplier made: their number, our key, what it said, its status."""

    ref: str
    key: str
    body: dict
    status: str = "confirmed"
    tracking_number: str | None = None
    carrier: str | None = None


class SupplierPeer(Peer):
    """A JSON-API supplier: POST /orders makes one order per Idempotency-Key (a repeat gets
    the same order back), GET /orders/<ref> tells its status, POST /orders/<ref>/cancel
    cancels it. `answers` (per POST /orders, in turn) and `delays` override the next
    submissions; a delayed one is made before the late answer, as a slow supplier does."""

    def __init__(self):
        """Nothing made yet; no overrides."""
        super().__init__()
        self.made: dict[str, Made] = {}
        self.answers: list[Reply] = []
        self.delays: list[float] = []
        self.refuse: dict[str, str] = {}  # their SKU -> why they refuse an order with it
        # Per POST /orders in turn: something that happens elsewhere while they answer.
        self.meanwhile: list[Callable[[], None] | None] = []

    @property
    def posts(self) -> int:
        """Submissions received (every POST /orders, repeats included)."""
        return len(self.seen("POST", "/orders"))

    def order(self, ref: str) -> Made:
        """The order they made under this number."""
        return next(m for m in self.made.values() if m.ref == ref)

    def _next(self, seen: Seen) -> Reply:
        """Scripted routes first (Peer.on), else the supplier's own behaviour."""
        with self._lock:
            scripted = (seen.method, seen.path) in self._script
        if scripted:
            return super()._next(seen)
        with self._lock:
            self._seen.append(seen)
            return self._answer(seen)

    def _answer(self, seen: Seen) -> Reply:
        """The supplier's answer (called under the lock)."""
        parts = seen.path.strip("/").split("/")
        if seen.method == "POST" and parts == ["orders"]:
            return self._submit(seen)
        made = next((m for m in self.made.values() if len(parts) > 1 and m.ref == parts[1]),
                    None)
        if made is None:
            return Reply(404, json={"message": "no such order"})
        if seen.method == "GET" and len(parts) == 2:
            return Reply(200, json=_shown(made))
        if seen.method == "POST" and parts[2:] == ["cancel"]:
            if made.status != "shipped":
                made.status = "cancelled"
            return Reply(200, json=_shown(made))
        return Reply(404, json={"message": "no such route"})

    def _submit(self, seen: Seen) -> Reply:
        """Make the order once per key; a scripted answer or a delay applies to this POST."""
        happens = self.meanwhile.pop(0) if self.meanwhile else None
        if happens is not None:
            happens()
        if self.answers:
            return self.answers.pop(0)
        key = seen.headers.get("Idempotency-Key", "")
        body = json.loads(seen.body)
        for item in body.get("items", []):
            if item.get("sku") in self.refuse:
                return Reply(422, json={"message": self.refuse[item["sku"]]})
        if key not in self.made:
            self.made[key] = Made(ref=f"SUP-{len(self.made) + 1}", key=key, body=body)
        delay = self.delays.pop(0) if self.delays else 0.0
        return Reply(201, json=_shown(self.made[key]), delay=delay)


def _shown(made: Made) -> dict:
    """An order as the supplier's API shows it."""
    return {"id": made.ref, "status": made.status, "tracking_number": made.tracking_number,
            "carrier": made.carrier}


@pytest.fixture
def supplier_peer():
    """A local JSON-API supplier on 127.0.0.1, stopped after the test."""
    with SupplierPeer.running() as running:
        yield running


@pytest.fixture
def http_supplier(make_supplier, supplier_peer):
    """http_supplier(**overrides): an http_json supplier reaching the supplier peer."""

    def make(**overrides):
        return make_supplier(**{"kind": "http_json", "base_url": supplier_peer.url,
                                "api_key": "sup-key", "settings": deepcopy(SETTINGS),
                                "default_shipping_method": "Standard", **overrides})

    return make



@pytest.fixture
def submitted_orders(make_user, routed_order, confirm):
    """submitted_orders(lines, **order overrides): confirm an order of these lines and submit
    its supplier orders the way the process job does (Process, then taken); committed."""
    from models.dropship.operations import request_processing, take_for_submission

    def make(lines, **overrides) -> tuple[Order, list[SupplierOrder]]:
        order = routed_order(lines, **overrides)
        confirm(order)
        mine = supplier_orders(order.id)
        request_processing(mine, Actor.of(make_user("operator")))
        for supplier_id in {so.supplier_id for so in mine}:
            take_for_submission(supplier_id)
        db.session.commit()
        return order, mine

    return make
