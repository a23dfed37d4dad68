"""Warehouse routing: which warehouse (or dropship supplier) serves each line of an order.

Per line, in this order: a dropship product goes to its supplier; exclusions remove
warehouses from the candidates; then a channel override, a pinned product, a geography
rule (city or region), warehouse priority, and last the catch-all. Steps up to priority
need a candidate warehouse with the stock for the line; the catch-all takes the line
without it. `Router.load` reads everything once so a whole batch routes without a query.
"""

import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from models.audit import audit_row
from models.base import db
from models.catalog.products import Product, Supplier, Warehouse
from models.small_tables import cached, watch
from models.status import Confirmation
from models.stock.tables import StockLevel

from .tables import RoutingRule

RULE_MAX = 120  # OrderLine.routed_by
CHUNK = 1000  # ids per IN (...) list
UNKNOWN_PRODUCT = "unknown product"
NOWHERE = "no warehouse (no stock, no catch-all)"


def place_key(text: str | None) -> str:
    """A city or region as routing compares it: no accents, no case, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


@dataclass(frozen=True)
class Route:
    """Where one line goes, and the rule that decided it (kept in OrderLine.routed_by)."""

    warehouse_id: int | None
    supplier_id: int | None
    rule: str


class Router:
    """The warehouses, rules, stock and dropship suppliers routing needs, held in memory."""

    def __init__(self, warehouses, rules, stock: dict, dropship: dict):
        # (id, name, active, priority, catch_all) rows; rules in the order they were made.
        self.names = {w.id: w.name for w in warehouses}
        ordered = sorted((w for w in warehouses if w.active), key=lambda w: (w.priority, w.id))
        self.by_priority = [w.id for w in ordered]
        self.catch_alls = [w.id for w in ordered if w.catch_all]
        self.channel_rules: dict[int, list[int]] = defaultdict(list)
        self.product_rules: dict[int, list[int]] = defaultdict(list)
        self.geo_rules: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self.exclusions: list[tuple[int, int | None, int | None]] = []
        for rule in rules:
            if rule.kind == "channel" and rule.channel_id is not None:
                self.channel_rules[rule.channel_id].append(rule.warehouse_id)
            elif rule.kind == "product" and rule.product_id is not None:
                self.product_rules[rule.product_id].append(rule.warehouse_id)
            elif rule.kind == "geo" and place_key(rule.place):
                self.geo_rules[place_key(rule.place)].append((rule.warehouse_id,
                                                               rule.place.strip()))
            elif rule.kind == "exclude":
                self.exclusions.append((rule.warehouse_id, rule.product_id, rule.channel_id))
        self.stock = stock  # (product_id, warehouse_id) -> on hand
        self.dropship = dropship  # product_id -> (supplier_id, supplier name)
        self._candidates: dict[tuple[int, int], frozenset[int]] = {}

    @classmethod
    def load(cls, product_ids: Iterable[int | None]) -> "Router":
        """Everything routing these products needs: the cached small tables, plus 2 queries
        per 1,000 products."""
        ids = sorted({p for p in product_ids if p is not None})
        warehouses, rules = cached("routing_tables", _routing_tables)
        stock, dropship = {}, {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            levels = db.session.execute(
                select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand)
                .where(StockLevel.product_id.in_(chunk)))
            stock.update(((p, w), n) for p, w, n in levels)
            suppliers = db.session.execute(
                select(Product.id, Supplier.id, Supplier.name)
                .join(Supplier, Supplier.id == Product.dropship_supplier_id)
                .where(Product.id.in_(chunk)))
            dropship.update((p, (s, name)) for p, s, name in suppliers)
        return cls(warehouses, rules, stock, dropship)

    def route(self, *, channel_id: int, city: str, region: str,
              lines: list[tuple[int | None, int]]) -> list[Route]:
        """One Route per (product_id, quantity) line of an order; no queries."""
        places = [key for key in dict.fromkeys((place_key(city), place_key(region))) if key]
        # Two lines of one product sent to one warehouse both need its stock.
        taken: dict[tuple[int, int], int] = defaultdict(int)
        routes = []
        for product_id, quantity in lines:
            route = self._route_line(channel_id, places, product_id, quantity, taken)
            if route.warehouse_id is not None:
                taken[(product_id, route.warehouse_id)] += quantity
            routes.append(route)
        return routes

    def _route_line(self, channel_id: int, places: list[str], product_id: int | None,
                    quantity: int, taken: dict) -> Route:
        """The first rule, in order, that names a candidate warehouse with the stock."""
        if product_id is None:
            return Route(None, None, UNKNOWN_PRODUCT)
        if product_id in self.dropship:
            supplier_id, name = self.dropship[product_id]
            return Route(None, supplier_id, f"dropship: {name}"[:RULE_MAX])
        candidates = self.candidates(product_id, channel_id)

        def serves(warehouse_id: int) -> bool:
            key = (product_id, warehouse_id)
            return (warehouse_id in candidates
                    and self.stock.get(key, 0) - taken[key] >= quantity)

        steps = [("channel override", self.channel_rules.get(channel_id, ())),
                 ("pinned product", self.product_rules.get(product_id, ()))]
        steps += [(f"geography: {place}", (warehouse_id,))
                  for key in places for warehouse_id, place in self.geo_rules.get(key, ())]
        steps.append(("priority", self.by_priority))
        for rule, warehouses in steps:
            for warehouse_id in warehouses:
                if serves(warehouse_id):
                    return Route(warehouse_id, None, rule[:RULE_MAX])
        for warehouse_id in self.catch_alls:
            if warehouse_id in candidates:
                return Route(warehouse_id, None,
                             f"catch-all (no warehouse had {quantity} in stock)"[:RULE_MAX])
        return Route(None, None, NOWHERE)

    def candidates(self, product_id: int, channel_id: int) -> frozenset[int]:
        """Active warehouses no exclusion keeps from serving this product for this channel."""
        key = (product_id, channel_id)
        if key not in self._candidates:
            excluded = {w for w, p, c in self.exclusions
                        if p in (None, product_id) and c in (None, channel_id)}
            self._candidates[key] = frozenset(self.by_priority) - excluded
        return self._candidates[key]


def _routing_tables() -> tuple[list, list]:
    """The warehouses and the rules: small tables, cached briefly (a single API order
    would otherwise read them on every call)."""
    warehouses = db.session.execute(select(
        Warehouse.id, Warehouse.name, Warehouse.active, Warehouse.priority,
        Warehouse.catch_all)).all()
    rules = db.session.execute(select(
        RoutingRule.kind, RoutingRule.warehouse_id, RoutingRule.channel_id,
        RoutingRule.product_id, RoutingRule.place).order_by(RoutingRule.id)).all()
    return warehouses, rules


# Settings pages write these through the ORM: this process sees its own change at once.
watch(Warehouse, RoutingRule)


def reroute_order(order, actor) -> list[dict]:
    """Route an unconfirmed order's lines again after an edit; audit rows for lines that moved.

    Stock is taken at confirmation from each line's warehouse, so a confirmed order
    keeps its routing and nothing is returned.
    """
    if order.confirmation_status == Confirmation.CONFIRMED or order.shipping_status:
        return []
    router = Router.load(line.product_id for line in order.lines)
    routes = router.route(channel_id=order.channel_id, city=order.city, region=order.region,
                          lines=[(line.product_id, line.quantity) for line in order.lines])
    rows = []
    for line, route in zip(order.lines, routes, strict=True):
        before = (line.warehouse_id, line.supplier_id)
        if before != (route.warehouse_id, route.supplier_id):
            rows.append(audit_row(order.id, actor, "routing", _where(router, *before),
                                  _where(router, route.warehouse_id, route.supplier_id),
                                  route.rule, line=line))
        line.warehouse_id, line.supplier_id = route.warehouse_id, route.supplier_id
        line.routed_by = route.rule[:RULE_MAX]
    return rows


def _where(router: Router, warehouse_id: int | None, supplier_id: int | None) -> str | None:
    """A line's warehouse or supplier by name, as the audit trail shows it (64 characters)."""
    if supplier_id is not None:
        names = dict(router.dropship.values())
        name = names.get(supplier_id) or db.session.get(Supplier, supplier_id).name
        return f"supplier {name}"[:64]
    if warehouse_id is not None:
        return router.names.get(warehouse_id, f"warehouse {warehouse_id}")[:64]
    return None
