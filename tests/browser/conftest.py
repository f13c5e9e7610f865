"""Playwright in Debian's Chromium against pytest-django's live server.

The browser is never downloaded: tests use /usr/bin/chromium (apt-get install
chromium) and the whole package is skipped, loudly, when it is absent.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# A 1366x768 laptop: the smallest screen the desk is designed for.
VIEWPORT = {"width": 1366, "height": 768}
MISSING = (
    f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing. "
    "Install Debian's Chromium with `apt-get install -y chromium`."
)

# Playwright's sync API runs an event loop in this thread; Django refuses ORM
# calls from a thread with a running loop unless told it is safe (it is: the
# loop only drives the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_report_header(config: pytest.Config) -> list[str]:
    if CHROMIUM.exists():
        return [f"browser tests: {CHROMIUM}"]
    return ["", "!" * 78, MISSING, "!" * 78, ""]


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    if CHROMIUM.exists():
        return
    warnings.warn(MISSING, stacklevel=1)
    skip = pytest.mark.skip(reason=MISSING)
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


# Package scope: Playwright's sync API owns an event loop while it runs, so it
# must be stopped before any other test starts its own Playwright.
@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.console_errors = []
    page.on(
        "console",
        lambda message: (
            page.console_errors.append(message.text)
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
