"""Forms of the settings pages: a carrier, its status table and its tracking rules."""

from collections.abc import Callable
from functools import cache
from importlib import import_module

from flask_babel import lazy_gettext as _l
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
    "sandbox": _l("Sandbox (the built-in test carrier)"),
    "aftership": _l("AfterShip (tracking for 1,000+ couriers)"),
    "http_json": _l("Courier with a JSON API (described below)"),
    "local": _l("Local delivery (no API)"),
}
RULE_LABELS = {"prefix": _l("Starts with"), "suffix": _l("Ends with"),
               "regex": _l("Regular expression")}


def settings_fields(kind: str) -> tuple[tuple[str, str, str], ...]:
    """(key, label, help) of the adapter settings of a kind; none for an unknown kind."""
    if kind not in ADAPTERS:
        return ()
    module, name = ADAPTERS[kind].split(":")
    return tuple(getattr(getattr(import_module(module), name), "settings_fields", ()))


def maps_to_choices() -> dict[str, str]:
    """Our eight shipping statuses by label, then "ignore" (value -> label)."""
    return {v: str(SHIPPING_INFO[v].label if v in SHIPPING_INFO else _l("Ignore (no change)"))
            for v in MAPS_TO}


def translated(options: dict) -> Callable[[], dict[str, str]]:
    """Choices read when the form is built, so their labels are in the request's language."""
    return lambda: {key: str(label) for key, label in options.items()}


class CarrierForm(FlaskForm):
    """A carrier's identity, API access and detection; adapter settings are added per kind."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    # Its shape and length are checked by save_carrier, with the message that explains it.
    code = StringField(
        "Code", validators=[DataRequired()],
        description=_l("Goes in the webhook URL: lower-case letters, digits and dashes "
                       "(at most %(max)s).", max=CODE_MAX))
    kind = SelectField(_l("Kind"), choices=translated({k: KIND_LABELS.get(k, k) for k in KINDS}))
    local_delivery = BooleanField(_l("Local delivery (our own drivers)"))
    active = BooleanField(_l("Active"), default=True)
    base_url = StringField(_l("Base URL of its API"), validators=[Optional(), Length(max=255)])
    # Secrets are never rendered back: PasswordField leaves the value out.
    api_key = PasswordField(_l("API key"), validators=[Optional(), Length(max=255)])
    clear_api_key = BooleanField(_l("Remove the stored API key"))
    webhook_secret = PasswordField(_l("Webhook secret"), validators=[Optional(), Length(max=255)])
    clear_webhook_secret = BooleanField(_l("Remove the stored webhook secret"))
    detect_as = StringField(
        _l("Recognise tracking numbers of"), validators=[Optional(), Length(max=255)],
        description=_l("Comma-separated courier codes, e.g. “ups” or “s10:ma” (Poste Maroc)."))

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

    raw_status = StringField(_l("Carrier status"),
                             validators=[DataRequired(), Length(max=RAW_STATUS_MAX)])
    maps_to = SelectField(_l("Means"), choices=maps_to_choices)


class RuleForm(FlaskForm):
    """A tracking rule: codes matching it belong to this carrier."""

    kind = SelectField(_l("Rule"), choices=translated({k: RULE_LABELS[k] for k in RULE_KINDS}))
    pattern = StringField(_l("Pattern"), validators=[DataRequired(), Length(max=PATTERN_MAX)])
    position = IntegerField(_l("Position"), default=0,
                            validators=[InputRequired(), NumberRange(-10_000, 10_000)])


class ButtonForm(FlaskForm):
    """An empty form: a POST-only button (delete, test) that carries the CSRF token."""


# -- channels -------------------------------------------------------------------------

CHANNEL_KIND_LABELS = {
    "manual": _l("Typed in by hand"),
    "csv": _l("CSV uploads"),
    "api": _l("JSON API (scripts, lead providers)"),
    "sandbox": _l("Sandbox marketplace (the built-in test shop)"),
    "shopify": "Shopify",
    "woocommerce": "WooCommerce",
}


def _carrier_id(value) -> int | None:
    """A select's carrier id: None for "no default"."""
    return int(value) if value not in (None, "") else None


class ChannelForm(FlaskForm):
    """A channel's identity, connection, credentials and forwarding settings."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    # Its shape and uniqueness are checked by save_channel, with the message that explains it.
    code = StringField(
        "Code", validators=[DataRequired()],
        description=_l("Goes in the webhook URL: lower-case letters, digits and dashes (at most "
                       "%(max)s). Changing it changes the webhook URL.", max=CODE_MAX))
    kind = SelectField(_l("Orders come from"),
                       choices=translated({k: CHANNEL_KIND_LABELS.get(k, k)
                                           for k in CHANNEL_KINDS}))
    active = BooleanField(_l("Active"), default=True)
    base_url = StringField(_l("Shop address"), validators=[Optional(), Length(max=255)],
                           description=_l("The shop's web address, e.g. "
                                          "https://my-shop.myshopify.com."))
    # Secrets are never rendered back: PasswordField leaves the value out.
    api_key = PasswordField(_l("API key (access token, or WooCommerce consumer key)"),
                            validators=[Optional(), Length(max=255)])
    clear_api_key = BooleanField(_l("Remove the stored API key"))
    api_secret = PasswordField(_l("API secret (WooCommerce consumer secret)"),
                               validators=[Optional(), Length(max=255)])
    clear_api_secret = BooleanField(_l("Remove the stored API secret"))
    webhook_secret = PasswordField(_l("Webhook secret"), validators=[Optional(), Length(max=255)],
                                   description=_l("What the shop signs its webhooks with."))
    clear_webhook_secret = BooleanField(_l("Remove the stored webhook secret"))
    api_version = StringField(_l("Shopify API version"), validators=[Optional(), Length(max=16)],
                              description=_l("Leave empty for %(version)s.",
                                             version=SHOPIFY_API_VERSION))
    poll_interval_minutes = IntegerField(
        _l("Check for new orders every (minutes)"),
        validators=[Optional(), NumberRange(*POLL_MINUTES)],
        description=_l("From 1 to 1440; webhooks bring orders in between."))
    forwarding = RadioField(_l("Send arriving orders on"), default="always",
                            choices=translated({k: o.label for k, o in FORWARDING.items()}))
    forward_when = RadioField(_l("When to send them on"), default="committed",
                              choices=translated({k: o.label for k, o in FORWARD_WHEN.items()}))
    confirm_by = RadioField(_l("Who confirms them"), default="agent",
                            choices=translated({k: o.label for k, o in CONFIRM_BY.items()}))
    dropship_process = RadioField(_l("Dropship processing"), default="off",
                                  choices=translated({k: o.label
                                                      for k, o in DROPSHIP_PROCESS.items()}))
    # Choices are the carriers, filled in by the view.
    default_carrier_id = SelectField(_l("Default carrier"), coerce=_carrier_id, choices=[],
                                     validate_choice=False)


class ApiKeyForm(FlaskForm):
    """A new API key: only its name (where it will be used)."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])


# -- users ----------------------------------------------------------------------------

class UserLanguageForm(FlaskForm):
    """The language a user reads codboard in; the view fills the choices ("" = browser)."""

    language = SelectField(_l("Language"), choices=[])
