"""Code 128 barcodes as inline SVG for packing slips, drawn on the server by python-barcode.

The SVG is plain rectangles sized in millimetres: no XML declaration, no external file,
no font (the slip prints the number itself under the bars), so it can sit inside the
slip's HTML and print at its true size.
"""

import math
import xml.dom.minidom
from functools import lru_cache

from barcode import Code128
from barcode.writer import SVGWriter
from markupsafe import Markup

# 0.25 mm bars are two dots on a 203 dpi label printer and print cleanly on any laser.
MODULE_MM = 0.25
# Code 128 wants a quiet zone of at least ten bars' width each side (10 × 0.25 = 2.5 mm).
QUIET_ZONE_MM = 2.54
# Tracking numbers are at most 64 characters (parcels.tracking_number); longer would not
# fit across a slip anyway.
MAX_LENGTH = 64


def _check(text: str, height_mm: float) -> None:
    """Refuse what would not make a scannable barcode, with a message saying why."""
    if not isinstance(text, str) or not text:
        raise ValueError("A barcode needs some text to encode.")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"{len(text)} characters is too long for a barcode on a slip "
                         f"(at most {MAX_LENGTH}).")
    # python-barcode takes "ñ", "ó", "ò", "ô" as Code 128 function codes (FNC1-4) and
    # would print something else than the text; only printable ASCII reads back as typed.
    wrong = sorted({ch for ch in text if not " " <= ch <= "~"})
    if wrong:
        shown = ", ".join(repr(ch) for ch in wrong)
        raise ValueError(f"Code 128 can only encode printable ASCII; {shown} cannot be "
                         "encoded.")
    if not (isinstance(height_mm, int | float) and math.isfinite(height_mm) and height_mm > 0):
        raise ValueError(f"The barcode height must be a positive number of mm, not "
                         f"{height_mm!r}.")


@lru_cache(maxsize=512)
def code128_svg(text: str, *, height_mm: float = 15, label: str = "") -> Markup:
    """An inline <svg> Code 128 barcode of `text`, bars `height_mm` tall (cached: reprints).

    `label` is what a screen reader says (the caller's language); "Barcode <text>" by default.
    """
    _check(text, height_mm)
    writer = SVGWriter()
    output = Code128(text, writer=writer).render({
        "module_width": MODULE_MM,
        "module_height": float(height_mm),
        "quiet_zone": QUIET_ZONE_MM,
        # No vertical margin: the SVG is exactly as tall as the bars, for the slip's layout.
        "margin_top": 0,
        "margin_bottom": 0,
        "write_text": False,
        "with_doctype": False,
        "compress": True,  # one line of XML, not pretty-printed
    })
    # Re-read the writer's document to drop what does not belong inside HTML: the XML
    # declaration, the generator comment, and a fixed id that would repeat on every slip
    # of a printed batch.
    document = xml.dom.minidom.parseString(output)
    root = document.documentElement
    for node in list(root.childNodes):
        if node.nodeType == node.COMMENT_NODE:
            root.removeChild(node)
    for group in root.getElementsByTagName("g"):
        if group.hasAttribute("id"):
            group.removeAttribute("id")
    # Colours as SVG attributes, not style="fill:…": the Content-Security-Policy blocks
    # inline styles, and a blocked style would print the white background black.
    for rect in root.getElementsByTagName("rect"):
        rect.setAttribute("fill", rect.getAttribute("style").removeprefix("fill:").strip(" ;"))
        rect.removeAttribute("style")
    root.setAttribute("role", "img")
    # minidom escapes attribute values, so any text stays inside the attribute.
    root.setAttribute("aria-label", label or f"Barcode {text}")
    svg = root.toxml()
    document.unlink()
    return Markup(svg)


__all__ = ["code128_svg"]
