"""Forms for actions on one order; each carries the version the user saw."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional


class ShippingForm(FlaskForm):
    """Move the parcel to another shipping status."""

    to = HiddenField(validators=[DataRequired()])
    version = IntegerField(validators=[InputRequired()])
    tracking_number = StringField("Tracking number", validators=[Optional(), Length(max=64)])
    note = StringField("Note", validators=[Optional(), Length(max=500)])


class ReopenForm(FlaskForm):
    """Put a canceled or fake order back in the call queue."""

    version = IntegerField(validators=[InputRequired()])
    reason = TextAreaField(
        "Reason", validators=[DataRequired(message="Write why the order is reopened."),
                              Length(max=500)]
    )
