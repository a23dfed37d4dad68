"""Telling the carrier from a tracking code: the user's rules, then checksum-checked patterns.

Order of evidence, strongest first:
1. a user's TrackingRule (prefix, suffix or regex) — confidence 100;
2. a pattern of the `tracking-numbers` data set whose check digit (and any service-type or
   country table) validates, mapped to carriers by `carrier.settings["detect_as"]`;
3. the order's carrier; 4. the sales channel's default carrier; 5. nothing.

`detect_as` is a list of the data set's courier codes, compared case-insensitively:
"dhl", "fedex", "ontrac", "s10", "ups", "usps" (see `known_couriers()`). S10 is the UPU
format every national post uses, so "s10" stands for all of them; "s10:ma" narrows it to
one issuing country (the code's last two letters), e.g. Poste Maroc's "RR123456785MA".
A single string is taken as a one-item list.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from flask_babel import gettext as _
from sqlalchemy import select

from models.base import db
from models.catalog import Carrier

from .tables import TrackingRule

RULE_KINDS = ("prefix", "suffix", "regex")
PATTERN_MAX = 120  # TrackingRule.pattern is String(120)

# Operators paste codes from e-mails and spreadsheets: any whitespace and any dash goes.
_NOISE = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


@dataclass(frozen=True)
class Detection:
    """Which carrier a tracking code points to, how we know, and how sure we are."""

    carrier_id: int | None
    method: str  # "rule", "pattern", "order", "channel", or "none"
    confidence: int  # 0..100
    courier: str | None  # the data set's courier name when a pattern matched
    note: str  # for humans: why


@dataclass(frozen=True)
class PatternMatch:
    """One data-set definition that matched with a valid check digit."""

    code: str  # the data set's courier code, lower case ("ups", "s10")
    name: str  # its display name ("UPS", "S10 International Standard")
    country: str | None  # S10 only: the issuing post's country, lower case

    def keys(self) -> set[str]:
        """The detect_as entries that stand for this match."""
        return {self.code, f"{self.code}:{self.country}"} if self.country else {self.code}


def normalise(code: str) -> str:
    """The form codes are compared in: upper case, no whitespace, no dashes."""
    return _NOISE.sub("", code or "").upper()


@cache
def _definitions() -> tuple:
    """The data set's definitions that carry a checksum, imported once per process.

    Importing tracking_numbers compiles every courier's regex, so it waits until the
    first detection. Definitions without a check digit (Amazon "TBA…", UPS Mail
    Innovations "80…", CDL) are left out: anything of the right length would match them.
    """
    from tracking_numbers import DEFINITIONS

    return tuple(d for d in DEFINITIONS if d.checksum_validator is not None)


def known_couriers() -> dict[str, str]:
    """Courier code -> name for every courier detection can recognise (for detect_as)."""
    return {d.courier.code: d.courier.name for d in _definitions()}


def pattern_matches(code: str) -> list[PatternMatch]:
    """Every courier whose pattern, check digit and lookup tables accept `code`, once each."""
    code = normalise(code)
    if not code:
        return []
    found: dict[tuple[str, str | None], PatternMatch] = {}
    for definition in _definitions():
        number = definition.test(code)
        # `valid` means no validation errors: the checksum and the service/country tables.
        if number is None or not number.valid:
            continue
        country = None
        if definition.courier.code == "s10":
            country = code[-2:].lower()
        match = PatternMatch(definition.courier.code.lower(), definition.courier.name, country)
        found.setdefault((match.code, match.country), match)
    return list(found.values())


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern | None:
    """A rule's regex compiled once, or None when it does not compile."""
    try:
        return re.compile(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError):
        return None


