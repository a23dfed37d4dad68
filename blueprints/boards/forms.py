"""The status board's filters: a period and at most one slice, read from the query string."""

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from extensions import db
from models import Supplier
from models.boards.period import LONGEST_DAYS, PERIODS, Period, Slice, today
from models.boards.tables import AGENT, ALL, CARRIER, CHANNEL, CITY, SUPPLIER

from ..filters import DateRangeChecks
from ..orders.listing import Lookups

ONE_SLICE = _l("Choose one filter at a time: the boards keep their counts per channel, "
                "carrier, city, agent or supplier, not per combination.")
SLICES = (CHANNEL, CARRIER, CITY, AGENT, SUPPLIER)


class BoardFilterForm(DateRangeChecks, FlaskForm):
    """Period (named or custom dates) and one of channel, carrier, city, agent, supplier."""

    class Meta:
        csrf = False

    period = SelectField(_l("Period"), choices=list(PERIODS.items()), default="today")
    from_ = DateField(_l("From"), validators=[Optional()], name="from")
    to = DateField(_l("To"), validators=[Optional()])
    channel = SelectField(_l("Channel"), choices=[], default="")
    carrier = SelectField(_l("Carrier"), choices=[], default="")
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    agent = SelectField(_l("Agent"), choices=[], default="")
    supplier = SelectField(_l("Supplier"), choices=[], default="")

    def validate_period(self, field):
        """A custom period has both dates and spans at most a year (backwards: see `to`)."""
        if field.data != "custom":
            return
        first, last = self.from_.data, self.to.data
        if not (first and last):
            raise ValidationError(_("A custom period needs both a start and an end date."))
        if (last - first).days + 1 > LONGEST_DAYS:
            raise ValidationError(_("A custom period spans at most %(days)d days.",
                                    days=LONGEST_DAYS))

    def validate(self, extra_validators=None) -> bool:
        """The fields, then one slice at a time (the rollups are kept per single slice)."""
        valid = super().validate(extra_validators)
        chosen = [self[name] for name in SLICES if self._value(name)]
        if len(chosen) > 1:
            chosen[0].errors.append(str(ONE_SLICE))
            return False
        return valid

    def _value(self, name: str) -> str:
        return (self[name].data or "").strip()

    def chosen_period(self, on: date | None = None) -> Period:
        """The period the form asks for (today's calendar when it names one)."""
        name = self.period.data or "today"
        if name == "custom":
            return Period(self.from_.data, self.to.data, "custom")
        return Period.named(name, on or today())

    def chosen_slice(self) -> Slice:
        """The one slice set, or every order."""
        for name in SLICES:
            if self._value(name):
                return Slice(name, self._value(name))
        return Slice(ALL)

    def args(self) -> dict[str, str]:
        """The filters as URL arguments, for the poll, TV mode and CSV links."""
        args = {"period": self.period.data or "today"}
        if args["period"] == "custom":
            args.update({"from": self.from_.data.isoformat(), "to": self.to.data.isoformat()})
        chosen = self.chosen_slice()
        if chosen.dim != ALL:
            args[chosen.dim] = chosen.key
        return args


def _choices(items) -> list[tuple[str, str]]:
    """Select options with an "any" entry first."""
    return [("", _("Any"))] + [(str(k), v) for k, v in items]


def board_form(args) -> BoardFilterForm:
    """The filter form bound to the query string, its selects filled from the small tables."""
    lookups = Lookups.load()
    form = BoardFilterForm(args)
    form.channel.choices = _choices(lookups.channels.items())
    form.carrier.choices = _choices(lookups.carriers.items())
    form.agent.choices = _choices(lookups.agents.items())
    form.supplier.choices = _choices(db.session.execute(
        select(Supplier.id, Supplier.name).order_by(Supplier.name)).all())
    return form


def slice_label(form: BoardFilterForm) -> tuple[str, str] | None:
    """The slice as (its field's label, the name chosen): ("City", "Rabat"); None for all."""
    chosen = form.chosen_slice()
    if chosen.dim == ALL:
        return None
    names = dict(form[chosen.dim].choices) if chosen.dim != CITY else {}
    return str(form[chosen.dim].label.text), names.get(chosen.key, chosen.key)
