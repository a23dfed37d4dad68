"""Forms for actions on one order; each carries the version the user saw."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from models.orders.listing import Cursor

from ..filters import DateRangeChecks, check_cursor

# remittance=… on the orders list: the outcome of the statement line that settled the order.
REMITTANCES = {"unpaid": ("",), "paid": ("remitted", "short", "over"), "remitted": ("remitted",),
               "short": ("short",), "over": ("over",), "disputed": ("short", "over")}
REMITTANCE_CHOICES = [("", _l("Any")), ("unpaid", _l("Not paid out yet")),
                      ("paid", _l("Paid out")), ("remitted", _l("Paid in full")),
                      ("short", _l("Paid short")), ("over", _l("Paid over")),
                      ("disputed", _l("Disputed (short or over)"))]


class ShippingForm(FlaskForm):
    """Move the parcel to another shipping status (the tracking number has its own form)."""

    to = HiddenField(validators=[DataRequired()])
    version = IntegerField(validators=[InputRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class TrackingForm(FlaskForm):
    """Set or correct the parcel's tracking number; no carrier picked = detect it."""

    tracking_number = StringField(_l("Tracking number"), validators=[
        DataRequired(message=_l("Type or scan the tracking number.")), Length(max=64)])
    # Filled per request: "" (detect from the number) and the active carriers.
    carrier_id = SelectField(_l("Carrier"), choices=[], default="")


class ReopenForm(FlaskForm):
    """Put a canceled or fake order back in the call queue."""

    version = IntegerField(validators=[InputRequired()])
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(message=_l("Write why the order is reopened.")),
                              Length(max=500)]
    )


class OrderFilterForm(DateRangeChecks, FlaskForm):
    """The orders list filters, read from the query string (GET, so no CSRF)."""

    class Meta:
        csrf = False

    conf = SelectField(_l("Confirmation"), choices=[], default="")
    ship = SelectField(_l("Shipping"), choices=[], default="")
    channel = SelectField(_l("Channel"), choices=[], default="")
    carrier = SelectField(_l("Carrier"), choices=[], default="")
    agent = SelectField(_l("Agent"), choices=[], default="")
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    from_ = DateField(_l("From"), validators=[Optional()], name="from")
    to = DateField(_l("To"), validators=[Optional()])
    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    # Drill-downs from the money board, shown as removable chips rather than controls.
    supplier = IntegerField(_l("Supplier"),
                            validators=[Optional(), NumberRange(min=1, max=2**31 - 1)])
    remittance = SelectField(_l("Remittance"), choices=REMITTANCE_CHOICES, default="")
    shipped_before = DateField(_l("In its shipping status since before"),
                               validators=[Optional()])
    before = HiddenField()

    def validate_before(self, field):
        """The cursor must be one the list produced."""
        check_cursor(Cursor, field)
