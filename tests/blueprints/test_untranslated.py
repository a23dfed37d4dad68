"""Every main screen, as its user reads it in Arabic and in French, shows no English the
app wrote: Arabic pages carry no run of Latin words, French pages no English msgid whose
French differs. Customer data (in <bdi>), code, keys and translate="no" are left out."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.blueprints.dom import Element, parse
from tests.browser.screens import (  # noqa: F401 (seeded is a fixture)
    PASSWORD,
    SCREENS,
    SEEDED_TOKENS,
    seeded,
)

TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
SKIPPED = frozenset({"script", "style", "bdi", "code", "kbd", "template"})
ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
BUTTON_INPUTS = frozenset({"submit", "button", "reset"})
# Words that are the same in every language: the brand, units, formats, and seeded codes.
ALLOWED = ("codboard", "MAD", "CSV", "SKU", "API", "COD", "URL", "ID", "HTTP", "HTTPS",
           "JSON", "PDF", "TV", "SMS", "E.164", "English", "Français", *SEEDED_TOKENS)
ALLOWED_RE = re.compile(r"(?<![\w.-])(?:" + "|".join(re.escape(t) for t in ALLOWED)
                        + r")(?![\w-])", re.IGNORECASE)
LATIN_RUN = re.compile(r"[A-Za-z]{2,}[ \u00a0]+[A-Za-z]{2,}")


def squash(value: str) -> str:
    """Whitespace collapsed, as the page lays it out."""
    return " ".join(value.split())


def skipped(element: Element) -> bool:
    """Data or code the app does not translate (customer text, keys, translate="no")."""
    return element.tag in SKIPPED or element.attrs.get("translate") == "no"


def readable(element: Element, out: list[str]) -> list[str]:
    """The text a reader meets inside the element: text nodes and the read attributes."""
    if skipped(element):
        return out
    for name in ATTRIBUTES:
        if element.attrs.get(name, "").strip():
            out.append(squash(element.attrs[name]))
    if element.tag == "input" and element.attrs.get("type") in BUTTON_INPUTS:
        out.append(squash(element.attrs.get("value", "")))
    for child in element.children:
        if isinstance(child, Element):
            readable(child, out)
        elif child.strip():
            out.append(squash(child))
    return out


def page_texts(screen, seeded, login, client, language: str) -> list[str]:  # noqa: F811
    """The screen's readable texts for its user speaking `language`."""
    seeded.speak(language)
    user = seeded.user_for(screen)
    who = client if user is None else login(user, password=PASSWORD)
    resp = who.get(screen.url(seeded), headers={"Accept-Language": language})
    assert resp.status_code == 200, f"{screen.name}: {resp.status_code}"
    texts = readable(parse(resp.get_data(as_text=True)), [])
    return [t for t in dict.fromkeys(texts) if t]


def english_in_arabic(text: str) -> bool:
    """Two Latin words in a row once the words every language shares are taken out."""
    return bool(LATIN_RUN.search(ALLOWED_RE.sub(" ", text)))


def french_differs() -> set[str]:
    """English msgids (without placeholders) whose French translation is different."""
    with (TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="fr")
    pot = TRANSLATIONS / "messages.pot"
    known = None
    if pot.exists():
        with pot.open("rb") as f:
            known = {m.id for m in read_po(f) if m.id}
    return {m.id for m in catalog
            if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string
            and m.string != m.id and "fuzzy" not in m.flags and "%(" not in m.id
            and (known is None or m.id in known)}


def offenders(screen, texts: list[str]) -> str:
    """One line per offending text, for the failure message (and untranslated.md)."""
    return "\n".join(f"  UNTRANSLATED | {screen.name} | {t}" for t in texts)


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: s.name)
def test_arabic_screen_has_no_english(screen, seeded, login, client):  # noqa: F811
    texts = page_texts(screen, seeded, login, client, "ar")
    english = [t for t in texts if english_in_arabic(t)]
    assert not english, f"{screen.name} (ar) shows English:\n{offenders(screen, english)}"


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: s.name)
def test_french_screen_has_no_english_msgid(screen, seeded, login, client):  # noqa: F811
    translated = french_differs()
    texts = page_texts(screen, seeded, login, client, "fr")
    english = [t for t in texts if t in translated]
    assert not english, f"{screen.name} (fr) shows English:\n{offenders(screen, english)}"


@pytest.mark.parametrize("text, english", [
    ("Log in to codboard", True),
    ("تسجيل الدخول إلى codboard", False),
    ("ARG-250 زيت الأركان", False),
    ("1 756,00 MAD", False),
    ("CSV", False),
    ("Export CSV file", True),
])
def test_the_arabic_detector_tells_english_from_shared_words(text, english):
    assert english_in_arabic(text) is english
