"""Carrier detection from a tracking code: rules, checksum-checked patterns, fallbacks."""

from types import SimpleNamespace

import pytest

from extensions import db
from models.shipping import TrackingRule
from models.shipping.detection import (
    Detection,
    _definitions,
    detect_carrier,
    known_couriers,
    load_and_detect,
    pattern_matches,
    validate_rule,
)

# The data set's own test numbers, per definition: (courier code, definition, valid,
# invalid). The tracking-numbers 0.1.8 wheel ships only the generated regexes, so these are
# copied from the data it was generated from: jcomo/tracking_number_data at e02ceb5
# (the submodule commit of tracking-numbers 0.1.8; MIT, Jeff Keen), couriers/*.json.
DATASET = [
    ("dhl", "DHL Express", [
        "3318810025", "8487135506", "3318810036", " 3 3 1 8 8 1 0 0 3 6 ", "3318810014",
    ], [
        "3318810010", "3318810034", "3318810011",
    ]),
    ("dhl", "DHL Express Air", [
        "73891051146", " 7 3 8 9 1 0 5 1 1 4 6 ",
    ], [
        "73891051149", "73891051147",
    ]),
    ("fedex", "FedEx Express (12)", [
        "986578788855", "477179081230", "799531274483", "790535312317", " 7 9 0 5 3 5 3 1 2 3 1 7 ",
        "974367662710",
    ], [
        "996578788855",
    ]),
    ("fedex", "FedEx Express (34)", [
        "1001921334250001000300779017972697", "1001921380360001000300639585804382",
        "1001901781990001000300617767839437",
        " 1 0 0 1 9 0 1 7 8 1 9 9 0 0 0 1 0 0 0 3 0 0 6 1 7 7 6 7 8 3 9 4 3 7 ",
        "1002297871540001000300790695517286",
    ], [
        "1001901781990001000300617767839438",
    ]),
    ("fedex", "FedEx SmartPost", [
        "61299998820821171811", " 6 1 2 9 9 9 9 8 8 2 0 8 2 1 1 7 1 8 1 1 ",
        "9261292700768711948021",
    ], [
        "9261292700768711948020",
    ]),
    ("fedex", "FedEx Ground", [
        "0414 4176 0228 964", "5682 8361 0012 000", " 5 6 8 2   8 3 6 1   0 0 1 2   0 0 0 ",
        "5682 8361 0012 734",
    ], [
        "5682 8361 0012 732",
    ]),
    ("fedex", "FedEx Ground (SSCC-18)", [
        "00 0123 4500 0000 0027", " 0 0   0 1 2 3   4 5 0 0   0 0 0 0   0 0 2 7 ",
    ], [
        "000000000000000001",
    ]),
    ("fedex", "FedEx Ground 96 (22)", [
        "9611020987654312345672", " 9 6 1 1 0 2 0 9 8 7 6 5 4 3 1 2 3 4 5 6 7 2 ",
    ], [
        "9600000000000000000001",
    ]),
    ("fedex", "FedEx Ground GSN", [
        "9622001900000000000000776632517510", "9622001560000000000000794808390594",
        "9622001560001234567100794808390594",
        " 9 6 2 2 0 0 1 5 6 0 0 0 1 2 3 4 5 6 7 1 0 0 7 9 4 8 0 8 3 9 0 5 9 4 ",
        "9632001560123456789900794808390594",
    ], [
        "9622001560001234567100794808390595", "9622001560001234567100794808390597",
    ]),
    ("ontrac", "OnTrac", [
        "C11031500001879", " C 1 1 0 3 1 5 0 0 0 0 1 8 7 9 ", "C10999911320231",
    ], [
        "C10000000000000", "C11031500001889",
    ]),
    ("s10", "S10", [
        "RB123456785GB", "RB123456785US", "RB123456785CV", "RB123456785CF",
        " R B 1 2 3 4 5 6 7 8 5 C F ",
    ], [
        "RB123456786US", "RB123456785XX",
    ]),
    ("ups", "UPS", [
        "1Z5R89390357567127", "1Z879E930346834440", "1Z410E7W0392751591", "1Z8V92A70367203024",
        " 1 Z 8 V 9 2 A 7 0 3 6 7 2 0 3 0 2 4 ", "1ZXX3150YW44070023", "1ZXX42516811434672",
    ], [
        "2Z5R89390357567127", "1A5R89390357567127", "1Z1111111111111111",
    ]),
    ("usps", "USPS 20", [
        "0307 1790 0005 2348 3741", " 0 3 0 7   1 7 9 0   0 0 0 5   2 3 4 8   3 7 4 1 ",
        "7112 3456 7891 2345 6787",
    ], [
        "0307 1790 0005 2348 3742",
    ]),
    ("usps", "USPS 34v2", [
        "4201002334249200190132607600833457", "4201028200009261290113185417468510",
        " 4 2 0 1 0 2 8 2 0 0 0 0 9 2 6 1 2 9 0 1 1 3 1 8 5 4 1 7 4 6 8 5 1 0 ",
    ], [
        "4201028200009261290113185417468511",
    ]),
    ("usps", "USPS 91", [
        "420 22153 9101026837331000039521", "7196 9010 7560 0307 7385",
        "9505 5110 6960 5048 6006 24", "9101 1234 5678 9000 0000 13", "92748931507708513018050063",
        "9400 1112 0108 0805 4830 16", "9361 2898 7870 0317 6337 95",
        " 9 3 6 1   2 8 9 8   7 8 7 0   0 3 1 7   6 3 3 7   9 5 ", "9405803699300124287899",
    ], [
        "61299998820821171811", "9200000000000000000000", "420000000000000000000000000000",
        "420000009200000000000000000000",
    ]),
]

