"""Entering an order by hand: the form, its line rows, the phone check and the lines' total."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import select

from extensions import db
from models import Actor, CallSettings, Channel, Order
from models.calls.card import phone_history
from models.intake.manual import enter_order
from models.phones import is_valid_phone, normalize_phone
from models.status import Confirmation, PushStatus, Role

from ..delayed import start_due
from ..web import render, role_required
from . import bp
from .entry import CURRENCY, Entry, LineRow, ManualOrderForm, line_rows, lines_total, products

ENTERERS = (Role.OPERATOR, Role.MANAGER)
SHOWN_SAME_PHONE = 8


def _form() -> ManualOrderForm:
    """The form with the active channels; the first manual one is picked when none is."""
    form = ManualOrderForm()
    channels = db.session.execute(select(Channel.id, Channel.name, Channel.kind).where(
        Channel.active.is_(True)).order_by(Channel.name)).all()
    form.channel.choices = [(i, name) for i, name, _kind in channels]
    if form.channel.data is None:
        form.channel.data = next((i for i, _n, kind in channels if kind == "manual"),
                                 channels[0][0] if channels else None)
    return form


def _page(form: ManualOrderForm, rows: list[LineRow], errors: dict | None = None,
          status: int = 200, existing: int | None = None):
    """The form page, with every active product for the line selects."""
    return render("orders/new.html", status=status, form=form, rows=rows or [LineRow()],
                  errors=errors or {}, existing=existing, products=products(),
                  currency=CURRENCY, total=lines_total(rows), check=_phone_check(form.phone.data))


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
        return _("Order %(ref)s created — confirmed by the system (prepaid channel).",
                 ref=order.reference)
    if order.push_status == PushStatus.SENT:
        return _("Order %(ref)s created — it is in the call queue.", ref=order.reference)
    return _("Order %(ref)s created — held: %(why)s", ref=order.reference,
             why=order.push_detail)


@bp.route("/new", methods=["GET", "POST"])
@role_required(*ENTERERS)
def new_order():
    """Enter an order by hand; it goes through the intake door like any other."""
    form = _form()
    if request.method == "GET":
        return _page(form, [])
    region = CallSettings.load().phone_region
    entry = Entry.read(form, request.form, region)
    if not entry.problems:
        arrival = enter_order(db.session.get(Channel, form.channel.data), entry.order,
                              Actor.of(current_user), region)
        if not arrival.created and not arrival.problems:
            return _page(form, entry.rows, status=409, existing=arrival.order_id)
        entry.problems = arrival.problems
    if entry.problems:
        return _page(form, entry.rows, entry.errors(), status=422)
    db.session.commit()
    order = db.session.get(Order, arrival.order_id)
    # A prepaid order's parcel, and its supplier orders if its channel auto-processes.
    if order.confirmation_status == Confirmation.CONFIRMED and (delayed := start_due()):
        flash(delayed, "info")
    flash(_notice(order), "success" if order.push_status == PushStatus.SENT else "info")
    return redirect(url_for("orders.detail", order_id=order.id), code=303)


@bp.get("/new/line")
@role_required(*ENTERERS)
def new_order_line():
    """One more empty product row for the form."""
    return render_template("orders/_new_line.html", row=LineRow(), products=products(),
                           currency=CURRENCY)


@bp.get("/new/total")
@role_required(*ENTERERS)
def new_order_total():
    """The lines' total as picked so far."""
    return render_block("orders/new.html", "lines_total",
                        total=lines_total(line_rows(request.args)), currency=CURRENCY)


@bp.get("/new/phone")
@role_required(*ENTERERS)
def new_order_phone():
    """Other orders from the number being typed, as the call card flags them."""
    return render_template("orders/_phone_check.html",
                           check=_phone_check(request.args.get("phone")))
