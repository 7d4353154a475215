"""Per-object authorisation and roles: resident A cannot read or act on resident B's message,
timeline, question, consent, ledger or large-print choice by changing IDs in URLs or form
fields (404, exactly as for an ID that does not exist, and nothing is asked of the ports); a
resident session cannot open the caseworker console's pages, nor a caseworker session a
resident's."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import pytest
from fastapi import APIRouter, Depends, Request
from fastapi.routing import iter_route_contexts
from starlette.responses import PlainTextResponse, Response

from services.common.database import make_engine
from services.portal.caseworker_pages import caseworker_routes
from services.portal.caseworkers import Caseworkers
from services.portal.sessions import Session, require_caseworker, start_session
from tests.services.portal.portal_fakes import (
    ALICE,
    ALICE_EMAIL,
    BOB,
    BOB_CONSENT,
    BOB_EMAIL,
    BOB_MESSAGE,
    BOB_WORKFLOW,
    STEP,
    Portal,
    csrf_of,
    serve,
    sign_in,
)


def console() -> APIRouter:
    """A stand-in for C2's console, built the way the portal tells it to: routes under
    /caseworker that depend on `require_caseworker`, and a sign-in that starts a caseworker
    session with `start_session`. Not part of the app: only these tests add it."""
    router = APIRouter(prefix="/caseworker")

    @router.get("/queue")
    async def queue(session: Annotated[Session, Depends(require_caseworker)]) -> Response:
        return PlainTextResponse(f"queue for {session.subject}")

    @router.post("/tasks/claim")
    async def claim(session: Annotated[Session, Depends(require_caseworker)]) -> Response:
        return PlainTextResponse("claimed")

    @router.get("/test-sign-in")
    async def sign_in_as_caseworker(request: Request) -> Response:
        response = PlainTextResponse("signed in")
        await start_session(request, response, "caseworker", "cwk_" + "0" * 32)
        return response

    return router


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[Portal]:
    async with serve(tmp_path, routers=[console()]) as served:
        await sign_in(served, served.client, ALICE_EMAIL)
        yield served


async def _not_found(portal: Portal, path: str) -> None:
    page = await portal.client.get(path)
    assert page.status_code == 404, path
    assert "Page not found" in page.text
    assert "Bob" not in page.text


async def test_another_residents_message_is_not_found(portal: Portal) -> None:
    await _not_found(portal, f"/messages/{BOB_MESSAGE}")
    await _not_found(portal, "/messages/no-such-message")


async def test_another_residents_timeline_is_not_found(portal: Portal) -> None:
    await _not_found(portal, f"/events/{BOB_WORKFLOW}")
    await _not_found(portal, "/events/lifeevent-00000000000000000000000000000000")


async def test_another_residents_question_is_not_found(portal: Portal) -> None:
    await _not_found(portal, f"/events/{BOB_WORKFLOW}/steps/{STEP}")


async def test_another_residents_question_cannot_be_answered(portal: Portal) -> None:
    token = await csrf_of(portal.client)

    answer = await portal.client.post(
        f"/events/{BOB_WORKFLOW}/steps/{STEP}", data={"answer": "yes", "csrf_token": token}
    )

    assert answer.status_code == 404
    assert portal.life_events.answers == []


async def test_another_residents_consent_cannot_be_withdrawn(portal: Portal) -> None:
    token = await csrf_of(portal.client)

    answer = await portal.client.post(
        f"/consents/{BOB_CONSENT}/withdraw", data={"csrf_token": token}
    )

    assert answer.status_code == 404
    assert portal.consents.withdrawn == []
    assert portal.consents.records[BOB_CONSENT].status == "given"


async def test_consent_cannot_be_given_for_a_purpose_not_offered(portal: Portal) -> None:
    token = await csrf_of(portal.client)

    for purpose in ("tell-us-once", "council-tax-liability", ""):
        answer = await portal.client.post(
            "/consents/give",
            data={"purpose": purpose, "recipient": "dwp", "resident": BOB, "csrf_token": token},
        )
        assert answer.status_code == 400, purpose
    assert portal.consents.given == []


async def test_a_resident_field_in_a_form_is_ignored(portal: Portal) -> None:
    token = await csrf_of(portal.client)

    await portal.client.post(
        "/consents/give",
        data={"purpose": "blue-badge-renewal", "resident": BOB, "csrf_token": token},
    )
    await portal.client.post(
        "/preferences", data={"contact": "email", "resident": BOB, "csrf_token": token}
    )
    await portal.client.post("/preferences/call", data={"resident": BOB, "csrf_token": token})

    assert portal.consents.given == [(ALICE, "blue-badge-renewal", "blue-badge")]
    assert [u.resident for u in portal.directory.preferences] == [ALICE]
    assert portal.calls.calls == [ALICE]


async def test_large_print_is_the_signed_in_residents_only(portal: Portal) -> None:
    # Bob chose large print; Alice did not. The form has no resident field, and a forged one
    # (twice, in case either is read) changes only the signed-in resident's choice.
    portal.letters.large[BOB] = True
    page = await portal.client.get("/preferences")
    assert 'name="resident"' not in page.text
    assert not _large_print_ticked(page.text)  # Alice's, not Bob's
    token = await csrf_of(portal.client)

    unticked = await portal.client.post(
        "/preferences",
        content=urlencode(
            [("resident", BOB), ("contact", "email"), ("csrf_token", token), ("resident", BOB)]
        ),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    ticked = await portal.client.post(
        "/preferences",
        data={"contact": "email", "large_print": "yes", "resident": BOB, "csrf_token": token},
    )

    assert (unticked.status_code, ticked.status_code) == (200, 200)
    assert portal.letters.changes == [(ALICE, True)]
    assert portal.letters.large == {BOB: True, ALICE: True}
    bob = portal.client_for()
    await sign_in(portal, bob, BOB_EMAIL)
    assert _large_print_ticked((await bob.get("/preferences")).text)


def _large_print_ticked(page_html: str) -> bool:
    [box] = re.findall(r'<input[^>]*name="large_print"[^>]*>', page_html)
    return re.search(r"\schecked(\s|>|=)", box) is not None


async def test_the_ledger_shown_is_the_signed_in_residents_only(portal: Portal) -> None:
    page = await portal.client.get(f"/data-use?resident={BOB}")

    assert page.status_code == 200
    assert portal.consents.ledger_reads == [ALICE]


async def test_a_ledger_the_adapter_answers_for_someone_else_is_not_shown(
    portal: Portal,
) -> None:
    async def wrong(resident: str) -> object:
        from tests.services.portal.portal_fakes import _ledger

        return _ledger(BOB)

    portal.consents.ledger = wrong  # type: ignore[assignment,method-assign]

    page = await portal.client.get("/data-use")

    assert page.status_code == 404


async def test_a_path_that_fits_no_pattern_is_not_found(portal: Portal) -> None:
    await _not_found(portal, "/events/..%2F..%2Fetc/steps/council tax")
    await _not_found(portal, "/messages/%3Cscript%3E")


async def test_a_resident_cannot_open_the_caseworker_console(portal: Portal) -> None:
    token = await csrf_of(portal.client)

    queue = await portal.client.get("/caseworker/queue")
    claim = await portal.client.post("/caseworker/tasks/claim", data={"csrf_token": token})

    assert queue.status_code == 403
    assert "You cannot do that" in queue.text
    assert claim.status_code == 403


async def test_signed_out_the_console_sends_the_browser_to_its_sign_in(portal: Portal) -> None:
    page = await portal.client_for().get("/caseworker/queue")

    assert page.status_code == 303
    assert page.headers["location"] == "/caseworker/sign-in"


async def test_a_caseworker_session_opens_the_console_and_no_residents_page(
    portal: Portal,
) -> None:
    caseworker = portal.client_for()
    signed_in = await caseworker.get("/caseworker/test-sign-in")
    assert "__Host-session=" in signed_in.headers["set-cookie"]

    queue = await caseworker.get("/caseworker/queue")
    home = await caseworker.get("/")
    timeline = await caseworker.get(f"/events/{BOB_WORKFLOW}")

    assert queue.status_code == 200
    assert queue.text == "queue for cwk_" + "0" * 32
    assert home.status_code == 403
    assert timeline.status_code == 403


async def test_the_consoles_posts_need_the_csrf_token_too(portal: Portal) -> None:
    caseworker = portal.client_for()
    await caseworker.get("/caseworker/test-sign-in")

    without = await caseworker.post("/caseworker/tasks/claim", data={})

    assert without.status_code == 403
    assert "Sorry, we could not send that form" in without.text


class _Nothing:
    """Queue, ledger and residents that hold nothing and record every call made to them."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        async def called(*_args: object, **_kwargs: object) -> Any:
            self.calls.append(name)
            return None if name == "case" else ()

        return called


