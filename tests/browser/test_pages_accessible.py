"""Every page of the portal passes axe-core and fits 320 px, in the real Chromium.

The portal app (`services.portal.app.create_app`) with the caseworker console's router
(`caseworker_routes`) is served over HTTP with in-memory fakes of the ports, shared with the
portal's own tests (tests/services/portal/portal_fakes.py and caseworker_fakes.py), and the
real asset build's CSS and JavaScript, as a browser gets them. The resident signs in through
the real sign-in form with the code the fake sender captured; the caseworker through the
console's, with an account in the portal's database.

The pages are taken from the app's routes, not from a list here: every GET route is visited,
signed out when it needs no session, else as the role its dependencies require (a page that
sends a signed-out visitor to sign in without declaring a role, as /sign-out does, as both),
with its path parameters filled from the fakes. A new page is checked the day it is added; a
new path parameter fails until it is given values below. An error page, forms with errors
and the pages forms lead to are checked too. Each page is checked at desktop width and on a
320 px phone; failures are gathered, so one bad page does not hide the others.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import fastapi.routing
import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from playwright.async_api import Browser, BrowserContext, Page, Response
from pydantic import SecretStr

from contracts.consent import DataUseEntry, DataUseReport
from contracts.notifications import InboxMessage
from services.portal.app import SIGN_IN_PATHS, create_app
from services.portal.build import assets_built
from services.portal.sessions import require_caseworker, require_resident
from services.portal.settings import PortalSettings
from tests.browser.checks import axe, fits_320, screenshot
from tests.browser.conftest import DESKTOP, PHONE, TIMEOUT_MS
from tests.browser.server import serving
from tests.services.portal.caseworker_fakes import (
    CONTRADICTION,
    DEATH,
    MOVE,
    PASSWORD,
    FakeLedger,
    FakeQueue,
    console_parts,
)
from tests.services.portal.portal_fakes import (
    ALICE,
    ALICE_EMAIL,
    ALICE_MESSAGE,
    ALICE_WORKFLOW,
    START,
    STEP,
    FakeCallRequests,
    FakeCodeSender,
    FakeConsents,
    FakeDirectory,
    FakeInbox,
    FakeLetterPreferences,
    FakeLifeEvents,
)

# -- the resident's fakes ----------------------------------------------------------------------


class Ledger(FakeConsents):
    """The fakes' consents, with a ledger of every kind of entry a resident reads."""

    async def ledger(self, resident: str) -> DataUseReport:
        self.ledger_reads.append(resident)

        def entry(seq: int, kind: str, recipient: str, purpose: str, **rest: Any) -> DataUseEntry:
            return DataUseEntry.model_validate(
                {
                    "seq": seq,
                    "at": START - timedelta(days=10 - seq),
                    "kind": kind,
                    "recipient": recipient,
                    "purpose": purpose,
                    "ref": f"ref-{seq}",
                    "data_categories": ["identity", "address"],
                    **rest,
                }
            )

        tax = ("council-tax", "council-tax-liability")
        share = entry(
            3, "share", *tax, lawful_basis="legal_obligation", outcome="completed", reason="share"
        )
        entries = [
            entry(
                1,
                "consent",
                "libraries",
                "library-membership-offer",
                data_categories=["identity", "contact", "address"],
                lawful_basis="consent",
                outcome="given",
                reason="portal",
            ),
            entry(
                2, "decision", *tax, lawful_basis="legal_obligation", outcome="allowed", reason="p"
            ),
            share,
            entry(
                4,
                "objection",
                "electoral-services",
                "electoral-register",
                lawful_basis="public_task",
                outcome="refused",
                reason="objection_recorded",
            ),
            entry(
                5,
                "caseworker",
                "cwk_" + "0" * 32,
                "life-event",
                data_categories=[],
                lawful_basis="public_task",
                outcome="linked",
                reason="match",
            ),
        ]
        return DataUseReport(resident=resident, received=[share], entries=entries)


def _inbox() -> FakeInbox:
    message = InboxMessage(
        reference=ALICE_MESSAGE,
        template="move.council-tax",
        subject="Your council tax after your move",
        body="We closed your council tax account at your old address.\n"
        "Your final bill will follow by post within 14 days.",
        workflow_id=ALICE_WORKFLOW,
        step="council-tax",
        created_at=START - timedelta(hours=3),
    )
    return FakeInbox({ALICE: [message]})


