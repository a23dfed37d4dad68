"""Sending held orders (Not sent, Error) on from the orders list, a report line per order."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from extensions import db
from models import Actor
from models.intake.forwarding import Result, send_orders
from models.status import Role

from ..delayed import start_due
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
    # A prepaid order confirmed now has a parcel to register, and its supplier orders
    # to submit if its channel auto-processes.
    delayed = start_due() if any(r.result == Result.CONFIRMED for r in results) else ""
    if is_fragment():
        return render_template("orders/_send_report.html", results=results, done=DONE,
                               delayed=delayed)
    if delayed:
        flash(delayed, "info")
    for r in results:
        flash(r.message, "success" if r.result in DONE else "error")
    return redirect(url_for("orders.index"), code=303)