async def test_a_resident_cannot_open_any_page_of_the_real_console(tmp_path: Path) -> None:
    """Every route C2's console serves under /caseworker, found in the app's routes (so a page
    added later is covered), refuses a resident's session (403), whatever it would show."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'console.db'}")
    caseworkers = Caseworkers(engine, b"k" * 48)
    await caseworkers.create_tables()
    behind = _Nothing()
    router = caseworker_routes(
        caseworkers=caseworkers,
        queue=behind,  # type: ignore[arg-type]
        ledger=behind,  # type: ignore[arg-type]
        residents=behind,  # type: ignore[arg-type]
    )
    try:
        async with serve(tmp_path, routers=[router]) as portal:
            await sign_in(portal, portal.client, ALICE_EMAIL)
            token = await csrf_of(portal.client)
            console = [
                (method, re.sub(r"\{(\w+)(?::\w+)?\}", "lifeevent-0/match:0", route.path))
                for route in iter_route_contexts(portal.app.routes)
                if route.path is not None and route.path.startswith("/caseworker")
                for method in sorted(route.methods or ())
                if route.path != "/caseworker/sign-in"  # where a caseworker signs in
            ]
            assert ("GET", "/caseworker") in console
            assert any(method == "POST" for method, _ in console)
            for method, path in console:
                answer = await portal.client.request(
                    method, path, data={"csrf_token": token} if method == "POST" else None
                )
                assert answer.status_code == 403, (method, path, answer.status_code)
            assert behind.calls == []
    finally:
        await engine.dispose()
