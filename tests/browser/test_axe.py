"""axe-core on every main screen, in English and in Arabic: no serious or critical finding."""

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.screens import LANGUAGES, SCREENS, open_screen, seeded  # noqa: F401

AXE = next((Path(__file__).parent / "vendor").glob("axe-core-*.min.js"))
BLOCKING = {"serious", "critical"}


def axe_violations(page: Page) -> list[dict]:
    """Run axe on the page as it stands; its violations (rule, impact, nodes, help)."""
    # Evaluated by the browser's debugger, not a <script> tag the page's CSP would block.
    page.evaluate(AXE.read_text())
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return result["violations"]


def report(violations: list[dict]) -> str:
    """One line per offending element: rule, impact, selector, what to fix."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(f"  {v['id']} ({v['impact']}) at {target}: {v['help']} — {v['helpUrl']}")
    return "\n".join(lines)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: s.name)
def test_no_serious_accessibility_violation(page: Page, live_server, seeded,  # noqa: F811
                                             screen, language):
    open_screen(page, live_server, seeded, screen, language)
    blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
    assert not blocking, (f"{screen.name} ({language}) {page.url}:\n{report(blocking)}")


def test_the_harness_catches_a_serious_violation(page: Page, live_server, seeded):  # noqa: F811
    open_screen(page, live_server, seeded, SCREENS[0], "en")
    page.evaluate("""() => document.querySelector('main').insertAdjacentHTML(
        'beforeend', '<button type=button></button><img src=/static/none.png>')""")
    found = {(v["id"], v["impact"]) for v in axe_violations(page)}
    assert {("button-name", "critical"), ("image-alt", "critical")} <= found, found
