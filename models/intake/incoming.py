"""An order as it arrives from any door (manual form, CSV, API, a channel), and its checks.

Every intake path turns its input into IncomingOrder values and hands them to
create_orders (models/intake/create.py); nothing else inserts orders.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models.base import db
from models.catalog.products import Product
from models.phones import normalize_phone

MAX_QUANTITY = 999
# 10,000,000.00: far above any COD order, well inside the 32-bit amount columns.
MAX_AMOUNT_CENTS = 1_000_000_000
CURRENCY = re.compile(r"^[A-Z]{3}$")
# Field names as people read them in a refusal.
FIELD_LABELS = {"external_id": _l("Order id"), "customer_name": _l("Customer name"),
                "phone": _l("Phone"), "address": _l("Address"), "city": _l("City"),
                "region": _l("Region"), "shipping_method": _l("Shipping method"),
                "note": _l("Note"), "currency": _l("Currency")}
FIELD_LIMITS = {"external_id": 64, "customer_name": 200, "phone": 64, "address": 500,
                "city": 120, "region": 120, "shipping_method": 120, "note": 1000}


@dataclass
class IncomingLine:
    """One product on an arriving order; a missing price takes the catalogue's."""

    sku: str
    quantity: int
    unit_price_cents: int | None = None
    name: str = ""


@dataclass
class IncomingOrder:
    """An arriving order, keyed by its channel's external id."""

    external_id: str
    customer_name: str
    phone: str
    lines: list[IncomingLine]
    address: str = ""
    city: str = ""
    region: str = ""
    # None: the sum of the lines (what the customer pays on delivery).
    cod_amount_cents: int | None = None
    currency: str = "MAD"
    paid: bool = False
    canceled: bool = False
    shipping_method: str = ""
    note: str = ""
    placed_at: datetime | None = None


@dataclass(frozen=True)
class Problem:
    """Why an arriving order cannot be taken as it is: a field name and a human message."""

    field: str
    message: str


@dataclass(frozen=True)
class CatalogueItem:
    """What intake needs to know of a product."""

    product_id: int
    name: str
    price_cents: int
    dropship_supplier_id: int | None


@dataclass
class Catalogue:
    """Active products by SKU, loaded once for a batch."""

    items: dict[str, CatalogueItem] = field(default_factory=dict)

    @classmethod
    def load(cls, skus) -> "Catalogue":
        """The active products among these SKUs (one query per 1,000 SKUs)."""
        wanted = sorted({s for s in skus if s})
        items = {}
        for start in range(0, len(wanted), 1000):
            rows = db.session.execute(
                select(Product.sku, Product.id, Product.name, Product.price_cents,
                       Product.dropship_supplier_id)
                .where(Product.sku.in_(wanted[start:start + 1000]), Product.active.is_(True)))
            for sku, *rest in rows:
                items[sku] = CatalogueItem(*rest)
        return cls(items)


def check_order(order: IncomingOrder, catalogue: Catalogue, region: str) -> list[Problem]:
    """Everything wrong with an arriving order, field by field (empty when it can be taken).

    Also fills in what the order leaves to defaults: normalised text, line prices and
    names from the catalogue, and the COD amount as the sum of the lines.
    """
    problems = []
    for name, limit in FIELD_LIMITS.items():
        value = (getattr(order, name) or "").strip()
        setattr(order, name, value)
        if len(value) > limit:
            problems.append(Problem(name, _("%(field)s is longer than %(max)s characters.",
                                               field=_label(name), max=limit)))
    for name in ("external_id", "customer_name", "phone", "address", "city"):
        if not getattr(order, name):
            problems.append(Problem(name, _("%(field)s is required.", field=_label(name))))
    if order.phone and not normalize_phone(order.phone, region):
        problems.append(Problem("phone", _("“%(phone)s” is not a phone number.",
                                            phone=order.phone)))
    order.currency = (order.currency or "").strip().upper()
    if not CURRENCY.match(order.currency):
        problems.append(Problem("currency", _("“%(currency)s” is not a currency code "
                                              "(three letters, e.g. MAD).",
                                              currency=order.currency)))
    if not order.lines:
        problems.append(Problem("lines", _("An order needs at least one product.")))
    problems += _check_lines(order, catalogue)
    total = sum(line.quantity * (line.unit_price_cents or 0) for line in order.lines
                if isinstance(line.quantity, int))
    if order.cod_amount_cents is None:
        order.cod_amount_cents = total
    elif order.cod_amount_cents < 0:
        problems.append(Problem("cod_amount", _("The amount cannot be negative.")))
    if max(total, order.cod_amount_cents or 0) > MAX_AMOUNT_CENTS:
        most = f"{MAX_AMOUNT_CENTS // 100:,}"
        problems.append(Problem("cod_amount", _("The amount is larger than any order can be "
                                                "(%(max)s).", max=most)))
    return problems


def _check_lines(order: IncomingOrder, catalogue: Catalogue) -> list[Problem]:
    """SKUs known, quantities and prices in range."""
    problems = []
    for n, line in enumerate(order.lines):
        line.sku = (line.sku or "").strip()
        item = catalogue.items.get(line.sku)
        if not line.sku:
            problems.append(Problem(f"lines[{n}].sku", _("SKU is required.")))
        elif item is None:
            problems.append(Problem(f"lines[{n}].sku", _("Unknown SKU “%(sku)s”.", sku=line.sku)))
        if not isinstance(line.quantity, int) or not 1 <= line.quantity <= MAX_QUANTITY:
            problems.append(Problem(f"lines[{n}].quantity",
                                    _("Quantity must be a whole number from 1 to %(max)s.",
                                      max=MAX_QUANTITY)))
        if line.unit_price_cents is not None and not 0 <= line.unit_price_cents <= MAX_AMOUNT_CENTS:
            problems.append(Problem(f"lines[{n}].unit_price",
                                    _("A price must be between 0 and 10,000,000.")))
        if item is not None:
            line.name = (line.name or item.name).strip()[:200]
            if line.unit_price_cents is None:
                line.unit_price_cents = item.price_cents
        else:
            line.name = (line.name or line.sku).strip()[:200]
    return problems


def _label(name: str) -> str:
    """A field name as people read it."""
    return str(FIELD_LABELS.get(name, name.replace("_", " ").capitalize()))