# Definitions of the data set without a check digit: deliberately not used for detection.
NO_CHECKSUM = [
    ("amazon", "TBA502887274000"), ("amazon", "TBA000000000000"),
    ("ups", "802586828491118581"), ("ups", "800000000000000000"),
]

VALID = [(courier, number) for courier, _, valid, _ in DATASET for number in valid]
INVALID = [(courier, number) for courier, _, _, invalid in DATASET for number in invalid]
NAMES = {
    "dhl": "DHL", "fedex": "FedEx", "ontrac": "OnTrac", "s10": "S10 International Standard",
    "ups": "UPS", "usps": "United States Postal Service",
}
UPS_NUMBER = "1Z5R89390357567127"
# Valid for both USPS 91 and FedEx SmartPost (SmartPost parcels are handed to USPS).
SHARED_NUMBER = "9261292700768711948021"


def carrier(id: int, detect_as=None, name: str | None = None) -> SimpleNamespace:
    """A plain carrier object as detect_carrier takes it."""
    settings = {} if detect_as is None else {"detect_as": detect_as}
    return SimpleNamespace(id=id, name=name or f"Carrier {id}", settings=settings)


def rule(carrier_id: int, kind: str, pattern: str, position: int = 0) -> SimpleNamespace:
    """A plain tracking rule object as detect_carrier takes it."""
    return SimpleNamespace(carrier_id=carrier_id, kind=kind, pattern=pattern, position=position)


def ids(case) -> str:
    """A readable parametrize id: courier/number."""
    return f"{case[0]}/{case[1].replace(' ', '')}"


def test_dataset_covers_every_checksum_definition():
    """Every definition detection uses has the data set's numbers in this file."""
    assert {name for _, name, _, _ in DATASET} == {d.product.name for d in _definitions()}


def test_known_couriers_lists_checksum_couriers():
    """detect_as takes these courier codes; checksum-less couriers are not offered."""
    assert known_couriers() == NAMES


def test_definitions_loaded_once():
    """The package is imported and its regexes compiled once per process."""
    assert _definitions() is _definitions()


@pytest.mark.parametrize(("courier", "number"), VALID, ids=[ids(c) for c in VALID])
def test_detect_carrier_dataset_valid_number_finds_courier(courier, number):
    """Each valid test number of the data set picks the carrier standing for its courier."""
    found = detect_carrier(number, rules=[], carriers=[carrier(1, [courier])])
    assert (found.carrier_id, found.method, found.confidence) == (1, "pattern", 90)
    assert found.courier == NAMES[courier]


@pytest.mark.parametrize(("courier", "number"), INVALID, ids=[ids(c) for c in INVALID])
def test_detect_carrier_dataset_invalid_number_not_that_courier(courier, number):
    """An invalid test number (bad check digit or table value) never matches its courier."""
    found = detect_carrier(number, rules=[], carriers=[carrier(1, [courier])])
    assert found.carrier_id is None
    assert found.courier != NAMES[courier]
    assert courier not in {m.code for m in pattern_matches(number)}


