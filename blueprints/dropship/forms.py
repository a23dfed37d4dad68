"""Forms of the dropship screens: list filters, Resolve, Cancel, suppliers and mappings."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from models.dropship.operations import FieldErrors, Fix
from models.dropship.queries import OUTCOMES, TABS, Filters
from models.dropship.suppliers import POLL_MINUTES
from models.orders.listing import Cursor
from workers.suppliers import KINDS

from ..filters import DateRangeChecks, check_cursor

TAB_LABELS = {"process": _l("To process"), "errors": _l("Errors"), "progress": _l("In progress")}
OUTCOME_LABELS = {"all": _l("All"), "processed": _l("Processed"), "failed": _l("Failed"),
                  "shipped": _l("Shipped"), "canceled": _l("Canceled")}
# Kinds whose adapter calls an API at the supplier's base URL (csv files need none).
API_KINDS = frozenset({"sandbox", "http_json"})


def _texts(labels: dict) -> Callable[[], dict[str, str]]:
    """Select options read in the request's language (WTForms takes only plain str labels)."""
    return lambda: {key: str(label) for key, label in labels.items()}


def _choices(items) -> dict[str, str]:
    """Select options (value -> label) with an "any" entry first."""
    return {"": _("Any"), **{str(k): v for k, v in items}}


class _ListForm(FlaskForm):
    """What both lists filter on, read from the query string (GET, so no CSRF)."""

    class Meta:
        csrf = False

    supplier = SelectField(_l("Supplier"), choices={}, default="")
    channel = SelectField(_l("Channel"), choices={}, default="")
    before = HiddenField()

    def validate_before(self, field):
        """The cursor must be one the list produced."""
        check_cursor(Cursor, field)

    def fill(self, suppliers: dict[int, str], channels: dict[int, str]) -> "_ListForm":
        """Offer the suppliers and channels by name."""
        self.supplier.choices = _choices(suppliers.items())
        self.channel.choices = _choices(channels.items())
        return self

    def _common(self) -> dict:
        """The filters both lists share, as Filters arguments."""
        return {"supplier_id": int(self.supplier.data) if self.supplier.data else None,
                "channel_id": int(self.channel.data) if self.channel.data else None,
                "before": Cursor.decode(self.before.data) if self.before.data else None}


class WorkFilterForm(_ListForm):
    """The Orders screen: a tab, a supplier, a channel, maybe one order."""

    tab = SelectField(_l("Tab"), choices=_texts(TAB_LABELS), default="process")
    order = IntegerField(_l("Order"), validators=[Optional(), NumberRange(1, 2**31 - 1)])

    def filters(self) -> Filters:
        """The validated form as query filters."""
        return Filters(statuses=TABS[self.tab.data or "process"], order_id=self.order.data,
                       **self._common())

    def args(self, **changes) -> dict[str, str]:
        """The current filters as URL arguments (without the cursor), with changes applied."""
        args = {"tab": self.tab.data or "process", "supplier": self.supplier.data,
                "channel": self.channel.data,
                "order": str(self.order.data) if self.order.data else ""}
        args.update(changes)
        return {k: v for k, v in args.items() if v}


def _utc(day, zone: ZoneInfo) -> datetime:
    """Midnight of a local calendar day, as naive UTC."""
    return datetime.combine(day, time.min, zone).astimezone(UTC).replace(tzinfo=None)


class HistoryFilterForm(DateRangeChecks, _ListForm):
    """Order History: an outcome, a supplier, a channel and a range of local days."""

    status = SelectField(_l("Outcome"), choices=_texts(OUTCOME_LABELS), default="all")
    from_ = DateField(_l("From"), validators=[Optional()], name="from")
    to = DateField(_l("To"), validators=[Optional()])

    def filters(self) -> Filters:
        """The validated form as query filters (dates are whole local days)."""
        zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
        return Filters(
            statuses=OUTCOMES[self.status.data or "all"],
            created_from=_utc(self.from_.data, zone) if self.from_.data else None,
            created_to=_utc(self.to.data + timedelta(days=1), zone) if self.to.data else None,
            **self._common())

    def args(self, **changes) -> dict[str, str]:
        """The current filters as URL arguments (without the cursor), with changes applied."""
        args = {"status": self.status.data if self.status.data != "all" else "",
                "supplier": self.supplier.data, "channel": self.channel.data,
                "from": self.from_.data.isoformat() if self.from_.data else "",
                "to": self.to.data.isoformat() if self.to.data else ""}
        args.update(changes)
        return {k: v for k, v in args.items() if v}


class ButtonForm(FlaskForm):
    """An empty form: a POST button's CSRF token."""


class CancelForm(FlaskForm):
    """Cancel a supplier order, saying why."""

    version = IntegerField(validators=[InputRequired()])
    reason = StringField(_l("Reason"), validators=[
        DataRequired(message=_l("Say why the supplier order is canceled.")), Length(max=255)])


