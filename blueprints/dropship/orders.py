"""The Orders screen: supplier orders that need work, Process (one or many), Resolve, Cancel.

Every change goes through models/dropship/operations; the supplier's job is nudged only
after the commit, so it always finds what the operator queued.
"""

import re
import uuid

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from extensions import db
from models import Actor
from models.dropship.operations import FieldErrors, cancel, request_processing, resolve
from models.dropship.queries import (
    batch_progress,
    list_supplier_orders,
    load_many,
    load_supplier_order,
    shipping_methods,
    supplier_names,
    tab_counts,
    waiting,
)
from models.dropship.queries import channel_names as channels
from models.dropship.replies import record_tracking
from models.dropship.tables import SupplierOrder
from models.status import Role
from workers.suppliers import jobs

from ..shipping.forms import parse_ids
from ..web import MAX_ID, form_error, is_fragment, render, role_required
from . import bp
from .forms import TAB_LABELS, ButtonForm, CancelForm, TrackingForm, WorkFilterForm, read_fix

ROLES = (Role.OPERATOR, Role.MANAGER)
BATCH = re.compile(r"[0-9a-f]{32}")
QUEUE_DOWN = _l("The job queue is unreachable: the supplier hears of it as soon as the "
                "queue is back (nothing is lost).")
EMPTY = {
    "process": _l("No dropship order waits for Process. Confirmed orders with supplier lines "
                  "appear here."),
    "errors": _l("No supplier order is in error. Orders a supplier refuses, or that fail our "
                 "checks before sending, appear here to Resolve."),
    "progress": _l("No supplier order is with a supplier right now. Processed orders stay "
                   "here until they ship or are canceled."),
}


def _load(so_id: int) -> SupplierOrder:
    """One supplier order as stored now, or 404."""
    if not 0 < so_id <= MAX_ID:
        abort(404)
    return load_supplier_order(so_id) or abort(404)


def _nudge(supplier_ids) -> bool:
    """Wake each supplier's job once (after the commit); False if the queue is down."""
    return all([jobs.request_processing(s) for s in sorted(set(supplier_ids))])


def _row(so: SupplierOrder, notice: str | None = None, *, editing: bool = False,
         status: int = 200, **context):
    """The supplier order's row (or its Resolve form), alone for htmx, else on a page."""
    if editing:
        context.setdefault("methods", shipping_methods(so.supplier))
    return render("dropship/one.html", block="row", status=status, so=so, editing=editing,
                  currency=so.order.currency, notice=notice, buttons=ButtonForm(), **context)


def _after(so: SupplierOrder, notice: str):
    """After an action: the refreshed row for htmx, a 303 back to the list otherwise."""
    if is_fragment():
        return _row(so, notice)
    flash(notice, "info")
    return redirect(url_for("dropship.index"), code=303)


@bp.get("")
@role_required(*ROLES)
def index():
    """Supplier orders by tab (to process, errors, in progress), newest first, 50 a page."""
    form = WorkFilterForm(request.args).fill(supplier_names(), channels())
    context = {"form": form, "tabs": TAB_LABELS, "empty": EMPTY, "buttons": ButtonForm()}
    if not form.validate():
        return render("dropship/orders.html", block="results", status=422, page=None,
                      counts=None, **context)
    f = form.filters()
    return render("dropship/orders.html", block="results",
                  page=list_supplier_orders(f, with_lines=True),
                  counts=tab_counts(f.supplier_id, f.channel_id, f.order_id), **context)


@bp.get("/<int:so_id>/row")
@role_required(*ROLES)
def row(so_id: int):
    """One supplier order's row as it is now (a queued row polls this until it settles)."""
    return _row(_load(so_id))


def _process_notice(so: SupplierOrder, result: str, nudged: bool) -> str:
    """What Process did, in words."""
    if result != "queued":
        return _("Nothing done: %(reference)s is %(reason)s.", reference=so.reference,
                 reason=result)
    notice = _("%(reference)s is queued for %(supplier)s.", reference=so.reference,
               supplier=so.supplier.name)
    return notice if nudged else f"{notice} {QUEUE_DOWN}"


@bp.post("/<int:so_id>/process")
@role_required(*ROLES)
def process(so_id: int):
    """Queue one pending supplier order for its supplier (a second click queues nothing)."""
    so = _load(so_id)
    result = request_processing([so], Actor.of(current_user))[so.id]
    db.session.commit()
    nudged = _nudge([so.supplier_id]) if result == "queued" else True
    return _after(so, _process_notice(so, result, nudged))


