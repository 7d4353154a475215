"""The checks themselves can fail: small pages of our own, served over HTTP to the real
Chromium, each breaking one rule (and one page breaking none)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import Page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from tests.browser import checks
from tests.browser.checks import axe, axe_violations, fits_320, screenshot

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def html(body: str, *, head: str = VIEWPORT) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>A test page</title>{head}</head>"
        f"<body><main><h1>A test page</h1>{body}</main></body></html>"
    )


PAGES = {
    "/good": html(
        '<p>Short text that wraps.</p><form><label for="name">Your name</label>'
        '<input id="name" name="name" type="text"></form>'
        # A wide table in a scrolling container is allowed to scroll by itself (1.4.10).
        '<div style="overflow-x: auto"><table><caption>Figures</caption><tr>'
        '<th scope="col" style="min-width: 600px">A wide column</th></tr></table></div>'
    ),
    "/no-alt": html('<img src="/picture.png" width="10" height="10">'),
    "/no-label": html('<form><input name="postcode" type="text"></form>'),
    "/both": html('<img src="/picture.png"><form><input name="postcode" type="text"></form>'),
    "/wide-fixed": html(
        '<div style="position: fixed; top: 0; left: 0; width: 600px; height: 40px">Banner</div>'
    ),
    "/wide-block": html('<div style="width: 600px">A block wider than a phone</div>'),
    # A reference that cannot wrap: its box stays 320 px wide, its text does not.
    "/long-word": html(f"<p>Staff reference cwk_{'0' * 48}</p>"),
    "/no-viewport": html("<p>Laid out for a desktop.</p>", head=""),
    "/no-zoom": html(
        "<p>Cannot be zoomed.</p>",
        head='<meta name="viewport" content="width=device-width, user-scalable=no">',
    ),
}

# As the portal does: no inline script may run, so axe must get in another way.
CSP = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'"
}


async def _page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGES[request.url.path], headers=CSP)


APP: ASGIApp = Starlette(routes=[Route(path, _page) for path in PAGES])


@pytest.fixture
def site(serve: Callable[[ASGIApp], str]) -> str:
    return serve(APP)


async def test_a_good_page_passes_both(site: str, page: Page, phone: Page) -> None:
    await page.goto(f"{site}/good")
    assert [v.rule for v in await axe(page)] == []
    await phone.goto(f"{site}/good")
    await fits_320(phone)


async def test_axe_reports_an_image_without_alt_and_a_field_without_label(
    site: str, page: Page
) -> None:
    await page.goto(f"{site}/no-alt")
    with pytest.raises(AssertionError) as failed:
        await axe(page)
    assert "image-alt (critical)" in str(failed.value)
    assert "[img]" in str(failed.value)  # where: axe's shortest selector that is unique

    await page.goto(f"{site}/no-label")
    violations = await axe_violations(page)
    assert "label" in {v.rule for v in violations}
    with pytest.raises(AssertionError, match=r"label \(critical\)"):
        await axe(page)


async def test_axe_lists_every_failing_rule_with_where(site: str, page: Page) -> None:
    await page.goto(f"{site}/both")
    with pytest.raises(AssertionError) as failed:
        await axe(page)
    message = str(failed.value)
    assert "2 serious or critical violation(s)" in message
    assert "image-alt (critical)" in message
    assert "label (critical)" in message
    assert "[input]" in message  # where: axe's shortest selector that is unique
    assert "dequeuniversity.com" in message  # where to read about the rule


@pytest.mark.parametrize("path", ["/wide-fixed", "/wide-block"])
async def test_fits_320_fails_on_something_600_px_wide(site: str, phone: Page, path: str) -> None:
    await phone.goto(f"{site}{path}")
    with pytest.raises(AssertionError, match=r"wider than the screen: div \(\d+\.\.60\d px\)"):
        await fits_320(phone)


async def test_fits_320_fails_on_text_that_cannot_wrap(site: str, phone: Page) -> None:
    await phone.goto(f"{site}/long-word")
    with pytest.raises(AssertionError, match=r'text "Staff reference cwk_0+" in p'):
        await fits_320(phone)


async def test_fits_320_fails_a_page_without_a_viewport(site: str, phone: Page) -> None:
    await phone.goto(f"{site}/no-viewport")
    with pytest.raises(AssertionError, match="no <meta name=viewport"):
        await fits_320(phone)


async def test_fits_320_fails_a_page_that_cannot_be_zoomed(site: str, phone: Page) -> None:
    await phone.goto(f"{site}/no-zoom")
    with pytest.raises(AssertionError, match="forbids zooming"):
        await fits_320(phone)


async def test_fits_320_needs_the_phone(site: str, page: Page) -> None:
    await page.goto(f"{site}/good")
    with pytest.raises(AssertionError, match="the `phone` fixture"):
        await fits_320(page)


async def test_screenshots_only_when_asked(
    site: str, phone: Page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checks, "SCREENSHOTS", tmp_path / "screenshots")
    await phone.goto(f"{site}/good")

    monkeypatch.delenv("LIFEEVENTS_SCREENSHOTS", raising=False)
    assert await screenshot(phone, "good page") is None
    assert not (tmp_path / "screenshots").exists()

    monkeypatch.setenv("LIFEEVENTS_SCREENSHOTS", "1")
    saved = await screenshot(phone, "Good page")
    assert saved == tmp_path / "screenshots" / "good-page.png"
    assert saved.read_bytes().startswith(b"\x89PNG")
