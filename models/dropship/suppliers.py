"""Supplier settings: the supplier row, its SKU mappings (one by one or from a CSV file)
and its shipping mappings.

Managers write these from /dropship/suppliers. Every operation validates, writes an audit
event (no order: `order_id` is None, kind "supplier_settings") and flushes; the view
commits. The API token never reaches an audit note or an error message.
"""

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import select

from models.actor import Actor
from models.audit import AuditEvent, audit_row
from models.base import db
from models.catalog.products import Product, Supplier, SupplierSku
from models.errors import InvalidInput
from models.intake.csvfile import (
    CsvFile,
    CsvFileError,
    detect_encoding,
    header_field,
    parse_amount,
    sniff_delimiter,
)
from models.shipping.carriers import KEEP, SECRET_MAX, Keep, invalid

from .mappings import fold
from .tables import ShippingMapping

KIND = "supplier_settings"
NAME_MAX = 120  # Supplier.name
URL_MAX = 255  # Supplier.base_url
METHOD_MAX = 120  # Supplier.default_shipping_method, ShippingMapping.method
SKU_MAX = 64  # SupplierSku.supplier_sku
SKU_METHOD_MAX = 64  # SupplierSku.shipping_method
POLL_MINUTES = (1, 1440)
MAX_COST_CENTS = 10**9


def _audit(actor: Actor, supplier: Supplier, note: str) -> None:
    """One settings event, named after the supplier."""
    db.session.add(AuditEvent(**audit_row(None, actor, KIND, None, supplier.name[:64],
                                          f"{supplier.name}: {note}"[:1000])))


# ---- the supplier ------------------------------------------------------------------------


@dataclass
class SupplierFields:
    """What a manager typed for one supplier; the token is KEEP, None (clear) or a new value.

    `needs_url` says whether the kind calls an API at base_url (the caller knows
    workers/suppliers, which models do not import); `settings` were checked by the kind.
    """

    name: str
    kind: str
    needs_url: bool = True
    active: bool = True
    base_url: str = ""
    default_shipping_method: str = ""
    edit_before_submit: bool = True
    poll_interval_minutes: int = 5
    settings: dict = field(default_factory=dict)
    api_key: str | None | Keep = KEEP


def _check(supplier: Supplier | None, data: SupplierFields) -> None:
    """Refuse a supplier that could not work or would take another one's name."""
    if not data.name:
        raise invalid("name", _("Give the supplier a name."))
    if len(data.name) > NAME_MAX:
        raise invalid("name", _("The name is too long (at most %(max)s characters).",
                                max=NAME_MAX))
    if data.needs_url and not data.base_url:
        raise invalid("base_url", _("Give the address of the supplier's API: orders are "
                                    "sent there."))
    if data.base_url:
        parts = urlsplit(data.base_url)
        if (len(data.base_url) > URL_MAX or parts.scheme not in ("http", "https")
                or not parts.hostname or re.search(r"\s", data.base_url)):
            raise invalid("base_url", _("The API address is a web address starting with "
                                        "https:// (or http://), at most %(max)s characters.",
                                        max=URL_MAX))
    if len(data.default_shipping_method) > METHOD_MAX:
        raise invalid("default_shipping_method",
                      _("The shipping method is too long (at most %(max)s characters).",
                        max=METHOD_MAX))
    if not POLL_MINUTES[0] <= data.poll_interval_minutes <= POLL_MINUTES[1]:
        raise invalid("poll_interval_minutes", _("Ask every 1 to 1440 minutes (a day)."))
    if isinstance(data.api_key, str) and len(data.api_key) > SECRET_MAX:
        raise invalid("api_key", _("The API token is too long (at most %(max)s characters).",
                                   max=SECRET_MAX))
    query = select(Supplier.id).where(Supplier.name == data.name)
    if supplier is not None:
        query = query.where(Supplier.id != supplier.id)
    if db.session.scalar(query.limit(1)) is not None:
        raise invalid("name", _("Another supplier is already called “%(name)s”.",
                                name=data.name))


