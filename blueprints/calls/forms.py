"""Forms of the call screen and of the call-queue settings."""

import phonenumbers
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
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
    (Confirmation.CONFIRMED.value, _l("Confirmed")),
    (Confirmation.NO_ANSWER.value, _l("No answer")),
    (Confirmation.CALL_LATER.value, _l("Call later")),
    (Confirmation.CANCELED.value, _l("Canceled")),
    (Confirmation.FAKE.value, _l("Fake")),
]
# (stored value, label): the value goes into the audit note in English, whatever the
# agent's language, so every reader of the history sees one wording.
REASONS = {
    Confirmation.CANCELED.value: [
        ("Changed their mind", _l("Changed their mind")),
        ("Ordered by mistake", _l("Ordered by mistake")),
        ("Price too high", _l("Price too high")),
        ("Delivery too slow", _l("Delivery too slow")),
        ("Already ordered elsewhere", _l("Already ordered elsewhere")),
        ("Duplicate order", _l("Duplicate order")),
    ],
    Confirmation.FAKE.value: [
        ("Never placed an order", _l("Never placed an order")),
        ("Wrong number", _l("Wrong number")),
        ("Prank", _l("Prank")),
        ("Refuses to give an address", _l("Refuses to give an address")),
        ("Known fake customer", _l("Known fake customer")),
    ],
}
CALLBACK_CHOICES = [("1h", _l("In 1 hour")), ("evening", _l("This evening, 18:00")),
                    ("morning", _l("Tomorrow morning, 10:00")), ("custom", _l("At…"))]


class OutcomeForm(FlaskForm):
    """One call outcome, with the corrections made on the phone."""

    version = IntegerField(validators=[InputRequired()])
    outcome = StringField(_l("Outcome"), validators=[
        DataRequired(), AnyOf([value for value, _ in OUTCOMES], message=_l("Pick an outcome."))])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=120)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    callback = StringField(_l("Call back"), validators=[
        Optional(), AnyOf([value for value, _ in CALLBACK_CHOICES], message=_l("Pick a time."))])
    callback_at = DateTimeLocalField(_l("At"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
    address = StringField(_l("Address"), validators=[Optional(), Length(max=500)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=64)])


class AssignForm(FlaskForm):
    """Hand an order to an agent."""

    order_id = IntegerField(_l("Order number"),
                            validators=[InputRequired(), NumberRange(1, 2**31 - 1)])
    agent_id = SelectField(_l("Agent"), coerce=int, choices=[])


class ReleaseForm(FlaskForm):
    """Put a held order back in the queue."""

    version = HiddenField()


class CallSettingsForm(FlaskForm):
    """The call queue's settings (manager)."""

    retry_delay_minutes = IntegerField(
        _l("Retry a no-answer after (minutes)"), validators=[InputRequired(), NumberRange(1, 1440)])
    max_attempts = IntegerField(
        _l("Cancel as unreachable after (attempts)"),
        validators=[InputRequired(), NumberRange(1, 20)])
    claim_timeout_minutes = IntegerField(
        _l("A claimed order returns to the queue after (minutes)"),
        validators=[InputRequired(), NumberRange(1, 240)])
    phone_region = StringField(
        _l("Country of numbers without a country code (ISO code)"),
        validators=[InputRequired(), Length(min=2, max=2)])

    def validate_phone_region(self, field):
        """Only a country phone numbers can belong to (GB, not UK)."""
        if (field.data or "").upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValidationError(_("“%(code)s” is not a country code (e.g. MA, FR, GB).",
                                    code=field.data))
