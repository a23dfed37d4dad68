"""Carrier settings: the carrier row, its status table and its tracking rules.

Managers write these from /settings/carriers. Every operation validates, writes an
audit event (no order: `order_id` is None, kind "carrier") and flushes; the view commits.
Secrets (API key, webhook secret) never reach an audit note or an error message.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select

from models.actor import Actor
from models.audit import AuditEvent, audit_row
from models.base import db
from models.catalog import Carrier
from models.crypto import masked
from models.errors import InvalidInput
from models.status import Shipping

from .detection import known_couriers, validate_rule
from .tables import UNMAPPED, CarrierStatusMapping, ParcelEvent, TrackingRule

CODE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CODE_MAX = 40  # Carrier.code is String(40)
IGNORE = "ignore"
MAPS_TO = (*(s.value for s in Shipping), IGNORE)
RAW_STATUS_MAX = 64  # CarrierStatusMapping.raw_status
SETTING_MAX = 500
SECRET_MAX = 255


class Keep:
    """A secret left as stored (its form field was left empty)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = Keep()


def invalid(field_name: str | None, message: str) -> InvalidInput:
    """An InvalidInput that names the form field it is about (the view marks that field)."""
    error = InvalidInput(message)
    error.field = field_name
    return error


@dataclass
class CarrierFields:
    """What a manager typed for one carrier; secrets are KEEP, None (clear) or a new value."""

    name: str
    code: str
    kind: str
    local_delivery: bool = False
    active: bool = True
    base_url: str = ""
    # The adapter's own settings (its settings_fields keys only); "" removes a key.
    settings: dict[str, str] = field(default_factory=dict)
    detect_as: list[str] = field(default_factory=list)
    api_key: str | None | Keep = KEEP
    webhook_secret: str | None | Keep = KEEP


def parse_detect_as(text: str) -> list[str]:
    """Comma-separated courier codes as a list, lower case, without blanks or repeats."""
    entries = (part.strip().lower() for part in (text or "").replace(";", ",").split(","))
    return list(dict.fromkeys(e for e in entries if e))


def check_detect_as(entries: Iterable[str]) -> None:
    """Refuse a detect_as entry detection would never match (unknown courier, bad country)."""
    known = {code.lower() for code in known_couriers()}
    for entry in entries:
        courier, colon, country = entry.partition(":")
        if courier not in known:
            raise invalid("detect_as", _("“%(entry)s” is not a courier detection knows; use "
                                         "one of %(known)s.", entry=entry,
                                         known=", ".join(sorted(known))))
        if colon and courier != "s10":
            raise invalid("detect_as", _("“%(entry)s”: only s10 takes a country (e.g. s10:ma).",
                                         entry=entry))
        if colon and not re.fullmatch(r"[a-z]{2}", country):
            raise invalid("detect_as", _("“%(entry)s”: the country is two letters (e.g. s10:ma).",
                                         entry=entry))


def _secret(value: str | None | Keep, label: str) -> str | None | Keep:
    """A new secret trimmed, or KEEP/None as given; refused when too long."""
    if isinstance(value, Keep) or value is None:
        return value
    value = value.strip()
    if not value:
        return KEEP
    if len(value) > SECRET_MAX:
        raise invalid(None, _too_long_secret(label))
    return value


def _too_long_secret(label: str) -> str:
    """The refusal of a too long secret, one whole sentence per secret for translators."""
    if label == "API key":
        return _("The API key is too long (at most %(max)s characters).", max=SECRET_MAX)
    return _("The webhook secret is too long (at most %(max)s characters).", max=SECRET_MAX)


def _taken(label: str, value: str) -> str:
    """The refusal of a code or name another carrier has."""
    if label == "code":
        return _("Another carrier already has the code “%(value)s”.", value=value)
    return _("Another carrier already has the name “%(value)s”.", value=value)


