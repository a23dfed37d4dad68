"""Turning the list's query string into filters, and the small lookups the list shows."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField

from extensions import db
from models import Carrier, Channel, Supplier, User
from models.calls.card import channel_names
from models.orders.listing import Cursor, OrderFilters
from models.small_tables import cached, watch
from models.status import CONFIRMATION_INFO, PUSH_INFO, SHIPPING_INFO, Role

from ..i18n import local_date
from .forms import REMITTANCE_CHOICES, REMITTANCES, OrderFilterForm

NOT_SHIPPED = "none"  # ship=none: not confirmed yet, so no shipping status
NO_CARRIER = "none"  # carrier=none: confirmed orders no carrier took yet


@dataclass
class Lookups:
    """Names for the ids a list row carries; small tables read once per request."""

    channels: dict[int, str]
    carriers: dict[int, str]
    agents: dict[int, str]

    @classmethod
    def load(cls) -> "Lookups":
        """Channels, carriers and agents (cached for a few seconds per process)."""
        return cached("order_lookups", cls._read)

    @classmethod
    def _read(cls) -> "Lookups":
        """Read channels, carriers and agents."""
        channels = dict(sorted(channel_names().items(), key=lambda item: item[1]))
        carriers = dict(db.session.execute(
            select(Carrier.id, Carrier.name).order_by(Carrier.name)).all())
        agents = {
            u.id: u.name or u.username
            for u in db.session.execute(
                select(User.id, User.name, User.username)
                .where(User.role == Role.AGENT).order_by(User.username)
            )
        }
        return cls(channels, carriers, agents)


watch(Channel, Carrier, User)


class ListFilterForm(OrderFilterForm):
    """The list's filters, with whether each order went on to confirmation (push status)."""

    push = SelectField(_l("Push"), choices=[], default="")

    def chips(self) -> list[tuple[str, dict]]:
        """What the hidden filters narrow the list to, each with the arguments without it."""
        found = []
        if self.supplier.data:
            name = db.session.scalar(select(Supplier.name).where(
                Supplier.id == self.supplier.data)) or f"#{self.supplier.data}"
            found.append((_("Supplier: %(name)s", name=name), query_args(self, supplier="")))
        if self.remittance.data:
            label = dict(REMITTANCE_CHOICES)[self.remittance.data]
            found.append((_("Remittance: %(outcome)s", outcome=label),
                          query_args(self, remittance="")))
        if self.shipped_before.data:
            found.append((_("In its shipping status since before %(day)s",
                            day=local_date(self.shipped_before.data)),
                          query_args(self, shipped_before="")))
        return found


def _choices(items) -> list[tuple[str, str]]:
    """Select options with an "any" entry first."""
    return [("", _("Any"))] + [(str(k), v) for k, v in items]


def filter_form(args, lookups: Lookups) -> ListFilterForm:
    """The filter form bound to the query string, with its options filled in."""
    form = ListFilterForm(args)
    form.conf.choices = _choices((k, i.label) for k, i in CONFIRMATION_INFO.items())
    form.ship.choices = _choices((k, i.label) for k, i in SHIPPING_INFO.items()) + [
        (NOT_SHIPPED, _("Not shipped yet"))]
    form.channel.choices = _choices(lookups.channels.items())
    form.carrier.choices = _choices(lookups.carriers.items()) + [(NO_CARRIER, _("No carrier yet"))]
    form.agent.choices = _choices(lookups.agents.items())
    form.push.choices = _choices((k, i.label) for k, i in PUSH_INFO.items())
    return form


def _utc(day, zone: ZoneInfo) -> datetime:
    """Midnight of a local calendar day, as naive UTC."""
    return datetime.combine(day, time.min, zone).astimezone(UTC).replace(tzinfo=None)


def to_filters(form: ListFilterForm) -> OrderFilters:
    """The validated form as query filters (dates are whole local days)."""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])

    def number(field):
        return int(field.data) if field.data else None

    ship = form.ship.data or None
    return OrderFilters(
        confirmation=form.conf.data or None,
        shipping=None if ship == NOT_SHIPPED else ship, not_shipped=ship == NOT_SHIPPED,
        channel_id=number(form.channel),
        carrier_id=0 if form.carrier.data == NO_CARRIER else number(form.carrier),
        supplier_id=form.supplier.data or None,
        remittance=REMITTANCES.get(form.remittance.data or ""),
        shipped_before=(_utc(form.shipped_before.data, zone) if form.shipped_before.data
                        else None),
        agent_id=number(form.agent), city=(form.city.data or "").strip() or None,
        push=form.push.data or None,
        created_from=_utc(form.from_.data, zone) if form.from_.data else None,
        created_to=_utc(form.to.data + timedelta(days=1), zone) if form.to.data else None,
        search=(form.q.data or "").strip(),
        before=Cursor.decode(form.before.data) if form.before.data else None,
    )


def query_args(form: ListFilterForm, **changes) -> dict[str, str]:
    """The current filters as URL arguments (without the cursor), with changes applied."""
    args = {
        name: value for name, value in (
            ("conf", form.conf.data), ("ship", form.ship.data), ("channel", form.channel.data),
            ("carrier", form.carrier.data), ("agent", form.agent.data),
            ("push", form.push.data), ("city", form.city.data), ("q", form.q.data),
            ("from", form.from_.data.isoformat() if form.from_.data else ""),
            ("to", form.to.data.isoformat() if form.to.data else ""),
            ("supplier", str(form.supplier.data) if form.supplier.data else ""),
            ("remittance", form.remittance.data),
            ("shipped_before",
             form.shipped_before.data.isoformat() if form.shipped_before.data else ""),
        ) if value
    }
    args.update(changes)
    return {k: v for k, v in args.items() if v}