def save_supplier(supplier: Supplier | None, data: SupplierFields, actor: Actor) -> Supplier:
    """Create (supplier None) or update a supplier from a manager's form; audit what changed."""
    data.name = (data.name or "").strip()
    data.base_url = (data.base_url or "").strip().rstrip("/")
    data.default_shipping_method = (data.default_shipping_method or "").strip()
    if isinstance(data.api_key, str):
        data.api_key = data.api_key.strip() or KEEP
    _check(supplier, data)
    created = supplier is None
    plain = {"name": data.name, "kind": data.kind, "active": bool(data.active),
             "base_url": data.base_url or None,
             "default_shipping_method": data.default_shipping_method,
             "edit_before_submit": bool(data.edit_before_submit),
             "poll_interval_minutes": data.poll_interval_minutes,
             "settings": dict(data.settings)}
    if created:
        supplier = Supplier(settings={})
        db.session.add(supplier)
    changed = []
    for column, value in plain.items():
        if getattr(supplier, column) != value:
            changed.append(column.replace("_", " "))
            setattr(supplier, column, value)
    if not isinstance(data.api_key, Keep) and supplier.api_key != data.api_key:
        changed.append("API token " + ("cleared" if data.api_key is None else "replaced"))
        supplier.api_key = data.api_key
    db.session.flush()
    if created or changed:
        _audit(actor, supplier, "supplier added" if created else "changed: " + ", ".join(changed))
        db.session.flush()
    return supplier


# ---- SKU mappings -----------------------------------------------------------------------


def _product(sku: str) -> Product:
    """The catalogue's product with this SKU; refused when there is none."""
    product = db.session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise invalid("sku", _("No product has the SKU “%(sku)s” in the catalogue.", sku=sku))
    return product


def _check_mapping(supplier_sku: str, cost_cents: int | None, method: str) -> None:
    """Refuse a supplier SKU, cost or method that cannot be stored or sent."""
    if not supplier_sku:
        raise invalid("supplier_sku", _("Give the supplier's SKU for this product."))
    if len(supplier_sku) > SKU_MAX:
        raise invalid("supplier_sku", _("The supplier SKU is too long (at most %(max)s "
                                        "characters).", max=SKU_MAX))
    if cost_cents is not None and not 0 <= cost_cents <= MAX_COST_CENTS:
        raise invalid("cost", _("The cost is an amount from 0 upwards."))
    if len(method) > SKU_METHOD_MAX:
        raise invalid("shipping_method", _("The shipping method is too long (at most "
                                           "%(max)s characters).", max=SKU_METHOD_MAX))


def set_sku_mapping(supplier: Supplier, sku: str, supplier_sku: str, cost_cents: int | None,
                    shipping_method: str, actor: Actor) -> tuple[SupplierSku, str]:
    """Map one of our SKUs to the supplier's (create or update); "created", "updated" or
    "unchanged". A cost of None keeps the stored one (0 for a new mapping)."""
    sku, supplier_sku = (sku or "").strip(), (supplier_sku or "").strip()
    method = (shipping_method or "").strip()
    if not sku:
        raise invalid("sku", _("Give our SKU (a product of the catalogue)."))
    _check_mapping(supplier_sku, cost_cents, method)
    product = _product(sku)
    mapping = db.session.scalar(select(SupplierSku).where(
        SupplierSku.supplier_id == supplier.id, SupplierSku.product_id == product.id))
    outcome = _write_mapping(supplier, product.id, sku, mapping, supplier_sku, cost_cents,
                             method, actor)
    db.session.flush()
    return mapping or _mapping_of(supplier.id, product.id), outcome


def _mapping_of(supplier_id: int, product_id: int) -> SupplierSku:
    """A mapping just written."""
    return db.session.scalar(select(SupplierSku).where(SupplierSku.supplier_id == supplier_id,
                                                       SupplierSku.product_id == product_id))


def _write_mapping(supplier: Supplier, product_id: int, sku: str, mapping: SupplierSku | None,
                   supplier_sku: str, cost_cents: int | None, method: str,
                   actor: Actor) -> str:
    """Insert or update one mapping (checked already) and audit it."""
    if mapping is None:
        db.session.add(SupplierSku(supplier_id=supplier.id, product_id=product_id,
                                   supplier_sku=supplier_sku, cost_cents=cost_cents or 0,
                                   shipping_method=method or None))
        _audit(actor, supplier, f"{sku} mapped to {supplier_sku}")
        return "created"
    before = (mapping.supplier_sku, mapping.cost_cents, mapping.shipping_method)
    mapping.supplier_sku = supplier_sku
    if cost_cents is not None:
        mapping.cost_cents = cost_cents
    mapping.shipping_method = method or None
    after = (mapping.supplier_sku, mapping.cost_cents, mapping.shipping_method)
    if after == before:
        return "unchanged"
    _audit(actor, supplier, f"{sku} mapping: {before[0]} → {supplier_sku}, cost "
                            f"{before[1]} → {mapping.cost_cents}")
    return "updated"