@pytest.mark.parametrize(("courier", "number"), NO_CHECKSUM,
                         ids=[ids(c) for c in NO_CHECKSUM])
def test_detect_carrier_no_checksum_definition_not_used(courier, number):
    """Formats without a check digit (Amazon TBA, UPS Mail Innovations) are not guessed."""
    found = detect_carrier(number, rules=[], carriers=[carrier(1, [courier])])
    assert found == Detection(None, "none", 0, None, found.note)


def test_detect_carrier_normalises_code():
    """Case, spaces and dashes do not matter."""
    found = detect_carrier(" 1z5r-8939 0357\t567127 ", rules=[], carriers=[carrier(1, ["ups"])])
    assert (found.carrier_id, found.method, found.courier) == (1, "pattern", "UPS")


def test_detect_carrier_detect_as_string_any_case():
    """detect_as may be one string, in any case."""
    found = detect_carrier(UPS_NUMBER, rules=[], carriers=[carrier(1, " UPS ")])
    assert (found.carrier_id, found.method) == (1, "pattern")


def test_detect_carrier_s10_country_qualifier():
    """"s10:ma" stands only for Moroccan S10 codes; plain "s10" for every post's."""
    carriers = [carrier(1, ["s10:CN"]), carrier(2, ["s10:ma"], name="Poste Maroc")]
    found = detect_carrier("RR123456785MA", rules=[], carriers=carriers)
    assert found == Detection(2, "pattern", 90, "S10 International Standard",
                              "a valid S10 International Standard number")
    assert detect_carrier("rr 123-456-785 cn", rules=[], carriers=carriers).carrier_id == 1
    assert detect_carrier("RR123456785FR", rules=[], carriers=carriers).carrier_id is None
    plain = detect_carrier("RR123456785FR", rules=[], carriers=[carrier(3, ["s10"])])
    assert plain.carrier_id == 3


def test_detect_carrier_s10_bad_check_digit_not_matched():
    """A Poste Maroc code with a wrong check digit is not taken for S10."""
    found = detect_carrier("RR123456784MA", rules=[], carriers=[carrier(1, ["s10"])])
    assert found.method == "none"


def test_detect_carrier_prefix_rule_beats_pattern():
    """A prefix rule wins over a valid UPS pattern of another carrier."""
    found = detect_carrier(UPS_NUMBER, rules=[rule(2, "prefix", "1z")],
                           carriers=[carrier(1, ["ups"]), carrier(2)])
    assert (found.carrier_id, found.method, found.confidence, found.courier) == (
        2, "rule", 100, None)
    assert "prefix rule '1z'" in found.note


def test_detect_carrier_suffix_rule_beats_pattern():
    """A suffix rule wins over a valid S10 pattern of another carrier."""
    found = detect_carrier("RR123456785MA", rules=[rule(2, "suffix", "ma")],
                           carriers=[carrier(1, ["s10"]), carrier(2)])
    assert (found.carrier_id, found.method, found.confidence) == (2, "rule", 100)


def test_detect_carrier_regex_rule_beats_pattern():
    """A regex rule (case-insensitive) wins over a valid UPS pattern of another carrier."""
    found = detect_carrier(UPS_NUMBER, rules=[rule(2, "regex", r"^1z5r\d+$")],
                           carriers=[carrier(1, ["ups"]), carrier(2)])
    assert (found.carrier_id, found.method, found.confidence) == (2, "rule", 100)


def test_detect_carrier_rules_see_carrier_dashes():
    """Rules written with the carrier's dashes match codes typed with or without them."""
    carriers = [carrier(2), carrier(3)]
    rules = [rule(2, "regex", r"^AMA-\d{6}$"), rule(3, "prefix", "LOC-")]
    assert detect_carrier("ama-123456", rules=rules, carriers=carriers).carrier_id == 2
    assert detect_carrier("LOC 991", rules=rules, carriers=carriers).carrier_id == 3


def test_detect_carrier_rules_first_by_position():
    """Among matching rules the lowest position wins, whatever the list order."""
    rules = [rule(2, "prefix", "1Z", position=5), rule(3, "prefix", "1Z5", position=1)]
    found = detect_carrier(UPS_NUMBER, rules=rules, carriers=[carrier(2), carrier(3)])
    assert (found.carrier_id, found.method) == (3, "rule")
    assert "Carrier 2" in found.note


