"""Scan mode: a barcode scanner at the packing table packs orders and books returns."""

import json
from dataclasses import dataclass

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from extensions import db
from models import Actor, Order
from models.errors import DomainError
from models.shipping.operations import find_for_scan, parcel_of, scan_move, undo_packing
from models.status import Role, Shipping

from ..web import form_error, get_or_404, is_fragment, render, role_required
from . import bp
from .forms import ScanForm

SCAN_ROLES = (Role.OPERATOR, Role.MANAGER)


@dataclass
class ScanResult:
    """One scan's entry in the running list."""

    code: str
    ok: bool
    message: str
    order_id: int | None = None
    customer: str = ""
    city: str = ""
    status: str | None = None  # the order's shipping status after the scan
    undo: bool = False  # the entry offers Undo (a packing the carrier does not have yet)
    why_no_undo: str = ""
    http_status: int = 200


def _entry(result: ScanResult, *, kind: str = "scan"):
    """The <li> of one scan or undo, with the tone the page plays for it."""
    tone = "high" if result.ok else "low"
    html, status = render("shipping/_scan_entry.html", status=result.http_status,
                          result=result, kind=kind)
    return html, status, {"HX-Trigger": json.dumps({"scan-tone": tone})}


def scan_code(code: str, actor: Actor) -> ScanResult:
    """Created → Fulfilled, In return → Returned; anything else is refused with the reason."""
    order = find_for_scan(code)
    if order is None:
        return ScanResult(code, False, _("No order or parcel with that code."), http_status=404)
    result = ScanResult(code, False, "", order.id, order.customer_name, order.city,
                        order.shipping_status, http_status=409)
    try:
        to = scan_move(order, code, actor)
    except DomainError as refused:
        db.session.rollback()
        result.message = refused.message
        return result
    db.session.commit()
    result.ok, result.status, result.http_status = True, to, 200
    if to == Shipping.FULFILLED.value:
        result.message = _("Packed %(ref)s.", ref=order.reference)
        result.undo = True
    else:
        result.message = _("Returned %(ref)s: the goods are back in stock.",
                           ref=order.reference)
        result.why_no_undo = _("A return cannot be undone: the goods were booked back into "
                               "stock.")
    return result


@bp.get("/scan")
@role_required(*SCAN_ROLES)
def scan_page():
    """Scan mode: one always-focused field for the scanner, and this session's scans."""
    return render("shipping/scan.html", form=ScanForm())


@bp.post("/scan")
@role_required(*SCAN_ROLES)
def scan():
    """Apply one scanned code and answer with its entry for the running list."""
    form = ScanForm()
    if not form.validate():
        if not is_fragment():
            raise form_error(form)
        result = ScanResult("", False, _("Scan or type a code."), http_status=422)
        return _entry(result)
    result = scan_code(form.code.data.strip(), Actor.of(current_user))
    if not is_fragment():
        flash(result.message, "success" if result.ok else "error")
        return redirect(url_for("shipping.scan_page"), code=303)
    return _entry(result)


@bp.post("/scan/<int:order_id>/undo")
@role_required(*SCAN_ROLES)
def undo_scan(order_id: int):
    """Take back a packing scan while the carrier has not been asked to collect the parcel."""
    order = get_or_404(Order, order_id)
    result = ScanResult("", False, "", order.id, order.customer_name, order.city)
    try:
        undo_packing(order, Actor.of(current_user), source="scan")
    except DomainError as refused:
        db.session.rollback()
        result.message, result.http_status = refused.message, 409
        result.status = order.shipping_status
        parcel = parcel_of(order_id)
        if parcel is not None and parcel.handed_over_at is not None:
            result.why_no_undo = _("The carrier was asked to collect it.")
    else:
        db.session.commit()
        result.ok, result.status = True, Shipping.CREATED.value
        result.message = _("Undone: %(ref)s is back to Created, waiting to be packed.",
                           ref=order.reference)
    if not is_fragment():
        flash(result.message, "success" if result.ok else "error")
        return redirect(url_for("shipping.scan_page"), code=303)
    return _entry(result, kind="undo")
