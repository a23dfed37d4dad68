"""Forms of the shipping desk: filters, bulk actions, scans and the thresholds."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from models.errors import InvalidInput
from models.shipping.desk import MAX_SELECTED, Cursor
from models.status import Shipping

from ..filters import DateRangeChecks, check_cursor
from ..web import MAX_ID

# Bulk moves the desk offers, and the two actions that move nothing.
BULK_MOVES = (Shipping.FULFILLED.value, Shipping.RETURNED.value, Shipping.CANCELED.value)
SYNC, SLIPS = "sync", "slips"


class DeskFilterForm(DateRangeChecks, FlaskForm):
    """The desk's filters, read from the query string (GET, so no CSRF)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=[], default="")
    carrier = SelectField(_l("Carrier"), choices=[], default="")
    channel = SelectField(_l("Channel"), choices=[], default="")
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    from_ = DateField(_l("Confirmed from"), validators=[Optional()], name="from")
    to = DateField(_l("Confirmed to"), validators=[Optional()])
    stuck = BooleanField(_l("Stuck only"))
    error = BooleanField(_l("Errors only"))
    after = HiddenField()

    def validate_after(self, field):
        """The cursor must be one the desk produced."""
        check_cursor(Cursor, field)


class BulkForm(FlaskForm):
    """An action on the selected orders; `view` is the desk's query string to re-render."""

    action = StringField(_l("Action"), validators=[
        DataRequired(message=_l("Pick an action.")),
        AnyOf([*BULK_MOVES, SYNC, SLIPS], message=_l("Pick an action."))])
    view = HiddenField(validators=[Optional(), Length(max=2000)])


class ScanForm(FlaskForm):
    """One scanned code: an order number or a tracking number."""

    code = StringField(_l("Code"), validators=[DataRequired(message=_l("Scan or type a code.")),
                                               Length(max=100)])


class ShippingSettingsForm(FlaskForm):
    """When a parcel counts as stuck (manager)."""

    stuck_no_update_hours = IntegerField(
        _l("Stuck when the carrier has said nothing for (hours)"),
        validators=[InputRequired(), NumberRange(1, 24 * 60)])
    stuck_no_tracking_days = IntegerField(
        _l("Stuck without a tracking number after confirmation for (days)"),
        validators=[InputRequired(), NumberRange(1, 365)])
    stuck_in_return_days = IntegerField(
        _l("Stuck In return for more than (days)"),
        validators=[InputRequired(), NumberRange(1, 365)])


def parse_ids(values: list[str]) -> list[int]:
    """Order ids from checkboxes or "1,2,3" (or both), in order, each once; at most 500."""
    ids: dict[int, None] = {}
    for value in values:
        for part in (value or "").split(","):
            part = part.strip().lstrip("#")
            if not part:
                continue
            if not part.isdigit() or not 0 < int(part) <= MAX_ID:
                raise InvalidInput(_("“%(value)s” is not an order number.", value=part[:20]))
            ids[int(part)] = None
    if not ids:
        raise InvalidInput(_("Select at least one order."))
    if len(ids) > MAX_SELECTED:
        raise InvalidInput(_("%(num)s orders are selected; act on at most %(max)s at a time.",
                             num=len(ids), max=MAX_SELECTED))
    return list(ids)
