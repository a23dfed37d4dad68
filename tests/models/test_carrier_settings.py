"""Carrier settings operations: validation, secrets, audit, status table, rules, unmapped."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Actor, AuditEvent, Carrier, CarrierStatusMapping, ParcelEvent, TrackingRule
from models.base import utcnow
from models.errors import InvalidInput
from models.shipping.carriers import (
    KEEP,
    CarrierFields,
    add_rule,
    check_detect_as,
    delete_mapping,
    delete_rule,
    mask,
    parse_detect_as,
    save_carrier,
    set_mapping,
    unmapped_counts,
    unmapped_statuses,
)

SECRET = "sk_live_abcdefghijklmnop4242"


@pytest.fixture
def manager(make_user):
    """The manager making the changes."""
    return Actor.of(make_user("manager"))


def fields(**overrides) -> CarrierFields:
    """A valid carrier as a form would hand it over."""
    return CarrierFields(**{"name": "Amana", "code": "amana", "kind": "sandbox", **overrides})


def count(model) -> int:
    """Rows of a table."""
    return db.session.scalar(select(func.count()).select_from(model))


def event(parcel, code: str, text: str = "", minutes_ago: int = 0, outcome: str = "unmapped"):
    """A carrier event on the parcel's timeline."""
    at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.add(ParcelEvent(
        parcel_id=parcel.id, carrier_id=parcel.carrier_id, occurred_at=at, received_at=at,
        source="webhook", raw_code=code, raw_text=text, outcome=outcome,
        dedupe_key=f"{code}|{text}|{minutes_ago}|{outcome}"))
    db.session.commit()


def test_save_carrier_creates_with_audit_and_only_flushes(manager):
    """A new carrier is flushed with an audit event without an order; the view commits."""
    carrier = save_carrier(None, fields(api_key=SECRET, detect_as=["s10:ma"],
                                        settings={"slug": " x ", "empty": ""}), manager)
    assert carrier.id is not None
    assert carrier.settings == {"slug": "x", "detect_as": ["s10:ma"]}
    audit = db.session.execute(select(AuditEvent)).scalar_one()
    assert (audit.order_id, audit.kind, audit.actor_name, audit.to_value) == (
        None, "carrier", manager.name, "amana")
    assert SECRET not in audit.note
    db.session.rollback()
    assert count(Carrier) == 0 and count(AuditEvent) == 0


def test_save_carrier_secrets_keep_replace_clear(manager, make_carrier):
    """KEEP leaves a secret, a value replaces it, None clears it."""
    carrier = make_carrier(name="Amana", code="amana", api_key=SECRET, webhook_secret="hook")
    save_carrier(carrier, fields(api_key=KEEP, webhook_secret=None), manager)
    assert (carrier.api_key, carrier.webhook_secret) == (SECRET, None)
    save_carrier(carrier, fields(api_key="  new-key  "), manager)
    assert carrier.api_key == "new-key"
    notes = db.session.scalars(select(AuditEvent.note).order_by(AuditEvent.id)).all()
    assert notes == ["Amana: changed: webhook secret cleared", "Amana: changed: API key replaced"]


def test_save_carrier_without_changes_writes_no_audit(manager, make_carrier):
    """Saving what is stored changes nothing and records nothing."""
    carrier = make_carrier(name="Amana", code="amana", kind="sandbox", settings={})
    save_carrier(carrier, fields(), manager)
    assert count(AuditEvent) == 0


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"code": "Amana"}, "code", "lower-case letters"),
    ({"code": "a" * 41}, "code", "at most 40"),
    ({"name": "  "}, "name", "Give the carrier a name"),
    ({"base_url": "ftp://x"}, "base_url", "http:// or https://"),
    ({"detect_as": ["laposte"]}, "detect_as", "not a courier detection knows"),
    ({"api_key": "k" * 256}, None, "too long"),
])
def test_save_carrier_invalid_refused(manager, overrides, field, message):
    """Each refusal names its field and says what is wrong; nothing is added."""
    with pytest.raises(InvalidInput) as refused:
        save_carrier(None, fields(**overrides), manager)
    assert message in refused.value.message
    assert refused.value.field == field
    assert count(Carrier) == 0


