"""Forms of the call screen and of the call-queue settings."""

import phonenumbers
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from models.status import Confirmation

OUTCOMES = [
    (Confirmation.CONFIRMED.value, "Confirmed"),
    (Confirmation.NO_ANSWER.value, "No answer"),
    (Confirmation.CALL_LATER.value, "Call later"),
    (Confirmation.CANCELED.value, "Canceled"),
    (Confirmation.FAKE.value, "Fake"),
]
REASONS = {
    Confirmation.CANCELED.value: [
        "Changed their mind", "Ordered by mistake", "Price too high", "Delivery too slow",
        "Already ordered elsewhere", "Duplicate order",
    ],
    Confirmation.FAKE.value: [
        "Never placed an order", "Wrong number", "Prank", "Refuses to give an address",
        "Known fake customer",
    ],
}
CALLBACK_CHOICES = [("1h", "In 1 hour"), ("evening", "This evening, 18:00"),
                    ("morning", "Tomorrow morning, 10:00"), ("custom", "At…")]


class OutcomeForm(FlaskForm):
    """One call outcome, with the corrections made on the phone."""

    version = IntegerField(validators=[InputRequired()])
    outcome = StringField("Outcome", validators=[
        DataRequired(), AnyOf([value for value, _ in OUTCOMES], message="Pick an outcome.")])
    reason = StringField("Reason", validators=[Optional(), Length(max=120)])
    note = StringField("Note", validators=[Optional(), Length(max=500)])
    callback = StringField("Call back", validators=[
        Optional(), AnyOf([value for value, _ in CALLBACK_CHOICES], message="Pick a time.")])
    callback_at = DateTimeLocalField("At", validators=[Optional()], format="%Y-%m-%dT%H:%M")
    address = StringField("Address", validators=[Optional(), Length(max=500)])
    city = StringField("City", validators=[Optional(), Length(max=120)])
    phone = StringField("Phone", validators=[Optional(), Length(max=64)])


class AssignForm(FlaskForm):
    """Hand an order to an agent."""

    order_id = IntegerField("Order number", validators=[InputRequired(), NumberRange(1, 2**31 - 1)])
    agent_id = SelectField("Agent", coerce=int, choices=[])


class ReleaseForm(FlaskForm):
    """Put a held order back in the queue."""

    version = HiddenField()


class CallSettingsForm(FlaskForm):
    """The call queue's settings (manager)."""

    retry_delay_minutes = IntegerField(
        "Retry a no-answer after (minutes)", validators=[InputRequired(), NumberRange(1, 1440)])
    max_attempts = IntegerField(
        "Cancel as unreachable after (attempts)", validators=[InputRequired(), NumberRange(1, 20)])
    claim_timeout_minutes = IntegerField(
        "A claimed order returns to the queue after (minutes)",
        validators=[InputRequired(), NumberRange(1, 240)])
    phone_region = StringField(
        "Country of numbers without a country code (ISO code)",
        validators=[InputRequired(), Length(min=2, max=2)])

    def validate_phone_region(self, field):
        """Only a country phone numbers can belong to (GB, not UK)."""
        if (field.data or "").upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValidationError(f"“{field.data}” is not a country code (e.g. MA, FR, GB).")
