"""The shipping desk: parcels by status with filters and bulk actions, packing slips and
the stuck thresholds. Every move goes through models/shipping/operations.move_by_hand."""

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from jinja2_fragments.flask import render_block
from markupsafe import Markup
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from extensions import db
from models import Actor, Order, Parcel, utcnow
from models.orders.counters import status_counts
from models.shipping.desk import (
    LONG_RETURN,
    NO_TRACKING,
    NO_UPDATE,
    DeskFilters,
    desk_page,
    matching_ids,
    problem_counts,
)
from models.shipping.desk import Cursor as DeskCursor
from models.shipping.operations import move_many, shown_error
from models.shipping.settings import ShippingSettings
from models.status import SHIPPING_INFO, Role
from workers.shipping import sync_carrier

from ..orders.listing import Lookups
from ..web import form_error, is_fragment, render, role_required
from . import bp
from .barcode import code128_svg
from .forms import SLIPS, SYNC, BulkForm, DeskFilterForm, ShippingSettingsForm, parse_ids

DESK_ROLES = (Role.OPERATOR, Role.MANAGER)
STUCK_TEXT = {
    NO_UPDATE: _l("Stuck: no carrier news"),
    NO_TRACKING: _l("Stuck: no tracking number"),
    LONG_RETURN: _l("Stuck: in return too long"),
}


# -- the desk -----------------------------------------------------------------------