def validate_rule(kind: str, pattern: str) -> str | None:
    """A human error for a tracking rule that cannot work, or None when it is fine."""
    if kind not in RULE_KINDS:
        return _("Unknown rule kind %(kind)s: use prefix, suffix or regex.", kind=repr(kind))
    if not pattern or not pattern.strip():
        return _("The pattern is empty.")
    if len(pattern) > PATTERN_MAX:
        return _("The pattern is too long (%(num)s characters, at most %(max)s).",
                 num=len(pattern), max=PATTERN_MAX)
    if kind in ("prefix", "suffix"):
        if not normalise(pattern):
            return _("The pattern has only spaces and dashes, which codes are compared "
                     "without.")
        return None
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        if exc.pos is not None:
            return _("The regular expression is not valid at position %(pos)s: %(why)s.",
                     pos=exc.pos, why=exc.msg)
        return _("The regular expression is not valid: %(why)s.", why=exc.msg)
    except (RecursionError, OverflowError):
        return _("The regular expression is too complex.")
    if compiled.search(""):
        # ".*", "\d*" or a stray "|" would claim every tracking code for one carrier.
        return _("The regular expression matches an empty code, so it would match every "
                 "code; use + instead of * or remove the empty alternative.")
    return None


def _rule_matches(rule, code: str, raw: str) -> bool:
    """Whether one rule accepts the code; a broken rule accepts nothing.

    Prefixes and suffixes are normalised like the code. A regex is tried on the
    normalised code and on the code as typed (trimmed, upper case), so a rule written
    with the carrier's own dashes, "^AMA-\\d+$", still matches.
    """
    kind, pattern = rule.kind, rule.pattern or ""
    if kind == "prefix":
        wanted = normalise(pattern)
        return bool(wanted) and code.startswith(wanted)
    if kind == "suffix":
        wanted = normalise(pattern)
        return bool(wanted) and code.endswith(wanted)
    if kind == "regex":
        compiled = _compiled(pattern)
        return compiled is not None and any(compiled.search(c) for c in {code, raw})
    return False


def _detect_as(carrier) -> set[str]:
    """A carrier's detect_as entries, lower case, whatever shape the settings hold."""
    raw = (getattr(carrier, "settings", None) or {}).get("detect_as") or []
    if isinstance(raw, str):
        raw = [raw]
    return {str(entry).strip().lower() for entry in raw if str(entry).strip()}


def _label(carrier_id: int, carriers: Iterable) -> str:
    """A carrier's name for notes, or its id when the object has none."""
    for carrier in carriers:
        if carrier.id == carrier_id and getattr(carrier, "name", None):
            return str(carrier.name)
    return f"carrier #{carrier_id}"


def _by_rule(code: str, raw: str, rules: Sequence, carriers: Sequence,
             order_carrier_id: int | None) -> Detection | None:
    """Step 1: the first matching rule by position, or the order's carrier among several."""
    active = {c.id for c in carriers}
    # Sorted stably, so equal positions keep the caller's order (load_and_detect: by id).
    matching = [r for r in sorted(rules, key=lambda r: r.position or 0)
                if r.carrier_id in active and _rule_matches(r, code, raw)]
    if not matching:
        return None
    chosen = next((r for r in matching if r.carrier_id == order_carrier_id), matching[0])
    name = _label(chosen.carrier_id, carriers)
    values = {"kind": chosen.kind, "pattern": repr(chosen.pattern), "carrier": name}
    others = sorted({r.carrier_id for r in matching} - {chosen.carrier_id})
    if not others:
        note = _("matches the %(kind)s rule %(pattern)s of %(carrier)s", **values)
    elif chosen.carrier_id == order_carrier_id:
        note = _("matches the %(kind)s rule %(pattern)s of %(carrier)s (the order's carrier; "
                 "rules of %(others)s match too)",
                 others=", ".join(_label(i, carriers) for i in others), **values)
    else:
        note = _("matches the %(kind)s rule %(pattern)s of %(carrier)s (first; rules of "
                 "%(others)s match too)",
                 others=", ".join(_label(i, carriers) for i in others), **values)
    return Detection(chosen.carrier_id, "rule", 100, None, note)


def _courier_names(matches: Sequence[PatternMatch]) -> str:
    """The matched couriers' names, e.g. "FedEx or United States Postal Service"."""
    return _(" or ").join(dict.fromkeys(m.name for m in matches))