@dataclass
class Fakes:
    directory: FakeDirectory = field(default_factory=FakeDirectory)
    inbox: FakeInbox = field(default_factory=_inbox)
    codes: FakeCodeSender = field(default_factory=FakeCodeSender)
    call_requests: FakeCallRequests = field(default_factory=FakeCallRequests)
    life_events: FakeLifeEvents = field(default_factory=FakeLifeEvents)
    consents: Ledger = field(default_factory=Ledger)
    ledger: FakeLedger = field(default_factory=FakeLedger)


# A value, or several, for each path parameter a page of each role may have.
PARAMETERS: dict[object, dict[str, list[str]]] = {
    None: {},
    require_resident: {
        "reference": [ALICE_MESSAGE],
        "workflow_id": [ALICE_WORKFLOW],
        "step": [STEP],
    },
    require_caseworker: {
        # /caseworker/cases/<workflow>/<task>, each part quoted: both kinds of case.
        "rest": [
            f"{quote(w, safe='')}/{quote(t, safe='')}"
            for w, t in ((MOVE, "match:0"), (DEATH, CONTRADICTION))
        ],
    },
}

# What a page is known to fail, owned and being fixed elsewhere: the page as checked, the
# words of each problem to let pass, and why. Strict: an entry whose problem no longer shows
# fails the test, so that it goes as soon as the page is fixed.
KNOWN: dict[str, tuple[tuple[str, ...], str]] = {}


# -- the app, served -----------------------------------------------------------------------------


@dataclass
class Served:
    app: FastAPI
    url: str
    fakes: Fakes
    queue: FakeQueue


@pytest.fixture(scope="module")
def static_dir() -> Path:
    """The real asset build's output: without its CSS neither check means anything."""
    static = PortalSettings.model_fields["portal_static_dir"].default
    assert isinstance(static, Path)
    if not assets_built(static):
        pytest.fail(
            f"the portal's assets in {static} are not built, or not from the sources as they "
            "are now: `make setup` (lifeevents stack prepare) builds them",
            pytrace=False,
        )
    return static


@pytest.fixture(scope="module")
async def portal(
    tmp_path_factory: pytest.TempPathFactory,
    static_dir: Path,
    free_port: Callable[[], int],
) -> AsyncIterator[Served]:
    tmp = tmp_path_factory.mktemp("portal")
    database = f"sqlite+aiosqlite:///{tmp / 'portal.db'}"
    settings = PortalSettings(
        var_dir=tmp,
        portal_database_url=database,
        portal_secret_key=SecretStr("k" * 48),
        portal_static_dir=static_dir,
        portal_council_name="Exampleshire Council",
    )
    fakes = Fakes()
    # The console's accounts (Kim's) and claims on the portal's database, on an engine
    # without a pool: the app runs on the server thread's event loop, not this one.
    _, queue, console, _, _, engine = await console_parts(database, fakes.ledger)
    try:
        app = create_app(
            settings,
            directory=fakes.directory,
            inbox=fakes.inbox,
            code_sender=fakes.codes,
            call_requests=fakes.call_requests,
            life_events=fakes.life_events,
            consents=fakes.consents,
            letter_preferences=FakeLetterPreferences(),
            # No store given: the app's lifespan opens it, on the server's own loop.
            routers=[console],
        )
        with serving(app, free_port()) as url:
            yield Served(app, url, fakes, queue)
    finally:
        await engine.dispose()


# -- the pages, from the app's routes ----------------------------------------------------------


@dataclass(frozen=True)
class PageRoute:
    path: str  # as declared, with its parameters: /events/{workflow_id:path}
    dependant: Dependant


def _get_routes(app: FastAPI) -> Iterator[PageRoute]:
    """Every GET route of the app, with the dependencies it runs (its routers' included)."""
    # FastAPI 0.165 keeps an included router as one entry of `app.routes` and gives its
    # routes, as served, through `iter_route_contexts`; earlier versions copy each in.
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is None:
        for route in app.routes:
            if isinstance(route, APIRoute) and "GET" in (route.methods or ()):
                yield PageRoute(route.path, route.dependant)
        return
    for context in iterate(app.routes):
        if isinstance(context.original_route, APIRoute) and "GET" in (context.methods or ()):
            yield PageRoute(context.path, context.dependant)


def _calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


ROLES = (require_resident, require_caseworker)


def pages(app: FastAPI, role: object) -> list[PageRoute]:
    """The app's GET routes that need `role` (one of ROLES), or that declare none (None)."""
    return [
        route
        for route in _get_routes(app)
        if next((c for c in _calls(route.dependant) if c in ROLES), None) is role
    ]


