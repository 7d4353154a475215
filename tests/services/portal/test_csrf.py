"""CSRF: every POST route of the app, found in `app.routes` so that a form added later is
covered without being listed here, refuses a request without a token, or with another
session's (or another browser's) token, with the GOV.UK-styled 403 page, and acts on
nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from tests.services.portal.portal_fakes import (
    ALICE_CONSENT,
    ALICE_EMAIL,
    ALICE_WORKFLOW,
    BOB_EMAIL,
    STEP,
    Portal,
    csrf_from,
    csrf_of,
    serve,
    sign_in,
)

# What each path parameter is filled with: Alice's own objects, so that only the token is
# wrong. A parameter not named here is filled with a plain value (a new route still runs).
_PARAMETERS = {"workflow_id": ALICE_WORKFLOW, "step": STEP, "consent_id": ALICE_CONSENT}
# Every form field any POST route reads, with a valid value: only the token is missing.
_FIELDS = {
    "contact": ALICE_EMAIL,
    "code": "123456",
    "answer": "yes",
    "purpose": "blue-badge-renewal",
    "large_print": "yes",
}


_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def post_routes(app: FastAPI) -> list[str]:
    """Every path that takes a POST (or another unsafe method), its parameters filled in.
    FastAPI keeps an included router's routes under it: `iter_route_contexts` walks them
    all, with their prefixes, as they are served."""
    paths = [
        route.path
        for route in iter_route_contexts(app.routes)
        if route.path is not None and (route.methods or set()) & _UNSAFE
    ]
    return [
        re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: _PARAMETERS.get(m.group(1), "x"), path)
        for path in paths
    ]


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[Portal]:
    async with serve(tmp_path) as served:
        yield served


def _nothing_done(portal: Portal) -> None:
    assert portal.life_events.answers == []
    assert portal.consents.given == []
    assert portal.consents.withdrawn == []
    assert portal.calls.calls == []
    assert portal.directory.preferences == []
    assert portal.letters.changes == []


def _refused(answer: httpx.Response, path: str) -> None:
    assert answer.status_code == 403, (path, answer.status_code)
    assert "Sorry, we could not send that form" in answer.text, path
    assert "govuk-heading-l" in answer.text


def test_the_app_has_the_post_routes_this_test_expects_at_least(portal: Portal) -> None:
    # So that the checks below cannot pass over an empty list.
    assert set(post_routes(portal.app)) >= {
        "/sign-in",
        "/sign-in/code",
        "/sign-out",
        f"/events/{ALICE_WORKFLOW}/steps/{STEP}",
        f"/consents/{ALICE_CONSENT}/withdraw",
        "/consents/give",
        "/preferences",
        "/preferences/call",
    }


async def test_every_post_without_a_token_is_refused_signed_out(portal: Portal) -> None:
    await portal.client.get("/sign-in")  # the browser has its pre-session cookie
    for path in post_routes(portal.app):
        _refused(await portal.client.post(path, data=_FIELDS), path)
    assert portal.codes.sent == []


async def test_every_post_without_a_token_is_refused_signed_in(portal: Portal) -> None:
    await sign_in(portal, portal.client, ALICE_EMAIL)
    for path in post_routes(portal.app):
        _refused(await portal.client.post(path, data=_FIELDS), path)
        _refused(await portal.client.post(path, data={**_FIELDS, "csrf_token": ""}), path)
    _nothing_done(portal)


async def test_every_post_with_another_sessions_token_is_refused(portal: Portal) -> None:
    bob = portal.client_for()
    await sign_in(portal, bob, BOB_EMAIL)
    bobs_token = await csrf_of(bob)
    await sign_in(portal, portal.client, ALICE_EMAIL)
    alices_token = await csrf_of(portal.client)
    assert alices_token != bobs_token

    for path in post_routes(portal.app):
        _refused(await portal.client.post(path, data={**_FIELDS, "csrf_token": bobs_token}), path)
    _nothing_done(portal)


async def test_a_pre_session_token_of_another_browser_is_refused(portal: Portal) -> None:
    other = portal.client_for()
    theirs = csrf_from((await other.get("/sign-in")).text)
    await portal.client.get("/sign-in")

    for path in post_routes(portal.app):
        answer = await portal.client.post(path, data={**_FIELDS, "csrf_token": theirs})
        _refused(answer, path)
    assert portal.codes.sent == []


async def test_the_pre_session_token_does_not_pass_once_signed_in(portal: Portal) -> None:
    before = csrf_from((await portal.client.get("/sign-in")).text)
    await sign_in(portal, portal.client, ALICE_EMAIL)

    answer = await portal.client.post("/preferences/call", data={"csrf_token": before})

    _refused(answer, "/preferences/call")
    assert portal.calls.calls == []


async def test_a_post_that_is_not_a_form_is_refused(portal: Portal) -> None:
    await sign_in(portal, portal.client, ALICE_EMAIL)
    token = await csrf_of(portal.client)

    answer = await portal.client.post("/preferences/call", json={"csrf_token": token})

    _refused(answer, "/preferences/call")
    assert portal.calls.calls == []


async def test_the_right_token_is_accepted(portal: Portal) -> None:
    # The other side of the tests above: with its token, the same POST is done.
    await sign_in(portal, portal.client, ALICE_EMAIL)
    token = await csrf_of(portal.client)

    answer = await portal.client.post("/preferences/call", data={"csrf_token": token})

    assert answer.status_code == 200
    assert portal.calls.calls == [portal.calls.calls[0]]


async def test_a_body_larger_than_any_form_is_refused(portal: Portal) -> None:
    await sign_in(portal, portal.client, ALICE_EMAIL)
    token = await csrf_of(portal.client)

    async def chunks() -> AsyncIterator[bytes]:
        yield f"csrf_token={token}&padding=".encode()
        for _ in range(40):
            yield b"x" * 1024

    declared = await portal.client.post(
        "/preferences/call", data={"csrf_token": token, "padding": "x" * 40_000}
    )
    streamed = await portal.client.post(
        "/preferences/call",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert portal.calls.calls == []