def test_save_carrier_duplicate_name_or_code_refused(manager, make_carrier):
    """Code and name are unique; the carrier itself does not clash with its own row."""
    first = make_carrier(name="Amana", code="amana")
    other = make_carrier(name="Other", code="other")
    with pytest.raises(InvalidInput, match="already has the code “amana”"):
        save_carrier(other, fields(name="Other", code="amana"), manager)
    with pytest.raises(InvalidInput, match="already has the name “Amana”"):
        save_carrier(None, fields(code="new"), manager)
    save_carrier(first, fields(name="Amana", code="amana", base_url="https://a.example"),
                 manager)
    assert first.base_url == "https://a.example"


def test_detect_as_parsed_and_checked():
    """Comma-separated, lower-cased, deduplicated; s10 alone takes a two-letter country."""
    assert parse_detect_as(" UPS, s10:MA ,,ups; dhl") == ["ups", "s10:ma", "dhl"]
    check_detect_as(["ups", "s10", "s10:ma", "fedex"])
    for bad in (["ups:ma"], ["s10:mar"], ["s10:"], ["laposte"]):
        with pytest.raises(InvalidInput):
            check_detect_as(bad)


def test_mask_shows_last_four_of_long_secrets_only():
    """Short secrets show no characters at all."""
    assert mask(SECRET) == "•••• 4242"
    assert mask("short-key") == "•••• (set)"
    assert mask(None) == ""


def test_set_mapping_adds_changes_and_refuses_unknown(manager, make_carrier):
    """One row per raw status; our eight statuses or ignore only."""
    carrier = make_carrier()
    set_mapping(carrier, " LIVRE ", "delivered", manager)
    set_mapping(carrier, "LIVRE", "ignore", manager)
    set_mapping(carrier, "LIVRE", "ignore", manager)
    rows = db.session.execute(select(CarrierStatusMapping.raw_status,
                                     CarrierStatusMapping.maps_to)).all()
    assert rows == [("LIVRE", "ignore")]
    audits = db.session.execute(select(AuditEvent.from_value, AuditEvent.to_value)
                                .order_by(AuditEvent.id)).all()
    assert audits == [(None, "delivered"), ("delivered", "ignore")]
    with pytest.raises(InvalidInput, match="not a shipping status"):
        set_mapping(carrier, "X", "lost", manager)
    with pytest.raises(InvalidInput, match="at most 64"):
        set_mapping(carrier, "X" * 65, "shipped", manager)


def test_delete_mapping_audits(manager, make_carrier):
    """Deleting a row records what it meant."""
    carrier = make_carrier()
    mapping = set_mapping(carrier, "LIVRE", "delivered", manager)
    delete_mapping(mapping, manager)
    assert count(CarrierStatusMapping) == 0
    last = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    assert (last.from_value, last.to_value, last.order_id) == ("delivered", None, None)


def test_add_rule_validates_and_delete_rule_removes(manager, make_carrier):
    """An invalid regex is refused with validate_rule's reason; a valid one is kept."""
    carrier = make_carrier()
    with pytest.raises(InvalidInput, match="not valid") as refused:
        add_rule(carrier, "regex", "(AMA", 0, manager)
    assert refused.value.field == "pattern"
    with pytest.raises(InvalidInput, match="Unknown rule kind"):
        add_rule(carrier, "glob", "AMA*", 0, manager)
    rule = add_rule(carrier, "prefix", " AMA ", 3, manager)
    assert (rule.pattern, rule.position) == ("AMA", 3)
    delete_rule(rule, manager)
    assert count(TrackingRule) == 0
    assert count(AuditEvent) == 2


def test_unmapped_statuses_newest_first_counted_without_mapped(manager, make_carrier,
                                                              parcel_order):
    """Distinct code/text pairs, most recent first, counted; mapped ones (any case) left out."""
    carrier = make_carrier(kind="http_json")
    _, parcel = parcel_order(carrier=carrier)
    event(parcel, "RET", "Retour", minutes_ago=50)
    event(parcel, "RET", "Retour", minutes_ago=40)
    event(parcel, "", "En cours", minutes_ago=30)
    event(parcel, "Done", "Livré", minutes_ago=20)
    event(parcel, "ARR", "Arrivé", minutes_ago=10)
    event(parcel, "OK", "applied one", minutes_ago=5, outcome="applied")
    set_mapping(carrier, "done", "delivered", manager)  # adapters try "Done", then "done"
    db.session.commit()
    found = unmapped_statuses(carrier.id)
    assert [(u.raw_code, u.raw_text, u.times, u.key) for u in found] == [
        ("ARR", "Arrivé", 1, "ARR"), ("", "En cours", 1, "En cours"), ("RET", "Retour", 2, "RET")]
    assert unmapped_counts() == {carrier.id: 3}