_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def urls_of(route: PageRoute, role: object) -> list[str]:
    """The page's paths, one for each combination of its parameters' values."""
    given = PARAMETERS[role]
    names = _PARAMETER.findall(route.path)
    missing = [n for n in names if n not in given]
    assert not missing, (
        f"{route.path}: give its parameter(s) {missing} values in PARAMETERS "
        "(tests/browser/test_pages_accessible.py), so the page is checked"
    )
    urls = []
    for values in itertools.product(*(given[n] for n in names)):
        path = route.path
        for name, value in zip(names, values, strict=True):
            path = re.sub(r"\{" + name + r"(?::\w+)?\}", value, path)
        urls.append(path)
    return urls


# Opened only with a sign-in under way: checked as the resident signs in.
DURING_SIGN_IN = "/sign-in/code"


async def sending_to_sign_in(portal: Served) -> list[PageRoute]:
    """The pages that declare no role but send a signed-out visitor to sign in."""
    found = []
    async with httpx.AsyncClient(base_url=portal.url, follow_redirects=False) as client:
        for route in pages(portal.app, None):
            if route.path == DURING_SIGN_IN:
                continue
            for path in urls_of(route, None):
                answer = await client.get(path)
                if answer.is_redirect and answer.headers["location"] in SIGN_IN_PATHS.values():
                    found.append(route)
                    break
    return found


# -- checking ------------------------------------------------------------------------------


@dataclass
class Checker:
    """Checks pages at desktop width and on the phone, gathering what fails."""

    desktop: Page
    phone: Page
    failures: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    known_seen: set[str] = field(default_factory=set)

    async def visit(self, url: str, name: str, *, status: int = 200) -> None:
        for page, size in ((self.desktop, "desktop"), (self.phone, "phone")):
            response = await page.goto(url)
            if page.url != url:
                # Sent to sign in, say: the page itself was never seen.
                self.failures.append(f"{name} ({size}): {url} went to {page.url}")
                continue
            await self.check(page, f"{name} ({size})", response, status)

    async def walk(self, base: str, routes: Sequence[PageRoute], role: object) -> None:
        for route in routes:
            for path in urls_of(route, role):
                await self.visit(
                    f"{base}{path}", path if len(urls_of(route, role)) > 1 else route.path
                )

    async def submit(self, form_selector: str, name: str, *, button: int = 0) -> None:
        """Send a form of the phone's page as it is, and check the page it leads to."""
        form = self.phone.locator(form_selector).first
        async with self.phone.expect_navigation():
            await form.locator("button").nth(button).click()
        await self.check(self.phone, f"{name} (phone)")

    async def check(
        self, page: Page, name: str, response: Response | None = None, status: int = 200
    ) -> None:
        self.checked.append(name)
        if response is not None and response.status != status:
            self.failures.append(f"{name}: {page.url} answered {response.status}, not {status}")
            return
        for check in (axe, fits_320) if page is self.phone else (axe,):
            try:
                await check(page)
            except AssertionError as failed:
                self._failed(name, str(failed))
        await screenshot(page, name)

    def _failed(self, name: str, message: str) -> None:
        needles, _why = KNOWN.get(name, ((), ""))
        heading, *problems = message.splitlines()
        left = [p for p in problems if not any(n in p for n in needles)]
        if len(left) < len(problems):
            self.known_seen.add(name)
        if left or not problems:
            self.failures.append("\n".join([f"{name}: {heading}", *left]))

    def assert_passed(self) -> None:
        for name in KNOWN.keys() & set(self.checked):
            if name not in self.known_seen:
                self.failures.append(f"{name}: passes now; take it out of KNOWN")
        assert not self.failures, "\n\n".join(self.failures)


async def _context(browser: Browser, options: dict[str, Any]) -> BrowserContext:
    context = await browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
async def checker(browser: Browser) -> AsyncIterator[Checker]:
    desktop = await _context(browser, DESKTOP)
    phone = await _context(browser, PHONE)
    yield Checker(await desktop.new_page(), await phone.new_page())
    await desktop.close()
    await phone.close()


# -- the walks -----------------------------------------------------------------------------------


async def share_session(checker: Checker) -> None:
    """The desktop page signs in as the phone did, with its cookies."""
    cookies = await checker.phone.context.cookies()
    # The cookies as read are what add_cookies takes; Playwright types the two apart.
    await checker.desktop.context.add_cookies(cookies)  # type: ignore[arg-type]


