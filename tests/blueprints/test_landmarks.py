"""Landmarks a screen reader lists: every navigation and side region named, and named apart;
one main region; no table column without a header."""

import pytest

from tests.blueprints.dom import Element, parse
from tests.browser.screens import PASSWORD, SCREENS, Screen, seeded  # noqa: F401 (fixture)

LANDMARK_ROLES = {"navigation", "complementary"}


def page_of(screen: Screen, seeded, login, client) -> Element:  # noqa: F811 (fixture)
    """The screen's page as its user gets it (200 expected)."""
    user = seeded.user_for(screen)
    who = client if user is None else login(user, password=PASSWORD)
    resp = who.get(screen.url(seeded))
    assert resp.status_code == 200, f"{screen.name}: {resp.status_code}"
    return parse(resp.get_data(as_text=True))


def accessible_name(element: Element, root: Element) -> str:
    """aria-label, else the text of the elements aria-labelledby points at."""
    if element.attrs.get("aria-label", "").strip():
        return element.attrs["aria-label"].strip()
    ids = element.attrs.get("aria-labelledby", "").split()
    by_id = {e.attrs.get("id"): e for e in root.iter() if e.attrs.get("id")}
    return " ".join(by_id[i].text() for i in ids if i in by_id).strip()


def kind(element: Element) -> str:
    """The landmark a screen reader announces: navigation or complementary."""
    role = element.attrs.get("role")
    return role if role in LANDMARK_ROLES else (
        "navigation" if element.tag == "nav" else "complementary")


def readable_header(th: Element) -> bool:
    """A header cell has text, or a label of its own or of the control it holds."""
    if th.text() or th.attrs.get("aria-label", "").strip():
        return True
    return any(e.attrs.get("aria-label", "").strip() or e.attrs.get("title", "").strip()
               or e.attrs.get("alt", "").strip() for e in th.iter() if e is not th)


def describe(element: Element) -> str:
    """The element as a short selector-like string, for failure messages."""
    classes = "".join(f".{c}" for c in element.classes())
    ident = f"#{element.attrs['id']}" if element.attrs.get("id") else ""
    if element.attrs.get("role"):
        ident += f"[role={element.attrs['role']}]"
    here = f"<{element.tag}{ident}{classes}>"
    if element.tag != "th":
        return here
    table = next((a for a in element.ancestors() if a.tag == "table"), None)
    column = [c for c in element.parent.children if isinstance(c, Element)].index(element) + 1
    return f"{describe(table) if table is not None else ''} {here} (column {column})"


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: s.name)
def test_landmarks_are_named_apart_and_main_is_one(screen, seeded, login, client):  # noqa: F811
    root = page_of(screen, seeded, login, client)
    mains = list(root.iter("main"))
    assert len(mains) == 1, f"{screen.name}: {len(mains)} <main> elements"

    regions = [e for e in root.iter()
               if e.tag in {"nav", "aside"} or e.attrs.get("role") in LANDMARK_ROLES]
    unnamed = [describe(e) for e in regions if not accessible_name(e, root)]
    assert not unnamed, f"{screen.name}: navigation/aside without a name: {unnamed}"
    names = [(kind(e), accessible_name(e, root).casefold()) for e in regions]
    repeated = sorted({n for n in names if names.count(n) > 1})
    assert not repeated, f"{screen.name}: landmarks sharing a name: {repeated}"


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: s.name)
def test_no_table_header_is_empty(screen, seeded, login, client):  # noqa: F811
    root = page_of(screen, seeded, login, client)
    empty = [describe(th) for th in root.iter("th") if not readable_header(th)]
    assert not empty, f"{screen.name}: table headers with nothing to read: {empty}"