class TrackingForm(FlaskForm):
    """The tracking number a supplier gave outside its API."""

    version = IntegerField(validators=[InputRequired()])
    tracking_number = StringField(_l("Tracking number"), validators=[
        DataRequired(message=_l("Type the tracking number the supplier gave.")), Length(max=64)])
    carrier_name = StringField(_l("Carrier"), validators=[Length(max=120)])


def read_fix(form, so) -> tuple[Fix, bool, int | None]:
    """The Resolve form as (Fix, process?, version seen); FieldErrors for unreadable numbers."""
    errors = {}
    quantities, skus = {}, {}
    for line in so.lines:
        text = (form.get(f"quantity-{line.id}") or "").strip()
        if text:
            if text.isdigit() and len(text) <= 6:
                quantities[line.id] = int(text)
            else:
                errors[f"quantity-{line.id}"] = _("A whole number between 1 and 999.")
        else:
            errors[f"quantity-{line.id}"] = _("Between 1 and 999.")
        if f"sku-{line.id}" in form:
            skus[line.id] = form.get(f"sku-{line.id}") or ""
    version = form.get("version", "")
    if errors:
        raise FieldErrors(errors)
    fix = Fix(**{name: form.get(name) for name in
                 ("customer_name", "phone", "address", "city", "shipping_method")},
              quantities=quantities, skus=skus, remember=form.get("remember") == "y")
    return fix, form.get("process") == "1", int(version) if version.isdigit() else None


# ---- suppliers --------------------------------------------------------------------------


class SupplierForm(FlaskForm):
    """A supplier: identity, API access, defaults, and the settings of its kind."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    kind = SelectField(_l("Kind"), choices=_texts(KINDS))
    active = BooleanField(_l("Active"), default=True)
    base_url = StringField(_l("API address"), validators=[Optional(), Length(max=255)],
                           description=_l("Where its API answers, e.g. "
                                          "https://api.supplier.example/v1."))
    # Write-only: PasswordField never renders the stored value back.
    api_key = PasswordField(_l("API token"), validators=[Optional(), Length(max=255)])
    clear_api_key = BooleanField(_l("Remove the stored API token"))
    default_shipping_method = StringField(
        _l("Default shipping method"), validators=[Optional(), Length(max=120)],
        description=_l("Sent when no shipping mapping matches the order's rate."))
    edit_before_submit = BooleanField(_l("Allow edits before submission"), default=True,
                                      description=_l("Operators may change quantities, "
                                                     "address and method of a pending order."))
    poll_interval_minutes = IntegerField(
        _l("Ask about open orders every (minutes)"), default=5,
        validators=[InputRequired(), NumberRange(*POLL_MINUTES)])
    settings_json = TextAreaField(_l("API settings (JSON)"))
    drop_url = StringField(_l("Drop URL (optional)"), validators=[Optional(), Length(max=255)],
                           description=_l("Each purchase-order file is POSTed there; leave "
                                          "empty to download the files and send them "
                                          "yourself."))


def default_settings(kind: str) -> dict:
    """The settings a new supplier of this kind starts from."""
    if kind == "http_json":
        from workers.suppliers.http_json import DEFAULT_SETTINGS
    elif kind == "csv":
        from workers.suppliers.csv_file import DEFAULT_SETTINGS
    else:
        return {}
    return json.loads(json.dumps(DEFAULT_SETTINGS))  # a copy, nested dicts too


def adapter_settings(form: SupplierForm) -> dict:
    """The kind's settings from the form, checked by its adapter; FieldErrors when wrong."""
    kind = form.kind.data
    if kind == "http_json":
        from workers.suppliers.http_json import check_settings

        field = "settings_json"
        try:
            settings = json.loads(form.settings_json.data or "{}")
        except json.JSONDecodeError as error:
            raise FieldErrors({field: _("This is not valid JSON: %(problem)s (line %(line)s, "
                                        "column %(column)s).", problem=error.msg,
                                        line=error.lineno, column=error.colno)}) from None
    elif kind == "csv":
        from workers.suppliers.csv_file import check_settings

        field = "drop_url"
        settings = {"drop_url": (form.drop_url.data or "").strip()}
    else:
        return {}
    problems = check_settings(settings)
    if problems:
        raise FieldErrors({field: " ".join(problems)})
    return settings


class SkuMappingForm(FlaskForm):
    """One SKU mapping: our SKU, the supplier's, our cost and maybe a method."""

    sku = StringField(_l("Our SKU"), validators=[Optional(), Length(max=64)])
    supplier_sku = StringField(_l("Supplier SKU"), validators=[Optional(), Length(max=64)])
    cost = StringField(_l("Cost"), validators=[Optional(), Length(max=20)])
    shipping_method = StringField(_l("Shipping method"), validators=[Optional(), Length(max=64)])


class ShippingMappingForm(FlaskForm):
    """A channel's rate name and the supplier's method for it."""

    rate_name = StringField(_l("Channel rate name"), validators=[Optional(), Length(max=120)])
    method = StringField(_l("Supplier method"), validators=[Optional(), Length(max=120)])


class FileForm(FlaskForm):
    """One uploaded file."""

    file = FileField(_l("CSV file"))