async def test_every_public_page(checker: Checker, portal: Served) -> None:
    signed_in_only = {r.path for r in await sending_to_sign_in(portal)}
    public = [
        r
        for r in pages(portal.app, None)
        if r.path not in signed_in_only and r.path != DURING_SIGN_IN
    ]
    assert public, "no public pages found among the app's routes"
    await checker.walk(portal.url, public, None)
    await checker.visit(f"{portal.url}/no-such-page", "page not found", status=404)
    checker.assert_passed()


async def _code_for(fakes: Fakes, sent_before: int) -> str:
    # The portal sends the code after its response (a background task): wait for it.
    for _ in range(500):
        if len(fakes.codes.sent) > sent_before:
            return fakes.codes.sent[-1][2]
        await asyncio.sleep(0.01)
    raise AssertionError("the portal sent no sign-in code")


async def test_every_resident_page(checker: Checker, portal: Served) -> None:
    # Signing in, through the real form on the phone, checking each step's page.
    phone = checker.phone
    await phone.goto(f"{portal.url}/sign-in")
    await checker.submit('form[action="/sign-in"]', "sign in, nothing entered")
    sent = len(portal.fakes.codes.sent)
    await phone.locator('input[name="contact"]').fill(ALICE_EMAIL)
    await checker.submit('form[action="/sign-in"]', "enter your code")
    assert phone.url == f"{portal.url}/sign-in/code"
    await checker.submit('form[action="/sign-in/code"]', "code, nothing entered")
    await phone.locator('input[name="code"]').fill(await _code_for(portal.fakes, sent))
    async with phone.expect_navigation(url=f"{portal.url}/"):
        await phone.locator('form[action="/sign-in/code"] button').click()
    await share_session(checker)

    resident_pages = pages(portal.app, require_resident)
    assert resident_pages, "no resident pages found among the app's routes"
    await checker.walk(portal.url, resident_pages, require_resident)
    await checker.walk(portal.url, await sending_to_sign_in(portal), require_resident)

    # The pages forms lead to: a question answered with nothing chosen, then answered; a
    # consent withdrawn; preferences saved; a call asked for.
    question = next(r for r in resident_pages if "/steps/" in r.path)
    await phone.goto(f"{portal.url}{urls_of(question, require_resident)[0]}")
    answer_form = "form[method=post]:has(input[name=answer])"
    await checker.submit(answer_form, "question, nothing chosen")
    await phone.locator(answer_form).get_by_label("Yes").check()
    await checker.submit(answer_form, "question answered")

    await phone.goto(f"{portal.url}/consents")
    await checker.submit('form[action$="/withdraw"]', "consent withdrawn")

    await phone.goto(f"{portal.url}/preferences")
    await checker.submit('form[action="/preferences"]', "preferences saved")
    await phone.goto(f"{portal.url}/preferences")
    await checker.submit('form[action="/preferences/call"]', "call asked for")
    assert portal.fakes.call_requests.calls == [ALICE]

    checker.assert_passed()


async def test_every_caseworker_page(checker: Checker, portal: Served) -> None:
    phone = checker.phone
    sign_in = f'form[action="{SIGN_IN_PATHS["caseworker"]}"]'
    await phone.goto(f"{portal.url}{SIGN_IN_PATHS['caseworker']}")
    await checker.submit(sign_in, "caseworker sign in, nothing entered")
    await phone.locator('input[name="username"]').fill("kim")
    await phone.locator('input[name="password"]').fill("not the password")
    await checker.submit(sign_in, "caseworker sign in, wrong password")
    await phone.locator('input[name="password"]').fill(PASSWORD)
    async with phone.expect_navigation(url=f"{portal.url}/caseworker"):
        await phone.locator(f"{sign_in} button").click()
    await share_session(checker)

    caseworker_pages = pages(portal.app, require_caseworker)
    assert caseworker_pages, "no caseworker pages found among the app's routes"
    await checker.walk(portal.url, caseworker_pages, require_caseworker)
    await checker.walk(portal.url, await sending_to_sign_in(portal), require_caseworker)

    # A doubtful match claimed (the decisions show), then linked to a candidate: the queue
    # says so.
    match_case = next(p for p in PARAMETERS[require_caseworker]["rest"] if "match" in p)
    await phone.goto(f"{portal.url}/caseworker/cases/{match_case}")
    await checker.submit('form[action$="/claim"]', "doubtful match, claimed")
    await checker.submit('form[action$="/decide"]:has(input[value="link"])', "match linked")
    assert [e[1] for e in portal.fakes.ledger.entries] == ["claimed", "linked"]
    assert [d[2] for d in portal.queue.decided] == ["link"]

    checker.assert_passed()
