"""Entering an order by hand: the form, its line rows, the phone check and the lines' total."""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from jinja2_fragments.flask import render_block
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField

from extensions import db
from models import Actor, CallSettings, Channel, Order, Product
from models.calls.card import phone_history
from models.intake.incoming import Catalogue, IncomingLine, IncomingOrder, Problem, check_order
from models.intake.manual import enter_order
from models.phones import is_valid_phone, normalize_phone
from models.status import Confirmation, PushStatus, Role
from workers.shipping import request_registration

from ..web import render, role_required
from . import bp

ENTERERS = (Role.OPERATOR, Role.MANAGER)
CURRENCY = "MAD"  # what IncomingOrder defaults to; the catalogue's prices are in it
MAX_LINES = 50
SHOWN_SAME_PHONE = 8
# The door's field names that have a field of their own on the form; others go on top.
FIELDS = frozenset({"external_id", "customer_name", "phone", "address", "city", "region",
                    "cod_amount", "note", "lines"})


class ManualOrderForm(FlaskForm):
    """The order's own fields; the intake door checks them (lines are read apart)."""

    channel = SelectField("Channel", coerce=int, choices=[])
    external_id = StringField("Order id")
    customer_name = StringField("Customer name")
    phone = StringField("Phone")
    address = StringField("Address")
    city = StringField("City")
    region = StringField("Region")
    cod_amount = StringField("COD amount")
    note = TextAreaField("Note")


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


def _channels() -> list[tuple[int, str, str]]:
    """Active channels (id, name, kind) by name."""
    return db.session.execute(select(Channel.id, Channel.name, Channel.kind)
                              .where(Channel.active.is_(True)).order_by(Channel.name)).all()


def _products(ids=None) -> dict[int, object]:
    """Active products by id (all, or these ids), in SKU order."""
    query = select(Product.id, Product.sku, Product.name, Product.price_cents).where(
        Product.active.is_(True)).order_by(Product.sku)
    if ids is not None:
        query = query.where(Product.id.in_(ids))
    return {p.id: p for p in db.session.execute(query)}


def _form() -> ManualOrderForm:
    """The form with its channels; the first manual channel is picked when none is."""
    form = ManualOrderForm()
    channels = _channels()
    form.channel.choices = [(i, name) for i, name, _kind in channels]
    if form.channel.data is None:
        form.channel.data = next((i for i, _n, kind in channels if kind == "manual"),
                                 channels[0][0] if channels else None)
    return form


def _quantity(text: str) -> int:
    """A quantity as typed; 0 when it is not a whole number (the door refuses it, saying why)."""
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else 0


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


def _rows(values) -> list[LineRow]:
    """The line rows as typed (form or query string); rows left without a product are dropped."""
    rows = zip(values.getlist("product"), values.getlist("quantity"), strict=False)
    return [LineRow(p.strip(), q.strip()) for p, q in rows if p.strip()][:MAX_LINES]


def _incoming(form: ManualOrderForm, rows: list[LineRow]):
    """(IncomingOrder, the row of each of its lines, problems the door cannot see)."""
    picked = {r.product_id for r in rows} - {None}
    products = _products(picked) if picked else {}
    lines, line_rows, problems = [], [], []
    for n, row in enumerate(rows):
        product = products.get(row.product_id)
        if product is None:
            problems.append(Problem(f"rows[{n}]", "Pick a product from the list."))
            continue
        lines.append(IncomingLine(product.sku, _quantity(row.quantity)))
        line_rows.append(n)
    try:
        cod = _cents(form.cod_amount.data)
    except ValueError:
        cod = None
        problems.append(Problem("cod_amount", "Write the amount as a number, e.g. 249.00, "
                                              "or leave it blank for the lines' total."))
    order = IncomingOrder(
        external_id=form.external_id.data or "", customer_name=form.customer_name.data or "",
        phone=form.phone.data or "", lines=lines, address=form.address.data or "",
        city=form.city.data or "", region=form.region.data or "", cod_amount_cents=cod,
        currency=CURRENCY, note=form.note.data or "")
    return order, line_rows, problems