def _check(carrier: Carrier | None, data: CarrierFields) -> None:
    """Refuse a carrier that could not work or would collide with another one."""
    if not data.name:
        raise invalid("name", _("Give the carrier a name."))
    if len(data.name) > 120:
        raise invalid("name", _("The name is too long (at most %(max)s characters).", max=120))
    if not data.code or len(data.code) > CODE_MAX or not CODE.fullmatch(data.code):
        raise invalid("code", _("The code goes in the webhook URL: lower-case letters, digits "
                                "and single dashes, at most %(max)s characters "
                                "(e.g. “amana-express”).", max=CODE_MAX))
    if not data.kind:
        raise invalid("kind", _("Choose what kind of carrier this is."))
    if data.base_url:
        if len(data.base_url) > 255:
            raise invalid("base_url", _("The base URL is too long (at most %(max)s characters).",
                                        max=255))
        if not re.match(r"^https?://[^\s/]+", data.base_url):
            raise invalid("base_url", _("The base URL starts with http:// or https://."))
    for key, value in data.settings.items():
        if len(value) > SETTING_MAX:
            raise invalid(f"setting_{key}", _("“%(key)s” is too long (at most %(max)s).",
                                              key=key, max=SETTING_MAX))
    check_detect_as(data.detect_as)
    for column, value, label in ((Carrier.code, data.code, "code"),
                                 (Carrier.name, data.name, "name")):
        query = select(Carrier.id).where(column == value)
        if carrier is not None and carrier.id is not None:
            query = query.where(Carrier.id != carrier.id)
        if db.session.scalar(query.limit(1)) is not None:
            raise invalid(label, _taken(label, value))


def save_carrier(carrier: Carrier | None, data: CarrierFields, actor: Actor) -> Carrier:
    """Create (carrier None) or update a carrier from a manager's form; audit what changed.

    `kind` must already be one of the adapters (the caller checks it against
    workers/carriers, which models do not import), and `settings` holds only that
    adapter's keys: keys of another kind are dropped, so a kind change leaves no
    stale URL templates behind. detect_as is kept in the same settings dict.
    """
    data.name, data.code = (data.name or "").strip(), (data.code or "").strip()
    data.base_url = (data.base_url or "").strip()
    data.settings = {k: (v or "").strip() for k, v in data.settings.items()}
    api_key = _secret(data.api_key, "API key")
    webhook_secret = _secret(data.webhook_secret, "webhook secret")
    _check(carrier, data)

    created = carrier is None
    if created:
        carrier = Carrier(settings={})
        db.session.add(carrier)
    changed = []
    settings = {k: v for k, v in data.settings.items() if v}
    if data.detect_as:
        settings["detect_as"] = list(data.detect_as)
    plain = {"name": data.name, "code": data.code, "kind": data.kind,
             "local_delivery": bool(data.local_delivery), "active": bool(data.active),
             "base_url": data.base_url or None, "settings": settings}
    for column, value in plain.items():
        if getattr(carrier, column) != value:
            changed.append(column)
            setattr(carrier, column, value)  # a new dict: the JSON column sees the change
    for column, value, label in (("api_key", api_key, "API key"),
                                 ("webhook_secret", webhook_secret, "webhook secret")):
        if isinstance(value, Keep) or getattr(carrier, column) == value:
            continue
        changed.append(f"{label} {'cleared' if value is None else 'replaced'}")
        setattr(carrier, column, value)
    db.session.flush()
    if created or changed:
        note = "carrier added" if created else "changed: " + ", ".join(changed)
        _audit(actor, carrier, note, dst=carrier.code)
    return carrier


def set_mapping(carrier: Carrier, raw_status: str, maps_to: str,
                actor: Actor) -> CarrierStatusMapping:
    """Say what one of the carrier's raw statuses means (adds the row or changes it)."""
    raw_status = (raw_status or "").strip()
    if not raw_status:
        raise invalid("raw_status", _("Write the carrier's status as it sends it."))
    if len(raw_status) > RAW_STATUS_MAX:
        raise invalid("raw_status", _("A raw status has at most %(max)s characters.",
                                      max=RAW_STATUS_MAX))
    if maps_to not in MAPS_TO:
        raise invalid("maps_to", _("“%(value)s” is not a shipping status (or “ignore”).",
                                   value=maps_to))
    mapping = db.session.execute(
        select(CarrierStatusMapping).where(CarrierStatusMapping.carrier_id == carrier.id,
                                           CarrierStatusMapping.raw_status == raw_status)
    ).scalar_one_or_none()
    before = mapping.maps_to if mapping is not None else None
    if mapping is None:
        mapping = CarrierStatusMapping(carrier_id=carrier.id, raw_status=raw_status,
                                       maps_to=maps_to)
        db.session.add(mapping)
    elif before == maps_to:
        return mapping
    mapping.maps_to = maps_to
    db.session.flush()
    _audit(actor, carrier, f"status “{raw_status}” maps to {maps_to}", src=before, dst=maps_to)
    return mapping


def delete_mapping(mapping: CarrierStatusMapping, actor: Actor) -> None:
    """Forget what a raw status means: from now on it is unmapped (listed, never guessed)."""
    carrier = db.session.get(Carrier, mapping.carrier_id)
    note, before = f"status “{mapping.raw_status}” no longer mapped", mapping.maps_to
    db.session.delete(mapping)
    db.session.flush()
    _audit(actor, carrier, note, src=before)


