"""Arabic screens read right to left and never scroll sideways, on a desk and on a phone."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.screens import BY_NAME, open_screen, seeded  # noqa: F401 (fixture)

VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}

# Elements sticking out past the viewport's edges, not inside a scrolling box, the widest
# first (for the message).
OVERFLOWING = """() => {
  const width = window.innerWidth, out = [];
  const scrolls = (el) => ['auto', 'scroll', 'hidden', 'clip'].includes(
    getComputedStyle(el).overflowX);
  for (const el of document.body.querySelectorAll('*')) {
    let up = el.parentElement, clipped = false;
    while (up && up !== document.body && !clipped) {
      clipped = scrolls(up);
      up = up.parentElement;
    }
    const box = el.getBoundingClientRect();
    if (!clipped && box.width && (box.right > width + 1 || box.left < -1)) {
      const cls = el.className && typeof el.className === 'string'
        ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
      out.push([Math.round(box.width), `${el.tagName.toLowerCase()}${cls}`]);
    }
  }
  return out.sort((a, b) => b[0] - a[0]).slice(0, 5).map(([w, name]) => `${name} (${w}px)`);
}"""


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name", ["call card", "orders list", "status board"])
def test_arabic_screen_is_rtl_and_fits_the_width(page: Page, live_server, seeded,  # noqa: F811
                                                 name, viewport, tmp_path):
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    open_screen(page, live_server, seeded, BY_NAME[name], "ar")
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    if name == "call card":
        expect(page.locator("article.call-card")).to_be_visible()

    shot = tmp_path / f"{name.replace(' ', '-')}-ar-{viewport}.png"
    page.screenshot(path=str(shot), full_page=True)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    inner_width = page.evaluate("window.innerWidth")
    assert scroll_width <= inner_width, (
        f"{name} in Arabic at {width}x{height} scrolls sideways: {scroll_width} > "
        f"{inner_width}; widest offenders {page.evaluate(OVERFLOWING)}; screenshot {shot}")
