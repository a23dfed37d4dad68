"""Channel settings: a manager's form saved as a channel row, and each channel's health.

Managers write channels from /settings/channels. save_channel validates, writes an audit
event (no order; kind "channel") and flushes; the view commits. Secrets (API key and
secret, webhook secret) never reach an audit note or an error message. Codes and
secrets follow the carrier page's conventions (models/shipping/carriers.py).
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models.actor import Actor
from models.audit import AuditEvent, audit_row
from models.base import db
from models.catalog.sales import Carrier, Channel
from models.crypto import seal_settings
from models.dropship.operations import PROCESS_MODES
from models.shipping.carriers import CODE, CODE_MAX, KEEP, SECRET_MAX, Keep, invalid

NAME_MAX = 120  # Channel.name
URL_MAX = 255  # Channel.base_url
POLL_MINUTES = (1, 1440)
SHOPIFY_API_VERSION = "2026-07"
API_VERSION = re.compile(r"^(\d{4}-\d{2}|unstable)$")


@dataclass(frozen=True)
class Option:
    """One choice of a forwarding setting: its label, its short form, what it does."""

    label: str
    short: str
    help: str


FORWARDING = {
    "always": Option(_l("Always"), _l("Always"),
                     _l("Every arriving order goes on to be confirmed as soon as it is taken.")),
    "managed": Option(_l("Managed products only"), _l("Managed products only"),
                      _l("Orders go on when all their products are in our catalogue; the "
                         "others wait for an operator.")),
    "off": Option(_l("Off (manual)"), _l("Off (manual)"),
                  _l("Orders wait until an operator sends them on by hand.")),
}
FORWARD_WHEN = {
    "committed": Option(_l("When committed to buy"), _l("when committed"),
                        _l("As soon as the customer places the order (cash on delivery).")),
    "paid": Option(_l("Only when paid"), _l("when paid"),
                   _l("Held until the channel says the order is paid.")),
}
CONFIRM_BY = {
    "agent": Option(_l("Call center confirms (COD)"), _l("call center"),
                    _l("Orders sent on go to the call queue: an agent calls the customer.")),
    "system": Option(_l("Confirmed by the system (prepaid)"), _l("confirmed by the system"),
                     _l("Orders sent on are confirmed at once and skip the call.")),
}

# Dropship orders of the channel: Off (an operator presses Process), Managed, Always.
# Written out (rather than split from PROCESS_MODES) so each part is a translatable string.
_DROPSHIP = {
    "off": Option(_l("Off"), _l("Off"), _l("An operator presses Process.")),
    "managed": Option(_l("Managed"), _l("Managed"),
                      _l("Submitted when every line is mapped and valid.")),
    "always": Option(_l("Always"), _l("Always"),
                     _l("Submitted; whatever fails lands in error for Resolve.")),
}
DROPSHIP_PROCESS = {key: _DROPSHIP[key] for key in PROCESS_MODES}


def forwarding_summary(channel: Channel) -> str:
    """The forwarding settings in one line: "Always · when committed · call center"."""
    parts = [str(FORWARDING[channel.forwarding].short) if channel.forwarding in FORWARDING
             else channel.forwarding]
    if channel.forwarding != "off":  # nothing goes on by itself: "when" does not apply
        when = FORWARD_WHEN.get(channel.forward_when)
        parts.append(str(when.short) if when else channel.forward_when)
    by = CONFIRM_BY.get(channel.confirm_by)
    parts.append(str(by.short) if by else channel.confirm_by)
    return " · ".join(parts)


@dataclass
class ChannelFields:
    """What a manager typed for one channel; secrets are KEEP, None (clear) or a new value.

    `polled` says whether the kind has an adapter that polls it (the caller knows
    workers/channels, which models do not import): only those keep a base URL, an
    API version and a poll interval. A poll interval of None keeps the stored one.
    """

    name: str
    code: str
    kind: str
    polled: bool = False
    active: bool = True
    base_url: str = ""
    api_version: str = ""
    forwarding: str = "always"
    forward_when: str = "committed"
    confirm_by: str = "agent"
    dropship_process: str = "off"
    poll_interval_minutes: int | None = None
    default_carrier_id: int | None = None
    api_key: str | None | Keep = KEEP
    api_secret: str | None | Keep = KEEP
    webhook_secret: str | None | Keep = KEEP


def _secret(value: str | None | Keep, label: str, field_name: str) -> str | None | Keep:
    """A new secret trimmed, or KEEP/None as given; refused when too long."""
    if isinstance(value, Keep) or value is None:
        return value
    value = value.strip()
    if not value:
        return KEEP
    if len(value) > SECRET_MAX:
        # The field is named, never the value: the page must not echo a secret.
        raise invalid(field_name, _("The %(field)s is too long (at most %(max)s characters).",
                                        field=label, max=SECRET_MAX))
    return value


def _check_url(url: str) -> None:
    """Refuse a base URL an adapter could not call."""
    if len(url) > URL_MAX:
        raise invalid("base_url", _("The shop's address is too long (at most %(max)s "
                                    "characters).", max=URL_MAX))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", url):
        raise invalid("base_url", _("The shop's address is a web address starting with "
                                    "https:// (or http://), e.g. https://my-shop.myshopify.com."))


def _check(channel: Channel | None, data: ChannelFields) -> None:
    """Refuse a channel that could not work or would collide with another one."""
    if not data.name:
        raise invalid("name", _("Give the channel a name."))
    if len(data.name) > NAME_MAX:
        raise invalid("name", _("The name is too long (at most %(max)s characters).",
                                       max=NAME_MAX))
    if not data.code or len(data.code) > CODE_MAX or not CODE.fullmatch(data.code):
        raise invalid("code", _("The code goes in the webhook URL: lower-case letters, digits "
                                "and single dashes, at most %(max)s characters "
                                "(e.g. “my-shop”).", max=CODE_MAX))
    if not data.kind:
        raise invalid("kind", _("Choose where this channel's orders come from."))
    for name, value, options in (("forwarding", data.forwarding, FORWARDING),
                                 ("forward_when", data.forward_when, FORWARD_WHEN),
                                 ("confirm_by", data.confirm_by, CONFIRM_BY),
                                 ("dropship_process", data.dropship_process,
                                  DROPSHIP_PROCESS)):
        if value not in options:
            raise invalid(name, _("Choose one of: %(options)s.",
                                    options=", ".join(str(o.label) for o in options.values())))
    interval = data.poll_interval_minutes
    if interval is not None and not POLL_MINUTES[0] <= interval <= POLL_MINUTES[1]:
        raise invalid("poll_interval_minutes", _("Poll every 1 to 1440 minutes (a day)."))
    if data.polled:
        if not data.base_url:
            raise invalid("base_url", _("Give the shop's address: the adapter calls it."))
        _check_url(data.base_url)
        if data.api_version and not API_VERSION.fullmatch(data.api_version):
            raise invalid("api_version", _("The API version looks like 2026-07."))
    if data.default_carrier_id is not None and db.session.get(
            Carrier, data.default_carrier_id) is None:
        raise invalid("default_carrier_id", _("That carrier no longer exists."))
    for column, value, label in ((Channel.code, data.code, "code"),
                                 (Channel.name, data.name, "name")):
        message = (_("Another channel already has the code “%(value)s”.", value=value)
                   if label == "code" else
                   _("Another channel already has the name “%(value)s”.", value=value))
        query = select(Channel.id).where(column == value)
        if channel is not None and channel.id is not None:
            query = query.where(Channel.id != channel.id)
        if db.session.scalar(query.limit(1)) is not None:
            raise invalid(label, message)


def _settings(channel: Channel | None, data: ChannelFields, webhook_secret) -> dict:
    """The adapter settings to store: the API version for Shopify, kept keys of the kind.

    Shopify keeps signing with the old webhook secret for a while after it is rotated,
    so a replaced secret is kept as previous_webhook_secret (the adapter accepts both),
    encrypted like the columns (models/crypto.py SEALED_SETTINGS).
    """
    same_kind = channel is not None and channel.kind == data.kind
    settings = dict(channel.settings or {}) if same_kind else {}
    settings.pop("api_version", None)
    if data.kind == "shopify":
        settings["api_version"] = data.api_version or SHOPIFY_API_VERSION
        if webhook_secret is None:
            settings.pop("previous_webhook_secret", None)
        elif not isinstance(webhook_secret, Keep) and channel is not None \
                and channel.webhook_secret and channel.webhook_secret != webhook_secret:
            settings["previous_webhook_secret"] = channel.webhook_secret
    return seal_settings(settings)


def save_channel(channel: Channel | None, data: ChannelFields, actor: Actor) -> Channel:
    """Create (channel None) or update a channel from a manager's form; audit what changed.

    `kind` must already be one of workers/channels' KINDS (the caller checks it).
    """
    for name in ("name", "code", "base_url", "api_version"):
        setattr(data, name, (getattr(data, name) or "").strip())
    data.base_url = data.base_url.rstrip("/")
    secrets = {"api_key": _secret(data.api_key, _("API key"), "api_key"),
               "api_secret": _secret(data.api_secret, _("API secret"), "api_secret"),
               "webhook_secret": _secret(data.webhook_secret, _("webhook secret"),
                                         "webhook_secret")}
    _check(channel, data)

    created = channel is None
    plain = {"name": data.name, "code": data.code, "kind": data.kind,
             "active": bool(data.active), "forwarding": data.forwarding,
             "forward_when": data.forward_when, "confirm_by": data.confirm_by,
             "dropship_process": data.dropship_process,
             "base_url": data.base_url if data.polled else None,
             "default_carrier_id": data.default_carrier_id,
             "settings": _settings(channel, data, secrets["webhook_secret"])}
    if data.poll_interval_minutes is not None:
        plain["poll_interval_minutes"] = data.poll_interval_minutes
    if created:
        channel = Channel(settings={}, poll_interval_minutes=5)
        db.session.add(channel)
    changed = []
    for column, value in plain.items():
        if getattr(channel, column) != value:
            changed.append(column)
            setattr(channel, column, value)  # a new dict: the JSON column sees the change
    for column, value in secrets.items():
        if isinstance(value, Keep) or getattr(channel, column) == value:
            continue
        label = column.replace("_", " ").replace("api", "API")
        changed.append(f"{label} {'cleared' if value is None else 'replaced'}")
        setattr(channel, column, value)
    db.session.flush()
    if created or changed:
        note = "channel added" if created else "changed: " + ", ".join(changed)
        db.session.add(AuditEvent(**audit_row(None, actor, "channel", None, channel.code,
                                              f"{channel.name}: {note}"[:1000])))
        db.session.flush()
    return channel


# -- health ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Health:
    """How a polled channel is doing: failing, error (fresh), never synced, ok.

    `state` is "" for channels people feed (manual, CSV, API): nothing is polled, so
    there is nothing to report.
    """

    state: str
    label: str = ""
    # A flag colour (static/css/app.css .flag-*), or "" for plain text.
    colour: str = ""
    since: datetime | None = None


NOT_POLLED = Health("")


def channel_health(channel: Channel, now: datetime, polled: bool) -> Health:
    """A channel's health at `now`: failing once it has failed for two poll intervals.

    One failed poll may be a blip the next one fixes (amber "error"); failures that
    outlast two intervals mean orders are not arriving (red "failing").
    """
    if not polled:
        return NOT_POLLED
    if channel.failing_since is not None:
        grace = timedelta(minutes=2 * max(channel.poll_interval_minutes or 1, 1))
        if channel.failing_since < now - grace:
            return Health("failing", _("failing"), "red", channel.failing_since)
        return Health("error", _("error"), "amber", channel.failing_since)
    if channel.last_sync_at is None:
        return Health("never", _("never synced"))
    return Health("ok", _("ok"))


__all__ = [
    "CONFIRM_BY", "DROPSHIP_PROCESS", "FORWARDING", "FORWARD_WHEN", "KEEP", "NOT_POLLED",
    "POLL_MINUTES",
    "SHOPIFY_API_VERSION",
    "ChannelFields", "Health", "Option", "channel_health", "forwarding_summary",
    "save_channel",
]
