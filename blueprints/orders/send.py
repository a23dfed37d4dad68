"""Sending held orders (Not sent, Error) on from the orders list, a report line per order."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from extensions import db
from models import Actor
from models.intake.forwarding import Result, send_orders
from models.status import Role
from workers.shipping import request_registration
from workers.suppliers.jobs import request_due_processing

from ..shipping.forms import parse_ids
from ..web import is_fragment, role_required
from . import bp

DONE = frozenset({Result.SENT, Result.CONFIRMED})


@bp.post("/send")
@role_required(Role.OPERATOR, Role.MANAGER)
def send_selected():
    """Send the ticked orders on to confirmation; say what became of each."""
    results = send_orders(parse_ids(request.form.getlist("ids")), Actor.of(current_user))
    db.session.commit()
    if any(r.result == Result.CONFIRMED for r in results):
        request_registration()  # a prepaid order confirmed now has a parcel to register
        request_due_processing()  # and its supplier orders, if its channel auto-processes
    if is_fragment():
        return render_template("orders/_send_report.html", results=results, done=DONE)
    for r in results:
        flash(r.message, "success" if r.result in DONE else "error")
    return redirect(url_for("orders.index"), code=303)