def _place(problems: list[Problem], rows: list[LineRow], line_rows: list[int]) -> dict:
    """Each message next to its field: {field: [messages]}; line messages onto their rows."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        name = problem.field
        if name.startswith(("lines[", "rows[")):
            n = int(name[name.index("[") + 1:name.index("]")])
            rows[line_rows[n] if name.startswith("lines[") else n].errors.append(problem.message)
            continue
        errors.setdefault(name if name in FIELDS else "form", []).append(problem.message)
    return errors


def _page(form, rows: list[LineRow], errors: dict | None = None, status: int = 200,
          existing: int | None = None):
    """The form page, with every product for the line selects."""
    return render("orders/new.html", status=status, form=form, rows=rows or [LineRow()],
                  errors=errors or {}, existing=existing, products=_products(),
                  currency=CURRENCY, total=_total(rows), check=_phone_check(form.phone.data))


def _total(rows: list[LineRow]) -> int:
    """What the picked lines cost (rows without a known product or quantity count 0)."""
    ids = {r.product_id for r in rows} - {None}
    prices = {i: p.price_cents for i, p in _products(ids).items()} if ids else {}
    return sum(prices.get(r.product_id, 0) * _quantity(r.quantity) for r in rows)


def _phone_check(typed: str | None) -> dict | None:
    """Who else ordered from this number: the context of _phone_check.html."""
    typed = (typed or "").strip()
    if not typed:
        return None
    phone = normalize_phone(typed, CallSettings.load().phone_region)
    history = phone_history(phone)
    return {"typed": typed, "phone": phone, "valid": is_valid_phone(phone),
            "history": history, "shown": history.orders[:SHOWN_SAME_PHONE]}


def _notice(order: Order) -> str:
    """What the flash says about a new order: where it went."""
    if order.confirmation_status == Confirmation.CONFIRMED:
        return f"Order {order.reference} created — confirmed by the system (prepaid channel)."
    if order.push_status == PushStatus.SENT:
        return f"Order {order.reference} created — it is in the call queue."
    return f"Order {order.reference} created — held: {order.push_detail}"


@bp.route("/new", methods=["GET", "POST"])
@role_required(*ENTERERS)
def new_order():
    """Enter an order by hand; it goes through the intake door like any other."""
    form = _form()
    if request.method == "GET":
        return _page(form, [])
    rows = _rows(request.form)
    if not form.validate():
        return _page(form, rows, dict(form.errors), status=422)
    incoming, line_rows, problems = _incoming(form, rows)
    if problems:
        return _page(form, rows, _place(problems + _door_checks(incoming), rows, line_rows),
                     status=422)
    arrival = enter_order(db.session.get(Channel, form.channel.data), incoming,
                          Actor.of(current_user), CallSettings.load().phone_region)
    if arrival.problems:
        return _page(form, rows, _place(arrival.problems, rows, line_rows), status=422)
    if not arrival.created:
        return _page(form, rows, status=409, existing=arrival.order_id)
    db.session.commit()
    order = db.session.get(Order, arrival.order_id)
    if order.confirmation_status == Confirmation.CONFIRMED:
        request_registration()  # the prepaid order's parcel
    flash(_notice(order), "success" if order.push_status == PushStatus.SENT else "info")
    return redirect(url_for("orders.detail", order_id=order.id), code=303)


def _door_checks(incoming: IncomingOrder) -> list[Problem]:
    """The door's own checks, shown beside problems only the form sees (nothing is created)."""
    catalogue = Catalogue.load(line.sku for line in incoming.lines)
    # A row's own message already says what to pick; a blank order id is made on entry.
    skip = {"lines"} | (set() if incoming.external_id.strip() else {"external_id"})
    return [p for p in check_order(incoming, catalogue, CallSettings.load().phone_region)
            if p.field not in skip]


@bp.get("/new/line")
@role_required(*ENTERERS)
def new_order_line():
    """One more empty product row for the form."""
    return render_template("orders/_new_line.html", row=LineRow(), products=_products(),
                           currency=CURRENCY)


@bp.get("/new/total")
@role_required(*ENTERERS)
def new_order_total():
    """The lines' total as picked so far."""
    return render_block("orders/new.html", "lines_total", total=_total(_rows(request.args)),
                        currency=CURRENCY)


@bp.get("/new/phone")
@role_required(*ENTERERS)
def new_order_phone():
    """Other orders from the number being typed, as the call card flags them."""
    return render_template("orders/_phone_check.html",
                           check=_phone_check(request.args.get("phone")))