def ago(value: datetime | None, now: datetime) -> str:
    """How long ago, as a person says it: "just now", "12 min ago", "3 h ago", "4 d ago"."""
    if value is None:
        return ""
    seconds = max(0, (now - value).total_seconds())
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        return _("%(num)s min ago", num=int(seconds // 60))
    if seconds < 2 * 86400:
        return _("%(num)s h ago", num=int(seconds // 3600))
    return _("%(num)s d ago", num=int(seconds // 86400))


def filter_form(args, lookups: Lookups) -> DeskFilterForm:
    """The filter form bound to the query string, with its options filled in."""
    form = DeskFilterForm(args)
    form.status.choices = [("", _("All"))] + [(k, i.label) for k, i in SHIPPING_INFO.items()]
    form.carrier.choices = [("", _("Any"))] + [(str(k), v) for k, v in lookups.carriers.items()]
    form.channel.choices = [("", _("Any"))] + [(str(k), v) for k, v in lookups.channels.items()]
    return form


def _utc(day, zone: ZoneInfo) -> datetime:
    """Midnight of a local calendar day, as naive UTC."""
    return datetime.combine(day, time.min, zone).astimezone(UTC).replace(tzinfo=None)


def to_filters(form: DeskFilterForm) -> DeskFilters:
    """The validated form as query filters (dates are whole local days)."""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])

    def number(f):
        return int(f.data) if f.data else None

    return DeskFilters(
        status=form.status.data or None, carrier_id=number(form.carrier),
        channel_id=number(form.channel), city=(form.city.data or "").strip() or None,
        confirmed_from=_utc(form.from_.data, zone) if form.from_.data else None,
        confirmed_to=_utc(form.to.data + timedelta(days=1), zone) if form.to.data else None,
        stuck=bool(form.stuck.data), error=bool(form.error.data),
        after=DeskCursor.decode(form.after.data) if form.after.data else None,
    )


def query_args(form: DeskFilterForm, **changes) -> dict[str, str]:
    """The current filters as URL arguments (without the cursor), with changes applied."""
    args = {
        "status": form.status.data, "carrier": form.carrier.data, "channel": form.channel.data,
        "city": form.city.data, "from": form.from_.data.isoformat() if form.from_.data else "",
        "to": form.to.data.isoformat() if form.to.data else "",
        "stuck": "1" if form.stuck.data else "", "error": "1" if form.error.data else "",
    }
    args.update(changes)
    return {k: v for k, v in args.items() if v}


def desk_texts() -> dict[str, str]:
    """What desk.js says, in the request's language ({n}, {total} and {max} filled by it)."""
    return {
        "selected": _("%(num)s selected", num="{n}"),
        "none": _("None selected"),
        "limit": _("At most %(max)s orders can be selected at once.", max="{max}"),
        "matching": _("%(num)s matching orders selected.", num="{n}"),
        "tick_first": _("Tick the orders to act on first."),
        "all_done": _("All %(total)s orders processed.", total="{total}"),
        "stopped": _("Stopped after %(done)s of %(total)s orders: see the message above. "
                     "Orders reported below were processed.", done="{n}", total="{total}"),
        "progress": _("%(done)s of %(total)s orders processed…", done="{n}", total="{total}"),
    }


def desk_context(args) -> tuple[dict, int]:
    """What the desk shows for these query arguments, and the status to answer with."""
    lookups = Lookups.load()
    form = filter_form(args, lookups)
    settings = ShippingSettings.load()
    now = utcnow()
    context = {"form": form, "lookups": lookups, "settings": settings, "page": None,
               "counts": None, "problems": None, "now": now, "ago": ago,
               "query_args": query_args, "stuck_text": STUCK_TEXT, "view": "",
               "desk_texts": desk_texts(), "shown_error": shown_error}
    if not form.validate():
        return context, 422
    filters = to_filters(form)
    counts = status_counts(filters.channel_id)["shipping"]
    context.update(
        page=desk_page(filters, settings, now), counts=counts, total=sum(counts.values()),
        problems=problem_counts(settings, now, filters.channel_id),
        view=urlencode(query_args(form, after=form.after.data)),
    )
    return context, 200


@bp.get("/")
@role_required(*DESK_ROLES)
def index():
    """The operator's desk: parcels by shipping status, oldest confirmation first, 50 a page."""
    context, status = desk_context(request.args)
    return render("shipping/index.html", block="results", status=status, **context)


@bp.get("/ids")
@role_required(*DESK_ROLES)
def ids():
    """Ids of the orders the filters match, at most 500 (the desk's "select all")."""
    form = filter_form(request.args, Lookups.load())
    if not form.validate():
        return jsonify(ids=[], error=_("These filters are not valid.")), 422
    return jsonify(ids=matching_ids(to_filters(form), ShippingSettings.load(), utcnow()))


# -- bulk actions -------------------------------------------------------------------

@dataclass
class Line:
    """What happened to one selected order."""

    order_id: int
    ok: bool
    text: str


@dataclass
class Report:
    """The outcome of one bulk request, order by order."""

    title: str
    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        """Orders the action went through for."""
        return sum(line.ok for line in self.lines)

    @property
    def refused(self) -> int:
        """Orders it did not."""
        return sum(not line.ok for line in self.lines)


def move_each(order_ids: list[int], to: str, actor: Actor) -> Report:
    """Move each selected order (refusals stop only themselves) and report order by order."""
    label = str(SHIPPING_INFO[to].label)
    report = Report(label)
    # shown translated: models/stored_text.py
    for order_id, moved, reason in move_many(order_ids, to, actor,
                                             note="bulk action on the shipping desk"):
        report.lines.append(Line(order_id, moved,
                                 _("now %(status)s", status=label) if moved else reason))
    return report


def ask_carriers(order_ids: list[int], carriers: dict[int, str]) -> Report:
    """Enqueue one tracking sync per carrier for the selected registered parcels."""
    rows = db.session.execute(
        select(Order.id, Parcel.id, Parcel.carrier_id, Parcel.tracking_number)
        .select_from(Order)
        .outerjoin(Parcel, (Parcel.order_id == Order.id) & Parcel.supplier_order_id.is_(None))
        .where(Order.id.in_(order_ids))).all()
    report = Report(_("Sync now"))
    by_carrier: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for order_id, parcel_id, carrier_id, tracking in rows:
        if parcel_id is None or carrier_id is None or not tracking:
            report.lines.append(Line(order_id, False, _("Not registered with a carrier yet: "
                                                        "there is nothing to ask.")))
        else:
            by_carrier[carrier_id].append((order_id, parcel_id))
    found = {row[0] for row in rows}
    report.lines += [Line(i, False, _("There is no such order.")) for i in order_ids
                     if i not in found]
    for carrier_id, pairs in sorted(by_carrier.items()):
        name = carriers.get(carrier_id) or _("carrier %(id)s", id=carrier_id)
        parcel_ids = sorted(parcel_id for _order_id, parcel_id in pairs)
        # The same selection asked twice while its job waits is one job, not two.
        digest = hashlib.sha1(",".join(map(str, parcel_ids)).encode()).hexdigest()[:16]
        try:
            sync_carrier.enqueue(carrier_id, parcel_ids, job_id=f"sync-now-{carrier_id}-{digest}")
        except RedisError:
            report.notes.append(_("Could not ask %(carrier)s: the job queue is unreachable; "
                                  "try again in a minute.", carrier=name))
            report.lines += [Line(order_id, False,
                                  _("%(carrier)s was not asked (queue unreachable).",
                                    carrier=name))
                             for order_id, _parcel_id in pairs]
            continue
        report.notes.append(ngettext("Asked %(carrier)s about %(num)s parcel.",
                                     "Asked %(carrier)s about %(num)s parcels.", len(pairs),
                                     carrier=name))
        asked = _("asked %(carrier)s", carrier=name)
        report.lines += [Line(order_id, True, asked) for order_id, _p in pairs]
    return report


def _desk_url(view: str) -> str:
    """The desk at the filters of a bulk request's `view` (re-encoded: never a raw string)."""
    args = urlencode(parse_qsl(view or ""))
    return url_for("shipping.index") + (f"?{args}" if args else "")


@bp.post("/bulk")
@role_required(*DESK_ROLES)
def bulk():
    """Act on the selected orders: move each (refusals named), sync now, or print slips."""
    form = BulkForm()
    if not form.validate():
        raise form_error(form)
    order_ids = parse_ids(request.form.getlist("ids"))
    action = form.action.data
    if action == SLIPS:
        url = url_for("shipping.slips", ids=",".join(map(str, order_ids)))
        if is_fragment():
            return "", 204, {"HX-Redirect": url}
        return redirect(url, code=303)
    if action == SYNC:
        report = ask_carriers(order_ids, Lookups.load().carriers)
    else:
        report = move_each(order_ids, action, Actor.of(current_user))
        db.session.commit()  # every move that went through, at once
    if not is_fragment():
        _flash(report)
        return redirect(_desk_url(form.view.data), code=303)
    context, _status = desk_context(MultiDict(parse_qsl(form.view.data or "")))
    return (render_template("shipping/_bulk_report.html", report=report)
            + render_block("shipping/index.html", "results", oob=True, **context))


def _flash(report: Report) -> None:
    """A bulk report as messages, for a page without htmx."""
    flash(_("%(action)s: %(done)s done, %(refused)s refused.", action=report.title,
            done=report.done, refused=report.refused), "info")
    for note in report.notes:
        flash(note, "info")
    for line in report.lines:
        if not line.ok:
            flash(f"#{line.order_id}: {line.text}", "error")


# -- packing slips ------------------------------------------------------------------

@dataclass
class Slip:
    """One packing slip: the order with its lines, its parcel, carrier and barcodes."""

    order: Order
    parcel: Parcel | None
    carrier: str
    barcode: Markup | None
    tracking_barcode: Markup | None
    label_url: str | None

    @classmethod
    def of(cls, order: Order, parcel: Parcel | None, carriers: dict[int, str]) -> "Slip":
        """The slip of one order (the parcel's carrier first: detection may correct it)."""
        carrier_id = (parcel.carrier_id if parcel else None) or order.carrier_id
        tracking = parcel.tracking_number if parcel else None
        return cls(order, parcel, carriers.get(carrier_id, ""), _barcode(order.reference),
                   _barcode(tracking), _safe_link(parcel.label_url if parcel else None))


def _barcode(text: str | None) -> Markup | None:
    """A Code 128 barcode, or None for text a barcode cannot carry."""
    if not text:
        return None
    try:
        return code128_svg(text, label=_("Barcode %(code)s", code=text))
    except ValueError:
        return None


def _safe_link(url: str | None) -> str | None:
    """A carrier's label link, only when it is a web address (never javascript: or data:)."""
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else None


@bp.get("/slips")
@role_required(*DESK_ROLES)
def slips():
    """Printable packing slips, one per page, for ?ids=1,2,3 (in that order)."""
    order_ids = parse_ids(request.args.getlist("ids"))
    orders = {o.id: o for o in db.session.execute(
        select(Order).where(Order.id.in_(order_ids)).options(selectinload(Order.lines))
    ).scalars()}
    parcels = {p.order_id: p for p in db.session.execute(
        select(Parcel).where(Parcel.order_id.in_(order_ids),
                            Parcel.supplier_order_id.is_(None))).scalars()}
    carriers = Lookups.load().carriers
    made = [Slip.of(orders[i], parcels.get(i), carriers) for i in order_ids if i in orders]
    missing = [i for i in order_ids if i not in orders]
    return render("shipping/slips.html", slips=made, missing=missing)


# -- settings -----------------------------------------------------------------------

@bp.route("/settings", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def settings():
    """When the desk calls a parcel stuck (manager)."""
    current = ShippingSettings.load()
    form = ShippingSettingsForm(data=current.__dict__ if request.method == "GET" else None)
    if form.validate_on_submit():
        ShippingSettings(
            stuck_no_update_hours=form.stuck_no_update_hours.data,
            stuck_no_tracking_days=form.stuck_no_tracking_days.data,
            stuck_in_return_days=form.stuck_in_return_days.data,
        ).save()
        db.session.commit()
        return redirect(url_for("shipping.index", stuck="1"), code=303)
    status = 422 if form.is_submitted() else 200
    return render("shipping/settings.html", status=status, form=form)


from . import scan  # noqa: E402,F401  (the scan views live beside these)