def test_detect_carrier_rule_agreeing_with_order_wins():
    """When rules of several carriers match, the order's carrier is preferred."""
    rules = [rule(2, "prefix", "1Z", position=5), rule(3, "prefix", "1Z5", position=1)]
    found = detect_carrier(UPS_NUMBER, rules=rules, carriers=[carrier(2), carrier(3)],
                           order_carrier_id=2)
    assert (found.carrier_id, found.method, found.confidence) == (2, "rule", 100)
    assert "the order's carrier" in found.note


def test_detect_carrier_bad_regex_rule_skipped():
    """A rule whose regex does not compile is skipped, not raised."""
    carriers = [carrier(1, ["ups"]), carrier(2), carrier(3)]
    rules = [rule(2, "regex", "([", position=0), rule(3, "prefix", "1Z", position=1)]
    assert detect_carrier(UPS_NUMBER, rules=rules, carriers=carriers).carrier_id == 3
    only_bad = detect_carrier(UPS_NUMBER, rules=rules[:1], carriers=carriers)
    assert (only_bad.carrier_id, only_bad.method) == (1, "pattern")


def test_detect_carrier_rule_of_inactive_carrier_skipped():
    """A rule pointing at a carrier not passed in (inactive) is ignored."""
    found = detect_carrier(UPS_NUMBER, rules=[rule(9, "prefix", "1Z")],
                           carriers=[carrier(1, ["ups"])])
    assert (found.carrier_id, found.method) == (1, "pattern")


def test_detect_carrier_pattern_agreeing_with_order_wins():
    """A number valid for two couriers goes to the order's carrier if it stands for one."""
    carriers = [carrier(1, ["fedex"]), carrier(2, ["usps"])]
    found = detect_carrier(SHARED_NUMBER, rules=[], carriers=carriers, order_carrier_id=2)
    assert (found.carrier_id, found.method, found.confidence) == (2, "pattern", 95)
    assert found.courier == "United States Postal Service"


def test_detect_carrier_several_pattern_carriers_first_by_id():
    """Without the order's agreement, several candidates give the lowest id at 60."""
    carriers = [carrier(2, ["usps"], name="USPS desk"), carrier(1, ["fedex"], name="FedEx")]
    found = detect_carrier(SHARED_NUMBER, rules=[], carriers=carriers, order_carrier_id=7)
    assert (found.carrier_id, found.method, found.confidence) == (1, "pattern", 60)
    assert found.courier == "FedEx"
    assert "USPS desk" in found.note
    same = detect_carrier(UPS_NUMBER, rules=[],
                          carriers=[carrier(5, ["ups"]), carrier(4, ["UPS"])])
    assert (same.carrier_id, same.confidence) == (4, 60)


def test_detect_carrier_one_pattern_carrier_beats_order():
    """A single carrier standing for a valid pattern wins over the order's other carrier."""
    found = detect_carrier(UPS_NUMBER, rules=[], carriers=[carrier(1, ["ups"]), carrier(7)],
                           order_carrier_id=7, channel_carrier_id=8)
    assert (found.carrier_id, found.method, found.confidence) == (1, "pattern", 90)


def test_detect_carrier_unclaimed_pattern_named_without_carrier():
    """A valid number of a courier nobody stands for says so, with no carrier."""
    found = detect_carrier(UPS_NUMBER, rules=[], carriers=[carrier(1, ["dhl"]), carrier(2)])
    assert found == Detection(None, "pattern", 0, "UPS",
                              "looks like a UPS number but no carrier is set up for it")


def test_detect_carrier_unclaimed_pattern_falls_through_to_order():
    """After an unclaimed pattern the order's carrier is used, keeping the courier seen."""
    found = detect_carrier(UPS_NUMBER, rules=[], carriers=[carrier(1, ["dhl"])],
                           order_carrier_id=5)
    assert (found.carrier_id, found.method, found.confidence, found.courier) == (
        5, "order", 50, "UPS")
    assert "looks like a UPS number" in found.note


