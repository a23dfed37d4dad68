"""The manual order form read into an IncomingOrder, and the door's messages put back
beside the fields and line rows they are about."""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField

from extensions import db
from models import Product
from models.intake.incoming import Catalogue, IncomingLine, IncomingOrder, Problem, check_order
from models.phones import latin_digits

CURRENCY = "MAD"  # what IncomingOrder defaults to; the catalogue's prices are in it
MAX_LINES = 50
# The door's field names that have a place of their own on the form; others go on top.
FIELDS = frozenset({"channel", "external_id", "customer_name", "phone", "address", "city",
                    "region", "cod_amount", "note", "lines"})


class ManualOrderForm(FlaskForm):
    """The order's own fields; the intake door checks them (lines are read apart)."""

    channel = SelectField(_l("Channel"), coerce=int, choices=[])
    external_id = StringField(_l("Order id"))
    customer_name = StringField(_l("Customer name"))
    phone = StringField(_l("Phone"))
    address = StringField(_l("Address"))
    city = StringField(_l("City"))
    region = StringField(_l("Region"))
    cod_amount = StringField(_l("COD amount"))
    note = TextAreaField(_l("Note"))


@dataclass
class LineRow:
    """One product row of the form, as typed, with its messages."""

    product: str = ""
    quantity: str = "1"
    errors: list[str] = field(default_factory=list)

    @property
    def product_id(self) -> int | None:
        """The picked product's id, or None when the value is not one."""
        return int(self.product) if self.product.isdigit() and len(self.product) < 10 else None


def products(ids=None) -> dict[int, object]:
    """Active products by id (all, or these ids), in SKU order."""
    query = select(Product.id, Product.sku, Product.name, Product.price_cents).where(
        Product.active.is_(True)).order_by(Product.sku)
    if ids is not None:
        query = query.where(Product.id.in_(ids))
    return {p.id: p for p in db.session.execute(query)}


def line_rows(values) -> list[LineRow]:
    """The line rows as typed (form or query string); rows left without a product are dropped."""
    rows = zip(values.getlist("product"), values.getlist("quantity"), strict=False)
    return [LineRow(p.strip(), q.strip()) for p, q in rows if p.strip()][:MAX_LINES]


def quantity(text: str) -> int:
    """A quantity as typed; 0 when it is not a whole number (the door refuses it, saying why)."""
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else 0


def lines_total(rows: list[LineRow]) -> int:
    """What the picked lines cost (rows without a known product or quantity count 0)."""
    ids = {r.product_id for r in rows} - {None}
    prices = {i: p.price_cents for i, p in products(ids).items()} if ids else {}
    return sum(prices.get(r.product_id, 0) * quantity(r.quantity) for r in rows)


def _cents(text: str) -> int | None:
    """"249", "249.50" or "249,50" in minor units; ValueError when it is not an amount."""
    text = (text or "").strip().replace(" ", "").replace(",", ".")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not amount.is_finite() or abs(amount) >= 10**9 or amount != amount.quantize(
            Decimal("0.01")):
        raise ValueError(text)
    return int(amount * 100)


@dataclass
class Entry:
    """A submitted form: its rows, the order it makes, and what is wrong with it so far."""

    form: ManualOrderForm
    rows: list[LineRow]
    order: IncomingOrder
    problems: list[Problem]
    line_rows: list[int]  # the form row of each of the order's lines

    @classmethod
    def read(cls, form: ManualOrderForm, values, region: str) -> "Entry":
        """Read the submitted form; when the form itself is wrong, the door's checks are
        added (nothing is created) so every message shows at once."""
        rows = line_rows(values)
        form.validate()
        problems = [Problem(name, messages[0]) for name, messages in form.errors.items()]
        ids = {r.product_id for r in rows} - {None}
        picked = products(ids) if ids else {}
        lines, placed = [], []
        for n, row in enumerate(rows):
            product = picked.get(row.product_id)
            if product is None:
                problems.append(Problem(f"rows[{n}]", _("Pick a product from the list.")))
                continue
            lines.append(IncomingLine(product.sku, quantity(row.quantity)))
            placed.append(n)
        try:
            cod = _cents(form.cod_amount.data)
        except ValueError:
            cod = None
            problems.append(Problem("cod_amount", _(
                "Write the amount as a number, e.g. 249.00, or leave it blank for the "
                "lines' total.")))
        entry = cls(form, rows, _order(form, lines, cod), problems, placed)
        if problems:
            entry.problems += entry._door_checks(region)
        return entry

    def _door_checks(self, region: str) -> list[Problem]:
        """The door's own checks, shown beside the problems only the form sees."""
        catalogue = Catalogue.load(line.sku for line in self.order.lines)
        # A row's own message already says what to pick; a blank order id is made on entry.
        skip = {"lines"} | (set() if self.order.external_id.strip() else {"external_id"})
        return [p for p in check_order(self.order, catalogue, region) if p.field not in skip]

    def errors(self) -> dict[str, list[str]]:
        """Each message next to its field ({field: [messages]}); line messages on their rows."""
        errors: dict[str, list[str]] = {}
        for problem in self.problems:
            name = problem.field
            if name.startswith(("lines[", "rows[")):
                n = int(name[name.index("[") + 1:name.index("]")])
                row = self.line_rows[n] if name.startswith("lines[") else n
                self.rows[row].errors.append(problem.message)
                continue
            errors.setdefault(name if name in FIELDS else "form", []).append(problem.message)
        return errors


def _order(form: ManualOrderForm, lines: list[IncomingLine], cod: int | None) -> IncomingOrder:
    """The IncomingOrder the form describes."""
    return IncomingOrder(
        external_id=form.external_id.data or "", customer_name=form.customer_name.data or "",
        phone=latin_digits(form.phone.data).strip(), lines=lines, address=form.address.data or "",
        city=form.city.data or "", region=form.region.data or "", cod_amount_cents=cod,
        currency=CURRENCY, note=form.note.data or "")
