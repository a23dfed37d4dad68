"""Forms of the settings pages: a carrier, its status table and its tracking rules."""

from functools import cache
from importlib import import_module

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from models.intake.channels import (
    CONFIRM_BY,
    DROPSHIP_PROCESS,
    FORWARD_WHEN,
    FORWARDING,
    POLL_MINUTES,
    SHOPIFY_API_VERSION,
)
from models.shipping.carriers import CODE_MAX, MAPS_TO, RAW_STATUS_MAX
from models.shipping.detection import PATTERN_MAX, RULE_KINDS
from models.status import SHIPPING_INFO
from workers.carriers import ADAPTERS, KINDS
from workers.channels import KINDS as CHANNEL_KINDS

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


# -- channels -------------------------------------------------------------------------

CHANNEL_KIND_LABELS = {
    "manual": "Typed in by hand",
    "csv": "CSV uploads",
    "api": "JSON API (scripts, lead providers)",
    "sandbox": "Sandbox marketplace (the built-in test shop)",
    "shopify": "Shopify",
    "woocommerce": "WooCommerce",
}


def _carrier_id(value) -> int | None:
    """A select's carrier id: None for "no default"."""
    return int(value) if value not in (None, "") else None


class ChannelForm(FlaskForm):
    """A channel's identity, connection, credentials and forwarding settings."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    # Its shape and uniqueness are checked by save_channel, with the message that explains it.
    code = StringField(
        "Code", validators=[DataRequired()],
        description=f"Goes in the webhook URL: lower-case letters, digits and dashes (at most "
                    f"{CODE_MAX}). Changing it changes the webhook URL.")
    kind = SelectField("Orders come from",
                       choices={k: CHANNEL_KIND_LABELS.get(k, k) for k in CHANNEL_KINDS})
    active = BooleanField("Active", default=True)
    base_url = StringField("Shop address", validators=[Optional(), Length(max=255)],
                           description="The shop's web address, e.g. "
                                       "https://my-shop.myshopify.com.")
    # Secrets are never rendered back: PasswordField leaves the value out.
    api_key = PasswordField("API key (access token, or WooCommerce consumer key)",
                            validators=[Optional(), Length(max=255)])
    clear_api_key = BooleanField("Remove the stored API key")
    api_secret = PasswordField("API secret (WooCommerce consumer secret)",
                               validators=[Optional(), Length(max=255)])
    clear_api_secret = BooleanField("Remove the stored API secret")
    webhook_secret = PasswordField("Webhook secret", validators=[Optional(), Length(max=255)],
                                   description="What the shop signs its webhooks with.")
    clear_webhook_secret = BooleanField("Remove the stored webhook secret")
    api_version = StringField("Shopify API version", validators=[Optional(), Length(max=16)],
                              description=f"Leave empty for {SHOPIFY_API_VERSION}.")
    poll_interval_minutes = IntegerField(
        "Check for new orders every (minutes)",
        validators=[Optional(), NumberRange(*POLL_MINUTES)],
        description="From 1 to 1440; webhooks bring orders in between.")
    forwarding = RadioField("Send arriving orders on", default="always",
                            choices={k: o.label for k, o in FORWARDING.items()})
    forward_when = RadioField("When to send them on", default="committed",
                              choices={k: o.label for k, o in FORWARD_WHEN.items()})
    confirm_by = RadioField("Who confirms them", default="agent",
                            choices={k: o.label for k, o in CONFIRM_BY.items()})
    dropship_process = RadioField("Dropship processing", default="off",
                                  choices={k: o.label for k, o in DROPSHIP_PROCESS.items()})
    # Choices are the carriers, filled in by the view.
    default_carrier_id = SelectField("Default carrier", coerce=_carrier_id, choices=[],
                                     validate_choice=False)


class ApiKeyForm(FlaskForm):
    """A new API key: only its name (where it will be used)."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
