"""Forms of the settings pages: a carrier, its status table and its tracking rules."""

from functools import cache
from importlib import import_module

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from models.shipping.carriers import CODE_MAX, MAPS_TO, RAW_STATUS_MAX
from models.shipping.detection import PATTERN_MAX, RULE_KINDS
from models.status import SHIPPING_INFO
from workers.carriers import ADAPTERS, KINDS

KIND_LABELS = {
    "sandbox": "Sandbox (the built-in test carrier)",
    "aftership": "AfterShip (tracking for 1,000+ couriers)",
    "http_json": "Courier with a JSON API (described below)",
    "local": "Local delivery (no API)",
}
RULE_LABELS = {"prefix": "Starts with", "suffix": "Ends with", "regex": "Regular expression"}


def settings_fields(kind: str) -> tuple[tuple[str, str, str], ...]:
    """(key, label, help) of the adapter settings of a kind; none for an unknown kind."""
    if kind not in ADAPTERS:
        return ()
    module, name = ADAPTERS[kind].split(":")
    return tuple(getattr(getattr(import_module(module), name), "settings_fields", ()))


def maps_to_choices() -> dict[str, str]:
    """Our eight shipping statuses by label, then "ignore" (value -> label)."""
    return {v: SHIPPING_INFO[v].label if v in SHIPPING_INFO else "Ignore (no change)"
            for v in MAPS_TO}


class CarrierForm(FlaskForm):
    """A carrier's identity, API access and detection; adapter settings are added per kind."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    # Its shape and length are checked by save_carrier, with the message that explains it.
    code = StringField(
        "Code", validators=[DataRequired()],
        description=f"Goes in the webhook URL: lower-case letters, digits and dashes "
                    f"(at most {CODE_MAX}).")
    kind = SelectField("Kind", choices={k: KIND_LABELS.get(k, k) for k in KINDS})
    local_delivery = BooleanField("Local delivery (our own drivers)")
    active = BooleanField("Active", default=True)
    base_url = StringField("Base URL of its API", validators=[Optional(), Length(max=255)])
    # Secrets are never rendered back: PasswordField leaves the value out.
    api_key = PasswordField("API key", validators=[Optional(), Length(max=255)])
    clear_api_key = BooleanField("Remove the stored API key")
    webhook_secret = PasswordField("Webhook secret", validators=[Optional(), Length(max=255)])
    clear_webhook_secret = BooleanField("Remove the stored webhook secret")
    detect_as = StringField(
        "Recognise tracking numbers of", validators=[Optional(), Length(max=255)],
        description="Comma-separated courier codes, e.g. “ups” or “s10:ma” (Poste Maroc).")

    adapter_keys: tuple[str, ...] = ()

    def adapter_settings(self) -> dict[str, str]:
        """The adapter settings typed in, by key."""
        return {key: self[f"setting_{key}"].data or "" for key in self.adapter_keys}


@cache
def _form_class(kind: str) -> type[CarrierForm]:
    """CarrierForm plus one text field per setting of this kind's adapter (built once)."""
    fields = settings_fields(kind)
    attrs = {f"setting_{key}": StringField(label, description=help_text,
                                          validators=[Optional(), Length(max=500)])
             for key, label, help_text in fields}
    attrs["adapter_keys"] = tuple(key for key, _, _ in fields)
    return type(f"CarrierForm_{kind}", (CarrierForm,), attrs)


def carrier_form(kind: str, **kwargs) -> CarrierForm:
    """The carrier form for a kind, with that adapter's settings as fields."""
    return _form_class(kind)(**kwargs)


class MappingForm(FlaskForm):
    """One raw status and what it means."""

    raw_status = StringField("Carrier status",
                             validators=[DataRequired(), Length(max=RAW_STATUS_MAX)])
    maps_to = SelectField("Means", choices=maps_to_choices())


class RuleForm(FlaskForm):
    """A tracking rule: codes matching it belong to this carrier."""

    kind = SelectField("Rule", choices={k: RULE_LABELS[k] for k in RULE_KINDS})
    pattern = StringField("Pattern", validators=[DataRequired(), Length(max=PATTERN_MAX)])
    position = IntegerField("Position", default=0,
                            validators=[InputRequired(), NumberRange(-10_000, 10_000)])


class ButtonForm(FlaskForm):
    """An empty form: a POST-only button (delete, test) that carries the CSRF token."""
