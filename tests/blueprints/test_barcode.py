"""Code 128 packing-slip barcodes: well-formed inline SVG that decodes back to its text."""

import xml.etree.ElementTree as ET

import pytest
from barcode.charsets.code128 import CODES, STOP
from markupsafe import Markup, escape

from blueprints.shipping.barcode import MODULE_MM, QUIET_ZONE_MM, code128_svg

SVG = "{http://www.w3.org/2000/svg}"


def _mm(value: str) -> float:
    """A length attribute like "2.540mm" as a float of millimetres."""
    assert value.endswith("mm"), value
    return float(value[:-2])


def _bars(svg: str) -> list[ET.Element]:
    """The bar rectangles (the background rectangle has no x)."""
    return [r for r in ET.fromstring(svg).iter(f"{SVG}rect") if "x" in r.attrib]


def _modules(svg: str) -> str:
    """The barcode as a string of 1 (bar) and 0 (space) modules, read off the rectangles."""
    root = ET.fromstring(svg)
    total = round((_mm(root.attrib["width"]) - 2 * QUIET_ZONE_MM) / MODULE_MM)
    modules = ["0"] * total
    for rect in _bars(svg):
        start = round((_mm(rect.attrib["x"]) - QUIET_ZONE_MM) / MODULE_MM)
        for i in range(start, start + round(_mm(rect.attrib["width"]) / MODULE_MM)):
            modules[i] = "1"
    return "".join(modules)


def _decode(svg: str) -> str:
    """Decode a Code 128 SVG back to text (sets A, B, C), checking the check symbol."""
    modules = _modules(svg)
    # Every symbol is 11 modules; the stop symbol is followed by a 2-module final bar.
    assert modules.endswith(STOP + "11")
    body = modules[: -len(STOP) - 2]
    assert len(body) % 11 == 0
    values = [CODES.index(body[i:i + 11]) for i in range(0, len(body), 11)]
    *data, check = values
    assert (data[0] + sum(i * v for i, v in enumerate(data[1:], start=1))) % 103 == check
    charset = {103: "A", 104: "B", 105: "C"}[data[0]]
    text = ""
    for value in data[1:]:
        if charset == "C" and value < 100:
            text += f"{value:02d}"
        elif value == 99:
            charset = "C"
        elif value == 100 and charset != "B":
            charset = "B"
        elif value == 101 and charset != "A":
            charset = "A"
        elif charset == "B":
            text += chr(value + 32)
        else:
            text += chr(value + 32) if value < 64 else chr(value - 64)
    return text


@pytest.mark.parametrize("text", [
    "RR123456785MA", "1Z5R89390357567127", "CMD-2024-000123", "1234567", "7",
    "order #42 / lot 7", 'a<b&c"d>e', "~`{|}\\",
])
def test_code128_svg_decodes_back_to_text(text):
    """The bars read back, symbol by symbol, as the text with a valid check symbol."""
    assert _decode(code128_svg(text)) == text


def test_code128_svg_well_formed_inline_svg():
    """One <svg> element of rectangles: no declaration, doctype, text, font or link."""
    svg = code128_svg("CMD-1001")
    assert isinstance(svg, Markup)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert {el.tag for el in root.iter()} == {f"{SVG}svg", f"{SVG}g", f"{SVG}rect"}
    for absent in ("<?xml", "<!DOCTYPE", "<!--", "href", "font", "<text", ' id="'):
        assert absent not in svg
    assert len(_bars(svg)) > 10


def test_code128_svg_bar_count_differs_by_text():
    """Different texts give different bars, so the drawing depends on the input."""
    counts = {len(_bars(code128_svg(t))) for t in ("1", "ABCDEFGH", "RR123456785MA")}
    assert len(counts) == 3
    assert _modules(code128_svg("CMD-1001")) != _modules(code128_svg("CMD-1002"))


def test_code128_svg_height_mm_sets_bars_and_svg():
    """height_mm is the bars' height and the SVG's, in millimetres."""
    svg = code128_svg("CMD-1001", height_mm=22.5)
    assert ET.fromstring(svg).attrib["height"] == "22.500mm"
    assert {rect.attrib["height"] for rect in _bars(svg)} == {"22.500mm"}


def test_code128_svg_markup_characters_stay_in_attribute():
    """<, & and " in the text are escaped inside aria-label and cannot open new markup."""
    text = '"><script>alert(1)</script>&amp;<'
    svg = code128_svg(text)
    root = ET.fromstring(svg)
    assert root.attrib["aria-label"] == f"Barcode {text}"
    assert "<script" not in svg
    assert not any(el.tag.endswith("script") for el in root.iter())
    assert escape(svg) == svg  # Markup: Jinja inserts it as is, not escaped twice
    assert _decode(svg) == text


def test_code128_svg_repeat_served_from_cache():
    """A reprint of the same number reuses the rendered SVG."""
    first = code128_svg("CMD-CACHE-1")
    hits = code128_svg.cache_info().hits
    assert code128_svg("CMD-CACHE-1") is first
    assert code128_svg.cache_info().hits == hits + 1


@pytest.mark.parametrize("text", ["Commande é", "Piñata", "رقم", "tab\there"])
def test_code128_svg_non_ascii_raises_value_error(text):
    """Characters Code 128 cannot print as typed are refused, naming them."""
    with pytest.raises(ValueError, match="only encode printable ASCII") as caught:
        code128_svg(text)
    assert repr(next(ch for ch in text if not " " <= ch <= "~")) in str(caught.value)


@pytest.mark.parametrize(("text", "height", "message"), [
    ("", 15, "needs some text"),
    ("9" * 65, 15, "too long"),
    ("CMD-1", 0, "positive number of mm"),
    ("CMD-1", -3, "positive number of mm"),
    ("CMD-1", float("nan"), "positive number of mm"),
])
def test_code128_svg_bad_input_raises_value_error(text, height, message):
    """Empty or over-long text and a height that is not a positive size are refused."""
    with pytest.raises(ValueError, match=message):
        code128_svg(text, height_mm=height)
