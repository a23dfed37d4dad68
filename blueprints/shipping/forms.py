"""Forms of the shipping desk: filters, bulk actions, scans and the thresholds."""

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

    status = SelectField("Status", choices=[], default="")
    carrier = SelectField("Carrier", choices=[], default="")
    channel = SelectField("Channel", choices=[], default="")
    city = StringField("City", validators=[Optional(), Length(max=120)])
    from_ = DateField("Confirmed from", validators=[Optional()], name="from")
    to = DateField("Confirmed to", validators=[Optional()])
    stuck = BooleanField("Stuck only")
    error = BooleanField("Errors only")
    after = HiddenField()

    def validate_after(self, field):
        """The cursor must be one the desk produced."""
        check_cursor(Cursor, field)


class BulkForm(FlaskForm):
    """An action on the selected orders; `view` is the desk's query string to re-render."""

    action = StringField("Action", validators=[
        DataRequired(message="Pick an action."),
        AnyOf([*BULK_MOVES, SYNC, SLIPS], message="Pick an action.")])
    view = HiddenField(validators=[Optional(), Length(max=2000)])


class ScanForm(FlaskForm):
    """One scanned code: an order number or a tracking number."""

    code = StringField("Code", validators=[DataRequired(message="Scan or type a code."),
                                           Length(max=100)])


class ShippingSettingsForm(FlaskForm):
    """When a parcel counts as stuck (manager)."""

    stuck_no_update_hours = IntegerField(
        "Stuck when the carrier has said nothing for (hours)",
        validators=[InputRequired(), NumberRange(1, 24 * 60)])
    stuck_no_tracking_days = IntegerField(
        "Stuck without a tracking number after confirmation for (days)",
        validators=[InputRequired(), NumberRange(1, 365)])
    stuck_in_return_days = IntegerField(
        "Stuck In return for more than (days)",
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
                raise InvalidInput(f"“{part[:20]}” is not an order number.")
            ids[int(part)] = None
    if not ids:
        raise InvalidInput("Select at least one order.")
    if len(ids) > MAX_SELECTED:
        raise InvalidInput(f"{len(ids)} orders are selected; act on at most {MAX_SELECTED} "
                           "at a time.")
    return list(ids)
