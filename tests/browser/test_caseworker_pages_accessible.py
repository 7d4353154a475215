"""The caseworker console's pages pass axe-core and fit 320 px, in the real Chromium.

The portal app with the console's router, served over HTTP with the real asset build, the
in-memory fakes of the queue (tests/services/portal/caseworker_fakes.py) and the console's
real accounts and claims. The caseworker signs in through the real form and claims through
the real button; each page is checked at desktop width and on a 320 px phone, and the
failures of every page are gathered before the test fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page
from pydantic import SecretStr

from services.portal.app import create_app
from services.portal.build import assets_built
from services.portal.caseworker_pages import case_href
from services.portal.settings import PortalSettings
from services.portal.store import PortalStore
from tests.browser.checks import axe, fits_320, screenshot
from tests.browser.conftest import DESKTOP, PHONE, TIMEOUT_MS
from tests.browser.server import serving
from tests.services.portal.caseworker_fakes import (
    CONTRADICTION,
    DEATH,
    MOVE,
    PASSWORD,
    FakeLedger,
    console_parts,
)
from tests.services.portal.portal_fakes import (
    FakeCallRequests,
    FakeCodeSender,
    FakeConsents,
    FakeDirectory,
    FakeInbox,
    FakeLetterPreferences,
    FakeLifeEvents,
)


@pytest.fixture(scope="module")
def static_dir() -> Path:
    static = PortalSettings.model_fields["portal_static_dir"].default
    assert isinstance(static, Path)
    if not assets_built(static):
        pytest.fail("the portal's assets are not built: `make setup`", pytrace=False)
    return static


@pytest.fixture
async def console_url(tmp_path: Path, static_dir: Path, free_port: Any) -> AsyncIterator[str]:
    settings = PortalSettings(
        var_dir=tmp_path,
        portal_secret_key=SecretStr("k" * 48),
        portal_static_dir=static_dir,
        portal_council_name="Exampleshire Council",
    )
    url = f"sqlite+aiosqlite:///{tmp_path / 'portal.db'}"
    _, _, router, _, _, engine = await console_parts(url, FakeLedger())
    try:
        async with await PortalStore.open(url) as store:
            app = create_app(
                settings,
                directory=FakeDirectory(),
                inbox=FakeInbox(),
                code_sender=FakeCodeSender(),
                call_requests=FakeCallRequests(),
                life_events=FakeLifeEvents(),
                consents=FakeConsents(),
                letter_preferences=FakeLetterPreferences(),
                store=store,
                routers=[router],
            )
            with serving(app, free_port()) as served:
                yield served
    finally:
        await engine.dispose()


@dataclass
class Checks:
    failures: list[str] = field(default_factory=list)

    async def page(self, page: Page, name: str, status: int = 200) -> None:
        checks = (axe, fits_320) if page.viewport_size == PHONE["viewport"] else (axe,)
        for check in checks:
            try:
                await check(page)
            except AssertionError as failed:
                self.failures.append(f"{name}: {failed}")
        await screenshot(page, f"caseworker-{name}")


async def test_the_console_pages(browser: Browser, console_url: str) -> None:
    desktop = await browser.new_context(**DESKTOP)  # type: ignore[arg-type]
    phone = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    for context in (desktop, phone):
        context.set_default_timeout(TIMEOUT_MS)
    checks = Checks()
    on_phone, on_desktop = await phone.new_page(), await desktop.new_page()

    await on_phone.goto(f"{console_url}/caseworker/sign-in")
    await checks.page(on_phone, "sign-in (phone)")
    form = on_phone.locator('form[action="/caseworker/sign-in"]')
    await form.locator("button").click()
    await on_phone.wait_for_load_state()
    await checks.page(on_phone, "sign-in, nothing entered (phone)")
    await form.locator('input[name="username"]').fill("kim")
    await form.locator('input[name="password"]').fill(PASSWORD)
    await form.locator("button").click()
    await on_phone.wait_for_url(f"{console_url}/caseworker")
    await checks.page(on_phone, "queue (phone)")
    await desktop.add_cookies(await phone.cookies())  # type: ignore[arg-type]

    match = f"{console_url}{case_href(MOVE, 'match:0')}"
    contradiction = f"{console_url}{case_href(DEATH, CONTRADICTION)}"
    for url, name in (
        (f"{console_url}/caseworker", "queue"),
        (match, "doubtful match"),
        (contradiction, "contradiction"),
    ):
        for page, size in ((on_desktop, "desktop"), (on_phone, "phone")):
            response = await page.goto(url)
            assert response is not None
            assert response.status == 200, (name, response.status)
            await checks.page(page, f"{name} ({size})")

    # Claimed through the button: the decision's buttons show.
    await on_phone.goto(match)
    await on_phone.locator("form[action$='/claim'] button").click()
    await on_phone.wait_for_url(match)
    assert await on_phone.locator("text=Link to this resident").count() == 2
    await checks.page(on_phone, "doubtful match, claimed (phone)")
    await on_desktop.goto(match)
    await checks.page(on_desktop, "doubtful match, claimed (desktop)")

    # Last, as it locks this client out: the page after five wrong passwords.
    stranger = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    locked = await stranger.new_page()
    for n in range(6):
        await locked.goto(f"{console_url}/caseworker/sign-in")
        sign_in = locked.locator('form[action="/caseworker/sign-in"]')
        await sign_in.locator('input[name="username"]').fill("lee")
        await sign_in.locator('input[name="password"]').fill(f"wrong password {n}")
        await sign_in.locator("button").click()
        await locked.wait_for_load_state()
    assert await locked.locator("h1").inner_text() == "Too many attempts"
    await checks.page(locked, "locked (phone)")

    for context in (desktop, phone, stranger):
        await context.close()
    assert not checks.failures, "\n\n".join(checks.failures)