@bp.post("/process")
@role_required(*ROLES)
def process_selected():
    """Queue the ticked supplier orders as one batch; its progress polls itself."""
    ids = parse_ids(request.form.getlist("ids"))
    orders = load_many(ids)
    batch = uuid.uuid4().hex
    results = request_processing(orders, Actor.of(current_user), batch=batch)
    db.session.commit()
    nudged = _nudge(so.supplier_id for so in orders if results[so.id] == "queued")
    found = {so.id for so in orders}
    refused = [(f"#{i}", _("no such supplier order")) for i in ids if i not in found]
    refused += [(so.reference, results[so.id]) for so in orders if results[so.id] != "queued"]
    queued = any(result == "queued" for result in results.values())
    if not is_fragment():
        for reference, reason in refused:
            flash(_("%(reference)s was not queued: %(reason)s.", reference=reference,
                    reason=reason), "error")
        if queued:
            return redirect(url_for("dropship.batch", batch=batch), code=303)
        return redirect(url_for("dropship.index"), code=303)
    return render("dropship/_batch_start.html", refused=refused, batch_id=batch,
                  progress=batch_progress(batch) if queued else None, waiting=waiting,
                  notice=None if nudged else str(QUEUE_DOWN), buttons=ButtonForm(),
                  queued=load_many([i for i, result in results.items() if result == "queued"]))


@bp.get("/batches/<batch>")
@role_required(*ROLES)
def batch(batch: str):
    """Where a bulk Process stands: done / total and each order's result."""
    if not BATCH.fullmatch(batch):
        abort(404)
    progress = batch_progress(batch)
    if not progress.rows:
        abort(404)
    return render("dropship/batch.html", block="batch", batch_id=batch, progress=progress,
                  waiting=waiting)


@bp.get("/<int:so_id>/resolve")
@role_required(*ROLES)
def resolve_form(so_id: int):
    """The Resolve (or Edit) form in place of the row."""
    return _row(_load(so_id), editing=True)


@bp.post("/<int:so_id>/resolve", endpoint="resolve")
@role_required(*ROLES)
def resolve_save(so_id: int):
    """Save a Resolve (maybe processing it too); 422 with each field's message, nothing saved."""
    so = _load(so_id)
    try:
        fix, process_too, version = read_fix(request.form, so)
        changes = resolve(so, Actor.of(current_user), fix, expected_version=version,
                          process=process_too)
    except FieldErrors as refused:
        db.session.rollback()
        return _row(_load(so_id), editing=True, status=422, values=request.form,
                    errors=refused.errors)
    db.session.commit()
    nudged = _nudge([so.supplier_id]) if process_too else True
    notice = (_("Saved: %(changes)s.", changes="; ".join(changes)) if changes
              else _("Saved (nothing changed)."))
    if process_too:
        notice += " " + (_("Queued for processing.") if nudged else str(QUEUE_DOWN))
    return _after(so, notice)


@bp.post("/<int:so_id>/cancel", endpoint="cancel")
@role_required(*ROLES)
def cancel_order(so_id: int):
    """Cancel a supplier order with a reason (a sent one: the supplier's job tells them)."""
    so = _load(so_id)
    form = CancelForm()
    if not form.validate():
        raise form_error(form)
    tell = cancel(so, Actor.of(current_user), form.reason.data,
                  expected_version=form.version.data)
    db.session.commit()
    if tell:
        nudged = _nudge([so.supplier_id])
        notice = _("%(supplier)s is being asked to cancel %(reference)s.",
                   supplier=so.supplier.name, reference=so.reference)
        if not nudged:
            notice += f" {QUEUE_DOWN}"
    else:
        notice = _("%(reference)s is canceled.", reference=so.reference)
    return _after(so, notice)


@bp.post("/<int:so_id>/tracking", endpoint="tracking")
@role_required(*ROLES)
def add_tracking(so_id: int):
    """Record the tracking number a supplier sent by e-mail or phone; it is followed from then."""
    so = _load(so_id)
    form = TrackingForm()
    if not form.validate():
        raise form_error(form)
    parcel = record_tracking(so, form.tracking_number.data, form.carrier_name.data,
                             Actor.of(current_user), expected_version=form.version.data)
    db.session.commit()
    carrier = parcel.carrier.name if parcel is not None and parcel.carrier else None
    if carrier:
        return _after(so, _("Tracking %(tracking)s recorded (%(carrier)s): the tracking sync "
                            "follows it.", tracking=so.tracking_number, carrier=carrier))
    return _after(so, _("Tracking %(tracking)s recorded; its carrier was not recognised (set "
                        "it on the order page).", tracking=so.tracking_number))
