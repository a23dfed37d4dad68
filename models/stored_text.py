"""Texts the system stores in English (audit notes, push details), shown in the reader's
language.

Stored text stays English: tests, exports and scripts read it, and it must not depend on
who was logged in when it was written. Screens pass it through shown() (the `|shown`
filter). Each place that writes one of these texts says "shown translated:
models/stored_text.py", so a new wording gets registered here. Text typed by a person or
sent by a carrier, channel or supplier matches nothing and comes back as stored.
"""

import re
from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

# English as stored -> the same words in the reader's language.
EXACT = {
    # models/calls/queue.py
    "released": _l("released"),
    "assigned": _l("assigned"),
    # models/shipping/operations.py, blueprints/shipping/views.py
    "packing scan undone": _l("packing scan undone"),
    "bulk action on the shipping desk": _l("bulk action on the shipping desk"),
    # models/intake/channel_orders.py
    "Canceled by the channel": _l("Canceled by the channel"),
    "The channel canceled this order after it was confirmed: stop or recall the parcel, "
    "or tell the customer.": _l("The channel canceled this order after it was confirmed: "
                               "stop or recall the parcel, or tell the customer."),
    # models/intake/create.py, forwarding.py
    "prepaid: confirmed without a call": _l("prepaid: confirmed without a call"),
    "entered by hand": _l("entered by hand"),
    "CSV upload": _l("CSV upload"),
    "JSON API": _l("JSON API"),
    "Waiting for the channel to say it is paid.": _l("Waiting for the channel to say it is "
                                                     "paid."),
    "Forwarding is off for this channel: send it by hand.": _l(
        "Forwarding is off for this channel: send it by hand."),
    # models/intake/news.py
    "shipped without a tracking number": _l("shipped without a tracking number"),
    # models/orders/operations.py (corrections made on the phone)
    "address corrected": _l("address corrected"),
    "city corrected": _l("city corrected"),
    "phone corrected": _l("phone corrected"),
    # models/dropship
    "resolved": _l("resolved"),
    "refused": _l("refused"),
    "Process requested": _l("Process requested"),
    # The reasons an agent picks for Canceled and Fake (blueprints/calls/forms.py REASONS)
    "Changed their mind": _l("Changed their mind"),
    "Ordered by mistake": _l("Ordered by mistake"),
    "Price too high": _l("Price too high"),
    "Delivery too slow": _l("Delivery too slow"),
    "Already ordered elsewhere": _l("Already ordered elsewhere"),
    "Duplicate order": _l("Duplicate order"),
    "Never placed an order": _l("Never placed an order"),
    "Wrong number": _l("Wrong number"),
    "Prank": _l("Prank"),
    "Refuses to give an address": _l("Refuses to give an address"),
    "Known fake customer": _l("Known fake customer"),
}

Render = Callable[[dict], str]


def _unreachable(values: dict) -> str:
    """The automatic cancel after too many unanswered calls (plural by count)."""
    return ngettext("unreachable after %(num)d attempts", "unreachable after %(num)d attempts",
                    int(values["num"]))


def _text(msgid) -> Render:
    """A lazy msgid with %(name)s placeholders filled from the match's groups."""
    return lambda values: str(msgid) % values


def _reason_and_words(values: dict) -> str:
    """A picked reason and the agent's own words (blueprints/calls/parse.reason_note)."""
    return f"{values['reason']} — {values['words']}"


# Group names whose value may itself be a known phrase (a cancel reason, a nested note).
NESTED = frozenset({"reason", "said"})

# Tried in order; the first full match wins (more specific shapes first).
PATTERNS: list[tuple[re.Pattern, Render]] = [(re.compile(pattern, re.DOTALL), render) for
                                             pattern, render in [
    (r"unreachable after (?P<num>\d+) attempts", _unreachable),
    (r"(?P<said>.+?) Cancel it with (?P<supplier>.+?) by hand: (?P<reason>.+)",
     _text(_l("%(said)s Cancel it with %(supplier)s by hand: %(reason)s"))),
    (r"(?P<reason>[^—]+?) — (?P<words>.+)", _reason_and_words),
    (r"by (?P<name>.+)", _text(_l("by %(name)s"))),
    (r"scanned (?P<code>.+)", _text(_l("scanned %(code)s"))),
    (r"from (?P<channel>.+)", _text(_l("from %(channel)s"))),
    (r"line (?P<sku>\S+) removed", _text(_l("line %(sku)s removed"))),
    (r"quantity of (?P<sku>\S+)", _text(_l("quantity of %(sku)s"))),
    (r"order (?P<ref>\S+) canceled", _text(_l("order %(ref)s canceled"))),
    (r"Not every product is managed here \((?P<skus>.+)\)\.",
     _text(_l("Not every product is managed here (%(skus)s)."))),
    (r"told the channel: (?P<said>.+)", _text(_l("told the channel: %(said)s"))),
    (r"tracking (?P<tracking>\S+) \((?P<carrier>.+)\)",
     _text(_l("tracking %(tracking)s (%(carrier)s)"))),
    (r"tracking (?P<tracking>\S+)", _text(_l("tracking %(tracking)s"))),
    (r"submitted to (?P<supplier>.+)", _text(_l("submitted to %(supplier)s"))),
    (r"accepted by (?P<supplier>.+) as (?P<ref>\S+)",
     _text(_l("accepted by %(supplier)s as %(ref)s"))),
    (r"accepted by (?P<supplier>.+)", _text(_l("accepted by %(supplier)s"))),
    (r"shipped by (?P<supplier>.+), tracking (?P<tracking>\S+)",
     _text(_l("shipped by %(supplier)s, tracking %(tracking)s"))),
    (r"shipped by (?P<supplier>.+)", _text(_l("shipped by %(supplier)s"))),
    (r"canceled with (?P<supplier>.+?): (?P<reason>.+)",
     _text(_l("canceled with %(supplier)s: %(reason)s"))),
    (r"canceled by (?P<supplier>.+)", _text(_l("canceled by %(supplier)s"))),
    (r"cancel asked of (?P<supplier>.+?): (?P<reason>.+)",
     _text(_l("cancel asked of %(supplier)s: %(reason)s"))),
    (r"tracking added: (?P<tracking>\S+) \(carrier not recognised\)",
     _text(_l("tracking added: %(tracking)s (carrier not recognised)"))),
    (r"tracking added: (?P<tracking>\S+) \((?P<carrier>.+)\)",
     _text(_l("tracking added: %(tracking)s (%(carrier)s)"))),
]]


def shown(text: str | None) -> str:
    """A stored system text in the reader's language; any other text as stored."""
    if not text:
        return ""
    if text in EXACT:
        return str(EXACT[text])
    for pattern, render in PATTERNS:
        if match := pattern.fullmatch(text):
            values = {name: shown(value) if name in NESTED else value
                      for name, value in match.groupdict().items()}
            return render(values)
    return text