def add_rule(carrier: Carrier, kind: str, pattern: str, position: int,
             actor: Actor) -> TrackingRule:
    """A tracking rule that points codes to this carrier (checked before the patterns)."""
    pattern = (pattern or "").strip()
    problem = validate_rule(kind, pattern)
    if problem:
        raise invalid("pattern", problem)
    if not -10_000 <= position <= 10_000:
        raise invalid("position", _("The position is a number between %(low)s and %(high)s.",
                                    low=-10000, high=10000))
    rule = TrackingRule(carrier_id=carrier.id, kind=kind, pattern=pattern, position=position)
    db.session.add(rule)
    db.session.flush()
    _audit(actor, carrier, f"tracking rule added: {kind} {pattern!r} at {position}")
    return rule


def delete_rule(rule: TrackingRule, actor: Actor) -> None:
    """Remove a tracking rule."""
    carrier = db.session.get(Carrier, rule.carrier_id)
    note = f"tracking rule removed: {rule.kind} {rule.pattern!r}"
    db.session.delete(rule)
    db.session.flush()
    _audit(actor, carrier, note)


def _audit(actor: Actor, carrier: Carrier, note: str, src: str | None = None,
           dst: str | None = None) -> None:
    """An audit event about a carrier (no order); the note starts with its name."""
    db.session.add(AuditEvent(**audit_row(None, actor, "carrier", src, dst,
                                          f"{carrier.name}: {note}"[:1000])))
    db.session.flush()


# -- reading --------------------------------------------------------------------------

@dataclass(frozen=True)
class UnmappedStatus:
    """A raw status a carrier sent that no mapping covers yet."""

    raw_code: str
    raw_text: str
    times: int
    last_seen: object  # datetime of the newest such event

    @property
    def key(self) -> str:
        """What a mapping for it would hold: the code, or the text when there is none."""
        return (self.raw_code or self.raw_text)[:RAW_STATUS_MAX]


def _covered(code: str, text: str, table: set[str]) -> bool:
    """Whether a mapping now covers this raw status (as the adapters look it up)."""
    return any(key and (key in table or key.lower() in table) for key in (code, text))


def unmapped_statuses(carrier_id: int, limit: int = 50) -> list[UnmappedStatus]:
    """Distinct raw statuses of this carrier's unmapped events, most recent first, counted.

    Events stay "unmapped" on the timeline after a mapping is added; those the table
    now covers are left out of the list.
    """
    table = set(db.session.scalars(select(CarrierStatusMapping.raw_status)
                                   .where(CarrierStatusMapping.carrier_id == carrier_id)))
    last = func.max(ParcelEvent.received_at)
    rows = db.session.execute(
        select(ParcelEvent.raw_code, ParcelEvent.raw_text, func.count(), last)
        .where(ParcelEvent.carrier_id == carrier_id, ParcelEvent.outcome == UNMAPPED)
        .group_by(ParcelEvent.raw_code, ParcelEvent.raw_text)
        .order_by(last.desc(), ParcelEvent.raw_code, ParcelEvent.raw_text)
    ).all()
    found = [UnmappedStatus(code, text, n, seen) for code, text, n, seen in rows
             if (code or text) and not _covered(code, text, table)]
    return found[:limit]


def unmapped_counts() -> dict[int, int]:
    """Carrier id -> how many distinct raw statuses of its events are still unmapped."""
    tables: dict[int, set[str]] = {}
    for carrier_id, raw in db.session.execute(
            select(CarrierStatusMapping.carrier_id, CarrierStatusMapping.raw_status)):
        tables.setdefault(carrier_id, set()).add(raw)
    counts: dict[int, int] = {}
    for carrier_id, code, text in db.session.execute(
            select(ParcelEvent.carrier_id, ParcelEvent.raw_code, ParcelEvent.raw_text)
            .where(ParcelEvent.outcome == UNMAPPED, ParcelEvent.carrier_id.is_not(None))
            .group_by(ParcelEvent.carrier_id, ParcelEvent.raw_code, ParcelEvent.raw_text)):
        if (code or text) and not _covered(code, text, tables.get(carrier_id, set())):
            counts[carrier_id] = counts.get(carrier_id, 0) + 1
    return counts


def mask(secret: str | None) -> str:
    """A stored secret as shown back: its last four characters, and only for long ones."""
    return masked(secret)


__all__ = [
    "IGNORE", "KEEP", "MAPS_TO", "CarrierFields", "UnmappedStatus", "add_rule",
    "check_detect_as", "delete_mapping", "delete_rule", "mask", "parse_detect_as",
    "save_carrier", "set_mapping", "unmapped_counts", "unmapped_statuses",
]
