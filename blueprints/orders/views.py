"""Order detail and the status actions on it; every change goes through models/orders/operations
(and, for the parcel, models/shipping/operations)."""

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from extensions import db
from models import Actor, AuditEvent, CallSettings, Carrier, Order, OrderLine, ParcelEvent
from models.audit import KIND_LABELS
from models.calls.queue import held_order
from models.dropship.queries import supplier_orders_of
from models.errors import TransitionRefused
from models.intake.news import news_of
from models.orders.counters import status_counts
from models.orders.listing import list_orders
from models.orders.operations import reopen_order
from models.shipping.operations import enter_tracking, move_by_hand, parcel_of
from models.status import Confirmation, DeliveryMode, Effect, Role, shipping_targets

from ..delayed import start_due
from ..web import MAX_ID, form_error, is_fragment, render, role_required
from . import bp
from .forms import ReopenForm, ShippingForm, TrackingForm
from .listing import Lookups, filter_form, query_args, to_filters

VIEWERS = (Role.AGENT, Role.OPERATOR, Role.MANAGER)
SHIPPERS = (Role.OPERATOR, Role.MANAGER, Role.ADMIN)


def _load(order_id: int) -> Order:
    """The order with everything the page shows, in a fixed number of queries."""
    if not 0 < order_id <= MAX_ID:
        abort(404)
    order = db.session.execute(
        select(Order).where(Order.id == order_id).options(
            joinedload(Order.channel), joinedload(Order.carrier), joinedload(Order.claimed_by),
            # One statement for the order and its few lines (fewer round trips).
            joinedload(Order.lines).joinedload(OrderLine.warehouse),
            joinedload(Order.lines).joinedload(OrderLine.supplier),
        )
    ).unique().scalar_one_or_none()
    if order is None:
        abort(404)
    if current_user.role == Role.AGENT and not _agent_may_see(order):
        abort(403)
    return order


def _agent_may_see(order: Order) -> bool:
    """Agents see the order they hold or last handled, and the possible duplicates (same
    phone) of the one they hold, no more: customer data is not for browsing."""
    if current_user.id in (order.claimed_by_id, order.agent_id):
        return True
    held = held_order(current_user.id, CallSettings.load())
    return bool(held and held.phone_normalized
                and held.phone_normalized == order.phone_normalized)


def _has_parcel_desk(order: Order) -> bool:
    """A confirmed carrier order: one whose parcel an operator may give a tracking number."""
    return bool(order.shipping_status) and order.delivery_mode == DeliveryMode.CARRIER


def _carrier_choices() -> dict[str, str]:
    """The tracking form's carriers: detect from the number, or one of the active carriers."""
    active = db.session.execute(
        select(Carrier.id, Carrier.name).where(Carrier.active.is_(True)).order_by(Carrier.name))
    return {"": _("Detect from the number"), **{str(i): name for i, name in active}}


def _page(order: Order, status: int = 200, notice: str | None = None):
    """Render the detail page, or just its state block for an htmx action."""
    actor = Actor.of(current_user)
    events = db.session.execute(
        select(AuditEvent).where(AuditEvent.order_id == order.id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    ).scalars().all()
    parcel = parcel_of(order.id)
    timeline = []
    if parcel is not None:
        timeline = db.session.execute(
            select(ParcelEvent).where(ParcelEvent.parcel_id == parcel.id)
            .order_by(ParcelEvent.occurred_at.desc(), ParcelEvent.id.desc())
        ).scalars().all()
    tracking_form = None
    if current_user.role in SHIPPERS and _has_parcel_desk(order):
        tracking_form = TrackingForm(formdata=None)
        tracking_form.carrier_id.choices = _carrier_choices()
    targets = []
    if order.shipping_status:
        targets = shipping_targets(order.shipping_status, order.delivery_mode, actor.parties)
    can_reopen = (
        order.confirmation_status in (Confirmation.CANCELED, Confirmation.FAKE)
        and current_user.role in (Role.MANAGER, Role.ADMIN)
    )
    return render(
        "orders/detail.html", block="order_state", status=status, order=order, events=events,
        shipping_targets=targets, can_reopen=can_reopen, shipping_form=ShippingForm(),
        reopen_form=ReopenForm(), parcel=parcel, timeline=timeline, tracking_form=tracking_form,
        notice=notice, news=news_of(order.id), supplier_orders=supplier_orders_of(order.id),
        dropship_worker=current_user.role in SHIPPERS, kinds=KIND_LABELS,
    )


def _done(order: Order, notice: str | None = None):
    """After a change: the refreshed state block for htmx, a 303 for a plain form."""
    if is_fragment():
        return _page(order, notice=notice)
    if notice:
        flash(notice, "info")
    return redirect(url_for("orders.detail", order_id=order.id), code=303)


@bp.get("/")
@role_required(Role.OPERATOR, Role.MANAGER)
def index():
    """All orders, filtered and searched, newest first, 50 a page."""
    lookups = Lookups.load()
    form = filter_form(request.args, lookups)
    if not form.validate():
        return render("orders/list.html", block="results", status=422, form=form, page=None,
                      lookups=lookups, counts=None, query_args=query_args)
    filters = to_filters(form)
    page = list_orders(filters, region=CallSettings.load().phone_region)
    return render(
        "orders/list.html", block="results", form=form, page=page, lookups=lookups,
        counts=status_counts(filters.channel_id), query_args=query_args,
    )


@bp.get("/<int:order_id>")
@role_required(*VIEWERS)
def detail(order_id: int):
    """One order: customer, lines, both statuses, carrier and the full audit trail."""
    return _page(_load(order_id))


@bp.post("/<int:order_id>/shipping")
@role_required(Role.OPERATOR, Role.MANAGER)
def set_shipping(order_id: int):
    """Move the parcel to another shipping status (operator moves), on its timeline too."""
    order = _load(order_id)
    form = ShippingForm()
    if not form.validate():
        raise form_error(form)
    move_by_hand(order, form.to.data, Actor.of(current_user), source="manual",
                 note=form.note.data or "", expected_version=form.version.data)
    db.session.commit()
    return _done(order)


@bp.post("/<int:order_id>/tracking")
@role_required(Role.OPERATOR, Role.MANAGER)
def set_parcel_tracking(order_id: int):
    """Set or correct the parcel's tracking number and carrier; no carrier picked = detect."""
    order = _load(order_id)
    form = TrackingForm()
    form.carrier_id.choices = _carrier_choices()
    if not form.validate():
        raise form_error(form)
    if not _has_parcel_desk(order):
        raise TransitionRefused(_("Order %(ref)s has no parcel to track: it is not a "
                                  "confirmed carrier order.", ref=order.reference))
    carrier_id = int(form.carrier_id.data) if form.carrier_id.data else None
    notice = enter_tracking(order, form.tracking_number.data, carrier_id,
                            Actor.of(current_user))
    db.session.commit()
    # The carrier hears of the number (or it is taken as registered).
    delayed = start_due((Effect.REGISTER_PARCEL,))
    return _done(order, " ".join(filter(None, [notice, delayed])) or None)


@bp.post("/<int:order_id>/reopen")
@role_required(Role.MANAGER)
def reopen(order_id: int):
    """Put a canceled or fake order back to New, with a reason (manager)."""
    order = _load(order_id)
    form = ReopenForm()
    if not form.validate():
        raise form_error(form)
    reopen_order(order, Actor.of(current_user), reason=form.reason.data,
                 expected_version=form.version.data)
    db.session.commit()
    return _done(order)
