"""Keyboard focus: every control Tab reaches shows a ring that stands out, and the first Tab
offers the skip link, which takes focus to the main region."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.screens import BY_NAME, open_screen, seeded  # noqa: F401 (fixture)

TABS = 25
MIN_CONTRAST = 3.0

# The focused element's ring and the first opaque background behind it. The ring is drawn
# outside the control (outline-offset), so "behind" starts at the control's parent.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  let node = el.parentElement, background = 'rgb(255, 255, 255)';
  while (node) {
    const bg = getComputedStyle(node).backgroundColor;
    if (!/^rgba\\(.*,\\s*0\\)$/.test(bg) && bg !== 'transparent') { background = bg; break; }
    node = node.parentElement;
  }
  const id = (el.id ? '#' + el.id : '') + (el.type ? `[type=${el.type}]` : '')
    + (el.name ? `[name=${el.name}]` : '');
  const label = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim();
  return {
    name: `<${el.tagName.toLowerCase()}${id}> ${label.slice(0, 40)}`,
    style: style.outlineStyle, width: parseFloat(style.outlineWidth),
    colour: style.outlineColor, background,
  };
}"""


def rgb(colour: str) -> tuple[float, float, float]:
    """An 'rgb(r, g, b)' / 'rgba(r, g, b, a)' computed colour as three 0-255 channels."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", colour)[:3]]
    assert len(numbers) == 3, f"unreadable colour {colour!r}"
    return numbers[0], numbers[1], numbers[2]


def luminance(colour: str) -> float:
    """WCAG relative luminance."""
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def ring_problems(page: Page) -> tuple[int, list[str]]:
    """Tab through up to TABS controls; how many were reached, and each weak ring."""
    problems, seen = [], 0
    for _ in range(TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            break
        seen += 1
        ratio = contrast(focused["colour"], focused["background"])
        if focused["style"] == "none" or focused["width"] < 2 or ratio < MIN_CONTRAST:
            problems.append(f"{focused['name']}: outline {focused['style']} {focused['width']}px "
                            f"{focused['colour']} on {focused['background']} ({ratio:.2f}:1)")
    return seen, problems


@pytest.mark.parametrize("name", ["login", "orders list", "call card", "status board"])
@pytest.mark.parametrize("language", ["en", "ar"])
def test_every_control_tab_reaches_shows_a_strong_ring(page: Page, live_server,
                                                       seeded, name, language):  # noqa: F811
    open_screen(page, live_server, seeded, BY_NAME[name], language)
    seen, problems = ring_problems(page)
    assert seen >= 2, f"{name}: Tab reached only {seen} controls"
    assert not problems, f"{name} ({language}): weak focus rings:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", ["orders list", "call idle", "status board"])
@pytest.mark.parametrize("language", ["en", "ar"])
def test_first_tab_offers_the_skip_link_to_main(page: Page, live_server, seeded,  # noqa: F811
                                                name, language):
    open_screen(page, live_server, seeded, BY_NAME[name], language)
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    if language == "en":
        expect(skip).to_have_text("Skip to main content")
    box = skip.bounding_box()
    viewport = page.viewport_size
    assert box is not None and box["width"] > 0 and box["height"] > 0
    assert 0 <= box["x"] and box["x"] + box["width"] <= viewport["width"], box
    assert 0 <= box["y"] and box["y"] + box["height"] <= viewport["height"], box
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