def test_detect_carrier_unknown_code_takes_order_carrier():
    """A code nothing recognises goes to the order's carrier at 50."""
    found = detect_carrier("LOCAL000123", rules=[rule(3, "prefix", "XYZ")],
                           carriers=[carrier(1, ["ups"]), carrier(3)],
                           order_carrier_id=4, channel_carrier_id=8)
    assert (found.carrier_id, found.method, found.confidence, found.courier) == (
        4, "order", 50, None)


def test_detect_carrier_channel_default_fallback():
    """Without the order's carrier the channel's default carrier is used at 30."""
    found = detect_carrier("LOCAL000123", rules=[], carriers=[carrier(1, ["ups"])],
                           channel_carrier_id=8)
    assert (found.carrier_id, found.method, found.confidence, found.courier) == (
        8, "channel", 30, None)


def test_detect_carrier_nothing_gives_none():
    """No rule, no pattern, no order or channel carrier: method "none"."""
    found = detect_carrier("LOCAL000123", rules=[], carriers=[carrier(1, ["ups"])])
    assert (found.carrier_id, found.method, found.confidence, found.courier) == (
        None, "none", 0, None)
    assert found.note


def test_detect_carrier_empty_code_skips_rules():
    """An empty code matches no rule, not even a stored catch-all regex."""
    rules = [rule(2, "regex", ".*")]
    assert detect_carrier(" - ", rules=rules, carriers=[carrier(2)]).method == "none"
    assert detect_carrier("", rules=rules, carriers=[carrier(2)],
                          order_carrier_id=3).method == "order"


def test_pattern_matches_each_courier_once():
    """A number valid for two couriers lists both; S10 carries its country."""
    assert {m.code for m in pattern_matches(SHARED_NUMBER)} == {"fedex", "usps"}
    [s10] = pattern_matches("RR123456785MA")
    assert (s10.code, s10.country) == ("s10", "ma")


@pytest.mark.parametrize(("kind", "pattern", "message"), [
    ("prefix", "RR", None),
    ("suffix", "MA", None),
    ("regex", r"^AMA\d{6}$", None),
    ("contains", "RR", "Unknown rule kind 'contains'"),
    ("prefix", "  ", "The pattern is empty."),
    ("suffix", " - ", "only spaces and dashes"),
    ("regex", "x" * 121, "too long (121 characters, at most 120)"),
    ("regex", "([", "not valid at position 1: unterminated character set"),
    ("regex", "a)", "not valid at position 1: unbalanced parenthesis"),
    ("regex", ".*", "matches an empty code"),
    ("regex", "RR|", "matches an empty code"),
])
def test_validate_rule_messages(kind, pattern, message):
    """validate_rule says what is wrong in words, or None for a usable rule."""
    error = validate_rule(kind, pattern)
    if message is None:
        assert error is None
    else:
        assert message in error


def test_load_and_detect_rules_and_active_carriers(app, make_carrier):
    """Rows from the database: rules first, inactive carriers and their rules ignored."""
    ups = make_carrier(name="UPS", code="ups", settings={"detect_as": ["ups"]})
    local = make_carrier(name="Local", code="local", settings={})
    old = make_carrier(name="Old UPS", code="old-ups", active=False,
                       settings={"detect_as": ["ups"]})
    db.session.add_all([
        TrackingRule(carrier_id=old.id, kind="prefix", pattern="1Z", position=0),
        TrackingRule(carrier_id=local.id, kind="prefix", pattern="LOC", position=1),
        TrackingRule(carrier_id=local.id, kind="regex", pattern="([", position=2),
    ])
    db.session.commit()

    found = load_and_detect(UPS_NUMBER)
    assert (found.carrier_id, found.method, found.confidence) == (ups.id, "pattern", 90)
    assert load_and_detect("loc-4411").carrier_id == local.id
    assert load_and_detect("UNKNOWN1", channel_carrier_id=local.id).method == "channel"


def test_load_and_detect_s10_order_carrier(app, make_carrier):
    """Two posts standing for S10: the order's carrier wins at 95."""
    make_carrier(name="La Poste", code="laposte", settings={"detect_as": ["s10"]})
    amana = make_carrier(name="Amana", code="amana", settings={"detect_as": ["S10:MA"]})
    found = load_and_detect("RR 123 456 785 MA", order_carrier_id=amana.id)
    assert (found.carrier_id, found.method, found.confidence) == (amana.id, "pattern", 95)
