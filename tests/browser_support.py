"""Browser test support: a live server in a thread and Debian's Chromium for Playwright."""

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server


def chromium_path() -> str | None:
    """Debian's chromium, the only browser the tests use."""
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    return shutil.which("chromium")

LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


def pytest_collection_modifyitems(config, items):
    """Mark tests/browser as browser tests; skip them without Chromium unless required (CI)."""
    for item in items:
        if f"{os.sep}browser{os.sep}" in str(item.path):
            item.add_marker(pytest.mark.browser)
    if chromium_path():
        return
    if os.environ.get("CODBOARD_REQUIRE_BROWSER"):
        raise pytest.UsageError("browser tests are required but /usr/bin/chromium is missing")
    skip = pytest.mark.skip(reason="Chromium not installed (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium headless; never a downloaded browser."""
    return {
        **browser_type_launch_args, "executable_path": chromium_path(), "headless": True,
        "args": LAUNCH_ARGS,
    }


@pytest.fixture
def live_server(app):
    """Serve the test app on a free 127.0.0.1 port for the browser; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
