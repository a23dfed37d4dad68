"""Routing settings: warehouse priority and catch-all, and the routing rules.

Managers write these from /settings/routing. Every operation validates, writes an
audit event (no order, kind "routing") and flushes; the view commits.
"""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from models.actor import Actor
from models.audit import AuditEvent, audit_row
from models.base import db
from models.catalog.products import Product, Warehouse
from models.catalog.sales import Channel
from models.errors import InvalidInput

from .routing import place_key
from .tables import RoutingRule

# In the order routing applies them (models/intake/routing.py).
RULE_KINDS = ("exclude", "channel", "product", "geo")
PRIORITY_MAX = 9999
PLACE_MAX = 120  # RoutingRule.place


@dataclass
class RuleFields:
    """A new rule as a manager typed it; the fields its kind does not use are ignored."""

    kind: str
    warehouse_id: int | None
    channel_id: int | None = None
    sku: str = ""
    place: str = ""


def set_warehouse_routing(warehouse: Warehouse, priority: int, catch_all: bool,
                          actor: Actor) -> Warehouse | None:
    """Change a warehouse's priority and catch-all flag; return the catch-all it replaced."""
    if not 0 <= priority <= PRIORITY_MAX:
        raise InvalidInput(_("Priority is a whole number from 0 to %(max)s "
                             "(the lowest is tried first).", max=PRIORITY_MAX))
    if catch_all and not warehouse.active:
        raise InvalidInput(_("%(warehouse)s is inactive: routing never sends a line there, "
                             "so it cannot be the catch-all.", warehouse=warehouse.name))
    replaced = None
    if catch_all and not warehouse.catch_all:
        # One catch-all at most: the new one takes over from the old.
        others = db.session.scalars(select(Warehouse).where(
            Warehouse.catch_all.is_(True), Warehouse.id != warehouse.id)).all()
        for other in others:
            other.catch_all = False
        replaced = others[0] if others else None
    changes = []
    if priority != warehouse.priority:
        changes.append(f"priority {warehouse.priority} → {priority}")
        warehouse.priority = priority
    if catch_all != warehouse.catch_all:
        changes.append("now the catch-all" if catch_all else "no longer the catch-all")
        warehouse.catch_all = catch_all
    db.session.flush()
    if changes:
        note = ", ".join(changes)
        if replaced is not None:
            note += f" (in place of {replaced.name})"
        _audit(actor, f"{warehouse.name}: {note}")
    return replaced


def add_rule(fields: RuleFields, actor: Actor) -> RoutingRule:
    """Add a routing rule after checking what it names exists and it is not there already."""
    if fields.kind not in RULE_KINDS:
        raise InvalidInput(_("Choose what kind of rule this is."))
    warehouse = db.session.get(Warehouse, fields.warehouse_id) if fields.warehouse_id else None
    if warehouse is None or not warehouse.active:
        raise InvalidInput(_("Choose one of the active warehouses."))
    rule = RoutingRule(kind=fields.kind, warehouse_id=warehouse.id, place="")
    if fields.kind in ("channel", "exclude"):
        rule.channel_id = _channel_id(fields.channel_id, required=fields.kind == "channel")
    if fields.kind in ("product", "exclude"):
        rule.product_id = _product_id(fields.sku, required=fields.kind == "product")
    if fields.kind == "geo":
        rule.place = " ".join((fields.place or "").split())
        if not rule.place:
            raise InvalidInput(_("Write the city or region this rule is for."))
        if len(rule.place) > PLACE_MAX:
            raise InvalidInput(_("A place name has at most %(max)s characters.", max=PLACE_MAX))
    if _exists(rule):
        raise InvalidInput(_("That rule is already there: %(rule)s.",
                             rule=describe(rule, for_people=True)))
    db.session.add(rule)
    db.session.flush()
    _audit(actor, f"rule added: {describe(rule)}")
    return rule


def remove_rule(rule: RoutingRule, actor: Actor) -> None:
    """Remove a routing rule."""
    note = f"rule removed: {describe(rule)}"
    db.session.delete(rule)
    db.session.flush()
    _audit(actor, note)


def describe(rule: RoutingRule, for_people: bool = False) -> str:
    """A rule in words: English for the audit trail, the request's language for people."""
    warehouse = _name(Warehouse, rule.warehouse_id)
    channel = _name(Channel, rule.channel_id) if rule.channel_id else None
    sku = db.session.get(Product, rule.product_id).sku if rule.product_id else None
    if for_people:
        return _describe_translated(rule, warehouse, channel, sku)
    if rule.kind == "channel":
        return f"orders of {channel} go to {warehouse}"
    if rule.kind == "product":
        return f"{sku} goes to {warehouse}"
    if rule.kind == "geo":
        return f"orders to {rule.place} go to {warehouse}"
    return (f"{warehouse} never serves {sku or 'any product'} "
            f"for {channel or 'any channel'}")


def _describe_translated(rule: RoutingRule, warehouse: str, channel: str | None,
                         sku: str | None) -> str:
    """describe() in the request's language (a refusal shown on the page)."""
    if rule.kind == "channel":
        return _("orders of %(channel)s go to %(warehouse)s", channel=channel,
                 warehouse=warehouse)
    if rule.kind == "product":
        return _("%(sku)s goes to %(warehouse)s", sku=sku, warehouse=warehouse)
    if rule.kind == "geo":
        return _("orders to %(place)s go to %(warehouse)s", place=rule.place,
                 warehouse=warehouse)
    return _("%(warehouse)s never serves %(product)s for %(channel)s", warehouse=warehouse,
             product=sku or _("any product"), channel=channel or _("any channel"))


def _channel_id(channel_id: int | None, required: bool) -> int | None:
    """The id of an existing channel; None for "any channel" unless one is required."""
    if channel_id is None:
        if required:
            raise InvalidInput(_("Choose the channel whose orders this rule sends."))
        return None
    if db.session.get(Channel, channel_id) is None:
        raise InvalidInput(_("Choose one of the channels in the list."))
    return channel_id


def _product_id(sku: str, required: bool) -> int | None:
    """The id of the product with this SKU; None for "any product" unless one is required."""
    sku = (sku or "").strip()
    if not sku:
        if required:
            raise InvalidInput(_("Write the SKU of the product to pin."))
        return None
    product_id = db.session.scalar(select(Product.id).where(Product.sku == sku))
    if product_id is None:
        raise InvalidInput(_("No product has the SKU “%(sku)s”.", sku=sku))
    return product_id


def _exists(rule: RoutingRule) -> bool:
    """Whether the same rule is already stored (geography compares places as routing does)."""
    same = db.session.scalars(select(RoutingRule).where(
        RoutingRule.kind == rule.kind, RoutingRule.warehouse_id == rule.warehouse_id,
        RoutingRule.channel_id.is_(None) if rule.channel_id is None
        else RoutingRule.channel_id == rule.channel_id,
        RoutingRule.product_id.is_(None) if rule.product_id is None
        else RoutingRule.product_id == rule.product_id)).all()
    return any(place_key(other.place) == place_key(rule.place) for other in same)


def _name(model, ident: int) -> str:
    """A warehouse's or channel's name."""
    row = db.session.get(model, ident)
    return row.name if row is not None else f"#{ident}"


def _audit(actor: Actor, note: str) -> None:
    """An audit event about routing (no order)."""
    db.session.add(AuditEvent(**audit_row(None, actor, "routing", None, None,
                                          f"Routing: {note}"[:1000])))
    db.session.flush()
