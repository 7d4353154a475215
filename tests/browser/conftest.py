"""Fixtures for tests in a real headless Chromium: Debian's `chromium`, driven by Playwright.

Never a browser Playwright downloads (`playwright install` reaches outside the package
registries, which this machine and CI cannot): Playwright launches the Debian package's
executable, which `make test` installs when it is missing (deploy/local/browser.py).

Playwright's async API, on the session's event loop (pyproject: asyncio_mode=auto, session
loop scope): the browser starts once per session, and the tests are async like every other
test here, so they can await the portal's in-memory fakes and stores directly. The sync API
would refuse to run wherever a loop is running and would need plain test functions apart
from the rest.

- `browser`: the session's Chromium.
- `page`: a fresh context (its own cookies and storage) per test, desktop-sized.
- `phone`: the same at 320 CSS px wide, a small phone (WCAG 1.4.10 Reflow's width).
- `serve`: serves an ASGI app over HTTP on a free port for the test (tests/browser/server.py).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from starlette.types import ASGIApp

from deploy.local.browser import APT_INSTALL, find_chromium
from tests.browser.checks import PHONE_WIDTH
from tests.browser.server import serving

# A step that waits for something that never comes fails in seconds, not Playwright's 30.
TIMEOUT_MS = 10_000

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": PHONE_WIDTH, "height": 640},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    # Fail, never skip: a browser suite skipped in CI would hide every page it should check.
    found = find_chromium()
    if found is None:
        pytest.fail(
            "Debian's Chromium is not installed, and the browser tests need it (never a "
            "browser Playwright downloads). `make test` installs it (python -m "
            f"deploy.local.browser); or install it as root: `{APT_INSTALL}`",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="session")
async def browser(chromium_executable: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_executable,
            headless=True,
            # Chromium's sandbox cannot start as root (it refuses to run), and tests here and
            # in CI run as root: only there is it turned off (Playwright's --no-sandbox). As
            # any other user, Debian's Chromium sandboxes itself with user namespaces.
            chromium_sandbox=os.geteuid() != 0,
        )
        yield launched
        await launched.close()


async def _context(browser: Browser, **options: object) -> BrowserContext:
    context = await browser.new_context(**options)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A desktop-sized page in a context of its own (nothing carried over from other tests)."""
    context = await _context(browser, **DESKTOP)
    yield await context.new_page()
    await context.close()


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    """A page in a 320 px wide mobile context: 320x640 CSS px, twice as many device pixels,
    touch, and the mobile layout viewport (a page without a viewport meta lays out at 980 px,
    as on a real phone)."""
    context = await _context(browser, **PHONE)
    yield await context.new_page()
    await context.close()


@pytest.fixture
def serve(free_port: Callable[[], int]) -> Iterator[Callable[[ASGIApp], str]]:
    """`serve(app)` serves an ASGI app for the rest of the test and returns its base URL."""
    with ExitStack() as stack:

        def start(app: ASGIApp) -> str:
            return stack.enter_context(serving(app, free_port()))

        yield start
