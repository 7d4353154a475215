"""The layout every page shares, the security headers, the error pages and the built assets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.portal.build import (
    ASSETS_DIR,
    AssetBuildError,
    assets_built,
    build_assets,
    fingerprint,
)
from services.portal.settings import PortalSettings
from tests.services.portal.portal_fakes import (
    ALICE_EMAIL,
    ALICE_WORKFLOW,
    Portal,
    serve,
    settings_for,
    sign_in,
)


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[Portal]:
    async with serve(tmp_path) as served:
        yield served


async def test_a_page_has_the_councils_layout(portal: Portal) -> None:
    page = await portal.client.get("/sign-in")

    assert page.status_code == 200
    html = page.text
    assert '<html lang="en-GB"' in html
    assert "<title>Sign in \u2013 Exampleshire Council Life events</title>" in html
    assert 'href="#main-content"' in html
    assert "Skip to main content" in html
    assert 'id="main-content"' in html
    assert "Exampleshire Council" in html
    # No crown, no GOV.UK logotype, no Crown copyright.
    assert "govuk-logo" not in html
    assert "Crown copyright" not in html
    assert "GOV.UK" not in html
    assert '<script type="module" src="/static/portal.js' in html
    assert html.count("<h1") == 1


async def test_security_headers_and_a_nonce_for_the_one_inline_script(portal: Portal) -> None:
    page = await portal.client.get("/sign-in")

    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce is not None
    assert f'<script nonce="{nonce.group(1)}">' in page.text
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    again = await portal.client.get("/sign-in")
    assert again.headers["content-security-policy"] != csp  # a fresh nonce per response


async def test_an_unknown_page_is_the_404_page(portal: Portal) -> None:
    page = await portal.client.get("/no-such-page")

    assert page.status_code == 404
    assert '<h1 class="govuk-heading-l">Page not found</h1>' in page.text
    assert "<title>Page not found \u2013 Exampleshire Council Life events</title>" in page.text
    assert "content-security-policy" in page.headers


async def test_an_unhandled_error_is_the_500_page_without_its_text(tmp_path: Path) -> None:
    async with serve(tmp_path) as portal:

        async def broken(resident: str) -> list[object]:
            raise RuntimeError("res_secret0000000001 alice@example.com")

        portal.inbox.messages = broken  # type: ignore[method-assign]
        await sign_in(portal, portal.client, ALICE_EMAIL)
        page = await portal.client.get("/")

    assert page.status_code == 500
    assert "Sorry, there is a problem with the service" in page.text
    assert "alice@example.com" not in page.text
    assert "content-security-policy" in page.headers


async def test_the_pages_that_need_no_session(portal: Portal) -> None:
    for path, heading in [
        ("/accessibility", "Accessibility statement"),
        ("/cookies", "Cookies"),
        ("/sign-in", "Sign in"),
    ]:
        page = await portal.client.get(path)
        assert page.status_code == 200, path
        assert f'<h1 class="govuk-heading-l">{heading}</h1>' in page.text, path


async def test_the_cookies_page_lists_only_essential_cookies(portal: Portal) -> None:
    page = await portal.client.get("/cookies")

    assert "only uses essential cookies" in page.text
    for name in ("__Host-session", "__Host-signin", "__Host-csrf"):
        assert name in page.text


async def test_the_built_stylesheet_is_served(tmp_path: Path) -> None:
    static = PortalSettings().portal_static_dir
    if not assets_built(static):
        pytest.skip("the portal's assets are not built: run `lifeevents stack prepare` (needs npm)")
    async with serve(tmp_path, settings_for(tmp_path, portal_static_dir=static)) as portal:
        css = await portal.client.get("/static/portal.css")
        script = await portal.client.get("/static/govuk/govuk-frontend.min.js")
        init = await portal.client.get("/static/portal.js")
        page = await portal.client.get("/sign-in")

    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert ".govuk-header" in css.text or ".govuk-generic-header" in css.text
    assert "GDS Transport" not in css.text  # councils may not use GOV.UK's typeface
    assert "font-family:arial" in css.text
    assert script.status_code == 200
    assert "initAll" in script.text
    assert init.status_code == 200
    assert "initAll()" in init.text
    # The page links the stylesheet under its digest, so a rebuild is fetched anew.
    assert re.search(r'href="/static/portal\.css\?v=[0-9a-f]{12}"', page.text)


def _assets_copy(tmp_path: Path) -> Path:
    """The build's inputs, copied: a test may change them without touching the real ones."""
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in ("package.json", "package-lock.json", "portal.scss", "portal.js"):
        (assets / name).write_bytes((ASSETS_DIR / name).read_bytes())
    return assets


def test_a_build_whose_inputs_are_unchanged_is_skipped(tmp_path: Path) -> None:
    assets = _assets_copy(tmp_path)
    static = tmp_path / "static"
    static.mkdir()
    (static / "portal.css").write_text("body{}")
    (static / ".build-stamp").write_text(fingerprint(assets) + "\n")

    # npm is never run: a missing one would raise.
    assert build_assets(static, assets_dir=assets, npm="no-such-npm") is False


def test_a_changed_input_is_built_again(tmp_path: Path) -> None:
    assets = _assets_copy(tmp_path)
    static = tmp_path / "static"
    static.mkdir()
    (static / "portal.css").write_text("body{}")
    (static / ".build-stamp").write_text(fingerprint(assets) + "\n")
    with (assets / "portal.scss").open("a") as scss:
        scss.write("\n.changed { color: red; }\n")

    assert not assets_built(static, assets)
    with pytest.raises(AssetBuildError, match="no-such-npm is not installed"):
        build_assets(static, assets_dir=assets, npm="no-such-npm")


class NotAnswering(Exception):
    """An adapter's "the service behind me is not answering" (Temporal, the consent API)."""


async def test_an_adapter_not_answering_is_the_503_page(tmp_path: Path) -> None:
    async with serve(tmp_path, unavailable=[NotAnswering]) as portal:

        async def down(resident: str, workflow_id: str) -> None:
            raise NotAnswering

        portal.life_events.timeline = down  # type: ignore[assignment,method-assign]
        await sign_in(portal, portal.client, ALICE_EMAIL)
        page = await portal.client.get(f"/events/{ALICE_WORKFLOW}")

    assert page.status_code == 503
    assert page.headers["retry-after"] == "30"
    assert '<h1 class="govuk-heading-l">Not available just now</h1>' in page.text