def detect_carrier(code: str, *, rules: list, carriers: list,
                   order_carrier_id: int | None = None,
                   channel_carrier_id: int | None = None) -> Detection:
    """Pick the carrier for a tracking code from plain objects; no database, no I/O.

    rules: objects with carrier_id, kind, pattern, position (a rule whose carrier is not
    among `carriers` — inactive or gone — is skipped, and so is a regex that does not
    compile). carriers: the active carriers, objects with id and settings (and a name,
    used in notes when present). For many codes at once (a CSV), load the rows once and
    call this directly instead of load_and_detect.
    """
    raw, code = (code or "").strip().upper(), normalise(code)
    carriers = sorted(carriers, key=lambda c: c.id)

    if code:
        found = _by_rule(code, raw, rules, carriers, order_carrier_id)
        if found:
            return found

    matches = pattern_matches(code)
    unclaimed: Detection | None = None
    if matches:
        # Each carrier that stands for one of the matches, with the first match it stands for.
        claims = {}
        for carrier in carriers:
            entries = _detect_as(carrier)
            claimed = next((m for m in matches if m.keys() & entries), None)
            if claimed:
                claims[carrier.id] = claimed
        if order_carrier_id in claims:
            return Detection(order_carrier_id, "pattern", 95, claims[order_carrier_id].name,
                             _("a valid %(courier)s number, and the order's carrier stands "
                               "for it", courier=claims[order_carrier_id].name))
        if len(claims) == 1:
            [(carrier_id, match)] = claims.items()
            return Detection(carrier_id, "pattern", 90, match.name,
                             _("a valid %(courier)s number", courier=match.name))
        if claims:
            first, *rest = claims
            names = ", ".join(_label(i, carriers) for i in rest)
            return Detection(first, "pattern", 60, claims[first].name,
                             _("a valid %(courier)s number; %(others)s could carry it too",
                               courier=_courier_names(list(claims.values())), others=names))
        unclaimed = Detection(None, "pattern", 0, matches[0].name,
                              _("looks like a %(courier)s number but no carrier is set up "
                                "for it", courier=_courier_names(matches)))

    # The order and channel fallbacks keep what the patterns saw, for the operator.
    courier = unclaimed.courier if unclaimed else None
    if order_carrier_id is not None:
        note = _("no rule or set-up pattern matches: the order's carrier")
        return Detection(order_carrier_id, "order", 50, courier, _hinted(note, unclaimed))
    if channel_carrier_id is not None:
        note = _("no rule or set-up pattern matches and the order has no carrier: the "
                 "channel's default carrier")
        return Detection(channel_carrier_id, "channel", 30, courier, _hinted(note, unclaimed))
    if unclaimed:
        return unclaimed
    return Detection(None, "none", 0, None,
                     _("no rule or known pattern matches, and neither the order nor its "
                       "channel has a carrier"))


def _hinted(note: str, unclaimed: Detection | None) -> str:
    """A fallback's note with what the patterns saw, if they saw anything."""
    return f"{note}; {unclaimed.note}" if unclaimed else note


def load_and_detect(code: str, order_carrier_id: int | None = None,
                    channel_carrier_id: int | None = None) -> Detection:
    """detect_carrier over every TrackingRule and the active carriers in the database."""
    rules = db.session.scalars(
        select(TrackingRule).order_by(TrackingRule.position, TrackingRule.id)).all()
    carriers = db.session.scalars(
        select(Carrier).where(Carrier.active.is_(True)).order_by(Carrier.id)).all()
    return detect_carrier(code, rules=list(rules), carriers=list(carriers),
                          order_carrier_id=order_carrier_id,
                          channel_carrier_id=channel_carrier_id)


__all__ = [
    "RULE_KINDS", "Detection", "detect_carrier", "known_couriers", "load_and_detect",
    "normalise", "pattern_matches", "validate_rule",
]