def delete_sku_mapping(mapping: SupplierSku, actor: Actor) -> None:
    """Forget one SKU mapping (lines already split keep the SKU they were sent with)."""
    supplier, sku = mapping.supplier, mapping.product.sku
    db.session.delete(mapping)
    _audit(actor, supplier, f"{sku} mapping to {mapping.supplier_sku} removed")
    db.session.flush()


@dataclass
class MappingRow:
    """One data row of a SKU-mapping file, its values and what became of it."""

    line: int
    sku: str
    supplier_sku: str
    cost: str
    shipping_method: str
    cost_cents: int | None = None
    outcome: str = ""  # created, updated, unchanged, refused
    reasons: list[str] = field(default_factory=list)


@dataclass
class MappingReport:
    """What a SKU-mapping file did, row by row."""

    rows: list[MappingRow]

    def count(self, outcome: str) -> int:
        """Rows with this outcome."""
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def refused(self) -> list[MappingRow]:
        """The refused rows, in file order."""
        return [row for row in self.rows if row.outcome == "refused"]


# A mapping file's headers (after header_field, accents removed) -> our columns. French
# exports name them too: produit, référence fournisseur, coût, mode de livraison.
MAPPING_HEADERS = {
    **dict.fromkeys(("sku", "our_sku", "notre_sku", "produit", "code_produit", "article"),
                    "sku"),
    **dict.fromkeys(("supplier_sku", "vendor_sku", "sku_fournisseur", "reference_fournisseur",
                     "ref_fournisseur", "code_fournisseur", "fournisseur_sku"), "supplier_sku"),
    **dict.fromkeys(("cost", "unit_cost", "cout", "cout_unitaire", "prix_achat",
                     "prix_d'achat", "unit_price", "price"), "cost"),
    **dict.fromkeys(("shipping_method", "method", "mode_livraison", "mode_de_livraison",
                     "methode_livraison", "methode_de_livraison", "livraison"),
                    "shipping_method"),
}
MAPPING_REQUIRED = ("sku", "supplier_sku")
MAPPING_COLUMNS = ("sku", "supplier_sku", "cost", "shipping_method")


def _plain(text: str) -> str:
    """Text without accents."""
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))


def read_mapping_csv(content: bytes) -> list[MappingRow]:
    """A SKU-mapping file's data rows; InvalidInput when the file as a whole is unreadable.

    Encodings and separators are those of order uploads (models/intake/csvfile.py).
    """
    encoding = detect_encoding(content)
    text = content.decode(encoding, errors="replace")
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = sniff_delimiter(first)
    try:
        header = next(csv.reader([first], delimiter=delimiter), [])
    except csv.Error as error:
        raise InvalidInput(_("The first line cannot be read: %(problem)s.",
                             problem=error)) from error
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        column = MAPPING_HEADERS.get(_plain(header_field(name)))
        if column is None:
            continue
        if column in columns:
            raise InvalidInput(_("Two columns both mean %(column)s: “%(one)s” and “%(other)s”. "
                                 "Keep one.", column=column, one=header[columns[column]],
                                 other=name.strip()))
        columns[column] = index
    absent = [name for name in MAPPING_REQUIRED if name not in columns]
    if absent:
        raise InvalidInput(_("Missing columns: %(missing)s. The first line must name the "
                             "columns: %(columns)s.", missing=", ".join(absent),
                             columns=", ".join(MAPPING_COLUMNS)))
    rows = []
    try:
        for line, cells in CsvFile(content, encoding, delimiter, header, columns).records():
            values = {name: cells[i].strip() if i < len(cells) else ""
                      for name, i in columns.items()}
            rows.append(MappingRow(line, values.get("sku", ""), values.get("supplier_sku", ""),
                                   values.get("cost", ""), values.get("shipping_method", "")))
    except (CsvFileError, UnicodeDecodeError) as error:
        raise InvalidInput(str(error) if isinstance(error, CsvFileError) else
                           _("The file is not text in one encoding: save it as CSV UTF-8.")) \
            from error
    if not rows:
        raise InvalidInput(_("The file has no rows under its header."))
    return rows


def import_sku_mappings(supplier: Supplier, rows: list[MappingRow],
                        actor: Actor) -> MappingReport:
    """Apply a file's valid rows (create or update) and refuse the others with reasons.

    Nothing is committed here: the view commits the whole file at once.
    """
    products = _products({row.sku for row in rows if row.sku})
    existing = _mappings(supplier.id, [p.id for p in products.values()])
    seen: dict[str, int] = {}
    for row in rows:
        _check_row(row, products, seen)
        if row.reasons:
            row.outcome = "refused"
            continue
        product = products[row.sku]
        row.outcome = _write_mapping(supplier, product.id, row.sku, existing.get(product.id),
                                     row.supplier_sku, row.cost_cents, row.shipping_method,
                                     actor)
    db.session.flush()
    return MappingReport(rows)


def _check_row(row: MappingRow, products: dict[str, Product], seen: dict[str, int]) -> None:
    """Put on the row every reason it cannot be applied."""
    if not row.sku:
        row.reasons.append(_("Our SKU is empty."))
    elif row.sku not in products:
        row.reasons.append(_("SKU “%(sku)s” is not in the catalogue.", sku=row.sku))
    elif row.sku in seen:
        row.reasons.append(_("SKU %(sku)s is already on line %(line)s: keep one row per SKU.",
                             sku=row.sku, line=seen[row.sku]))
    if row.sku:
        seen.setdefault(row.sku, row.line)
    if not row.supplier_sku:
        row.reasons.append(_("The supplier SKU is empty."))
    elif len(row.supplier_sku) > SKU_MAX:
        row.reasons.append(_("The supplier SKU is longer than %(max)s characters.",
                             max=SKU_MAX))
    if row.cost:
        try:
            row.cost_cents = parse_amount(row.cost)
        except ValueError:
            row.reasons.append(_("Cost “%(cost)s” is not an amount (write 12.50 or 12,50).",
                                 cost=row.cost))
        else:
            if row.cost_cents > MAX_COST_CENTS:
                row.reasons.append(_("Cost “%(cost)s” is too large.", cost=row.cost))
    if len(row.shipping_method) > SKU_METHOD_MAX:
        row.reasons.append(_("The shipping method is longer than %(max)s characters.",
                             max=SKU_METHOD_MAX))


def _products(skus: set[str]) -> dict[str, Product]:
    """The catalogue's products with these SKUs, by SKU (read in slices)."""
    found: dict[str, Product] = {}
    ordered = sorted(skus)
    for start in range(0, len(ordered), 500):
        for product in db.session.scalars(select(Product).where(
                Product.sku.in_(ordered[start:start + 500]))):
            found[product.sku] = product
    return found


def _mappings(supplier_id: int, product_ids: list[int]) -> dict[int, SupplierSku]:
    """The supplier's mappings of these products, by product id."""
    found: dict[int, SupplierSku] = {}
    for start in range(0, len(product_ids), 500):
        for mapping in db.session.scalars(select(SupplierSku).where(
                SupplierSku.supplier_id == supplier_id,
                SupplierSku.product_id.in_(product_ids[start:start + 500]))):
            found[mapping.product_id] = mapping
    return found


# ---- shipping mappings --------------------------------------------------------------------


def set_shipping_mapping(supplier: Supplier, rate_name: str, method: str,
                         actor: Actor) -> ShippingMapping:
    """Map a channel's rate name (matched folded) to one of the supplier's methods."""
    rate_name, method = (rate_name or "").strip(), (method or "").strip()
    key = fold(rate_name)
    if not key:
        raise invalid("rate_name", _("Give the rate name as the channel sends it "
                                     "(e.g. “Livraison gratuite”)."))
    if len(rate_name) > METHOD_MAX:
        raise invalid("rate_name", _("The rate name is too long (at most %(max)s "
                                     "characters).", max=METHOD_MAX))
    if not method:
        raise invalid("method", _("Give the supplier's shipping method for this rate."))
    if len(method) > METHOD_MAX:
        raise invalid("method", _("The method is too long (at most %(max)s characters).",
                                  max=METHOD_MAX))
    mapping = db.session.scalar(select(ShippingMapping).where(
        ShippingMapping.supplier_id == supplier.id, ShippingMapping.rate_key == key))
    if mapping is None:
        mapping = ShippingMapping(supplier_id=supplier.id, rate_name=rate_name, rate_key=key,
                                  method=method)
        db.session.add(mapping)
    else:
        mapping.rate_name, mapping.method = rate_name, method
    _audit(actor, supplier, f"rate “{rate_name}” sent as “{method}”")
    db.session.flush()
    return mapping


def delete_shipping_mapping(mapping: ShippingMapping, supplier: Supplier, actor: Actor) -> None:
    """Forget a shipping mapping: that rate falls back to the supplier's default method."""
    db.session.delete(mapping)
    _audit(actor, supplier, f"rate “{mapping.rate_name}” mapping removed")
    db.session.flush()


__all__ = [
    "KEEP", "POLL_MINUTES", "InvalidInput", "MappingReport", "MappingRow", "SupplierFields",
    "delete_shipping_mapping", "delete_sku_mapping", "import_sku_mappings", "read_mapping_csv",
    "save_supplier",
    "set_shipping_mapping", "set_sku_mapping",
]
