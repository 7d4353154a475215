"""Sign-in with a one-time code: the happy path and its cookie, expiry, single use, the lock
after wrong codes, rate limits, no account enumeration, session expiry, rotation and
sign-out."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from services.portal.signin import parse_contact
from services.portal.store import sessions, signins
from tests.services.portal.portal_fakes import (
    ALICE,
    ALICE_EMAIL,
    ALICE_PHONE,
    Portal,
    csrf_from,
    enter_code,
    request_code,
    serve,
    sign_in,
)

UNKNOWN_EMAIL = "nobody.known@example.net"


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[Portal]:
    async with serve(tmp_path) as served:
        yield served


def _without_tokens(page: httpx.Response) -> str:
    """The page but for what differs on every response: its CSRF token and CSP nonce."""
    return re.sub(r'nonce="[^"]+"', "", page.text.replace(csrf_from(page.text), ""))


def _cookie(response: httpx.Response, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


async def test_the_code_the_resident_received_signs_them_in(portal: Portal) -> None:
    asked = await request_code(portal, portal.client, ALICE_EMAIL)

    assert asked.status_code == 303
    assert asked.headers["location"] == "/sign-in/code"
    assert len(portal.codes.sent) == 1
    resident, channel, code = portal.codes.sent[0]
    assert (resident, channel) == (ALICE, "email")
    assert len(code) == 6
    assert code.isdigit()

    signed_in = await enter_code(portal, portal.client, code)

    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/"
    cookie = _cookie(signed_in, "__Host-session")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "secure" in attributes
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert not any(a.startswith("domain") for a in attributes)
    home = await portal.client.get("/")
    assert home.status_code == 200
    assert "Your council tax after your move" in home.text


async def test_the_store_keeps_no_code_and_no_token_in_the_clear(portal: Portal) -> None:
    await sign_in(portal, portal.client, ALICE_EMAIL)
    code = portal.codes.sent[0][2]
    token = portal.client.cookies["__Host-session"]

    async with portal.store.engine.connect() as conn:
        codes = (await conn.execute(select(signins))).all()
        rows = (await conn.execute(select(sessions))).all()
    stored = repr(codes) + repr(rows)
    assert code not in stored
    assert token not in stored
    assert ALICE_EMAIL not in stored
    assert [r.subject for r in rows] == [ALICE]


async def test_a_mobile_number_gets_a_code_by_text(portal: Portal) -> None:
    asked = await request_code(portal, portal.client, "07700 900123")

    assert asked.status_code == 303
    assert [(r, c) for r, c, _ in portal.codes.sent] == [(ALICE, "sms")]


async def test_an_unknown_address_gets_the_same_answer_and_nothing_is_sent(
    portal: Portal,
) -> None:
    known = portal.client_for()
    unknown = portal.client_for()

    answer_known = await request_code(portal, known, ALICE_EMAIL)
    answer_unknown = await request_code(portal, unknown, UNKNOWN_EMAIL)

    assert len(portal.codes.sent) == 1  # only Alice's
    assert answer_unknown.status_code == answer_known.status_code == 303
    assert answer_unknown.headers["location"] == answer_known.headers["location"]
    assert answer_unknown.text == answer_known.text
    names = sorted(h.split("=")[0] for h in answer_unknown.headers.get_list("set-cookie"))
    assert names == sorted(h.split("=")[0] for h in answer_known.headers.get_list("set-cookie"))
    page_known = await known.get("/sign-in/code")
    page_unknown = await unknown.get("/sign-in/code")
    assert page_unknown.status_code == page_known.status_code == 200
    assert csrf_from(page_known.text) != csrf_from(page_unknown.text)
    assert _without_tokens(page_unknown) == _without_tokens(page_known)
    # And a code typed for the unknown address is wrong in the same words.
    wrong = await enter_code(portal, unknown, "123456")
    assert wrong.status_code == 400
    assert "The code is not right" in wrong.text


async def test_an_invalid_contact_is_an_error_on_the_form(portal: Portal) -> None:
    page = await portal.client.get("/sign-in")
    answer = await portal.client.post(
        "/sign-in", data={"contact": "not an address", "csrf_token": csrf_from(page.text)}
    )

    assert answer.status_code == 400
    assert "There is a problem" in answer.text
    assert 'href="#contact"' in answer.text
    assert "<title>Error: Sign in" in answer.text
    assert portal.codes.sent == []


async def test_a_code_expires_after_ten_minutes(portal: Portal) -> None:
    await request_code(portal, portal.client, ALICE_EMAIL)
    code = portal.codes.sent[0][2]

    portal.clock.advance(minutes=10, seconds=1)
    late = await enter_code(portal, portal.client, code)

    assert late.status_code == 400
    assert "That code has expired" in late.text
    assert "__Host-session" not in late.headers.get("set-cookie", "")


async def test_a_code_works_just_before_it_expires(portal: Portal) -> None:
    await request_code(portal, portal.client, ALICE_EMAIL)
    code = portal.codes.sent[0][2]

    portal.clock.advance(minutes=9, seconds=59)
    in_time = await enter_code(portal, portal.client, code)

    assert in_time.status_code == 303


async def test_a_code_signs_in_once(portal: Portal) -> None:
    await request_code(portal, portal.client, ALICE_EMAIL)
    code = portal.codes.sent[0][2]
    pending = portal.client.cookies["__Host-signin"]
    assert (await enter_code(portal, portal.client, code)).status_code == 303

    # Another browser replays the pending sign-in's cookie with the same code.
    replay = portal.client_for()
    replay.cookies.set("__Host-signin", pending, domain="portal.test")
    again = await enter_code(portal, replay, code)

    assert again.status_code == 400
    assert "That code has expired" in again.text
    assert "__Host-session" not in again.headers.get("set-cookie", "")


async def test_five_wrong_codes_lock_the_sign_in_out(portal: Portal) -> None:
    await request_code(portal, portal.client, ALICE_EMAIL)
    code = portal.codes.sent[0][2]
    wrong = "000000" if code != "000000" else "111111"

    answers = [await enter_code(portal, portal.client, wrong) for _ in range(5)]

    assert [a.status_code for a in answers] == [400, 400, 400, 400, 429]
    assert "4 tries left" in answers[0].text
    assert "1 try left" in answers[3].text
    assert "Too many wrong codes" in answers[4].text
    assert answers[4].headers["retry-after"] == "900"
    # Even the right code no longer works.
    right = await enter_code(portal, portal.client, code)
    assert right.status_code == 429
    assert "__Host-session" not in right.headers.get("set-cookie", "")


async def test_a_burst_of_wrong_codes_from_one_client_is_locked_out(portal: Portal) -> None:
    # Two codes each, new sign-ins each time: ten wrong codes from the client lock it out.
    for _ in range(2):
        await request_code(portal, portal.client, ALICE_EMAIL)
        for _ in range(4):
            assert (await enter_code(portal, portal.client, "999999")).status_code in (400, 429)
    await request_code(portal, portal.client, ALICE_EMAIL)
    answers = [await enter_code(portal, portal.client, "999999") for _ in range(2)]
    assert answers[-1].status_code == 429
    locked = await enter_code(portal, portal.client, portal.codes.sent[-1][2])
    assert locked.status_code == 429
    assert "Too many wrong codes" in locked.text


async def test_a_burst_of_code_requests_for_one_contact_is_rate_limited(portal: Portal) -> None:
    answers = [
        await request_code(portal, portal.client_for(client=(f"10.1.0.{n}", 1)), ALICE_EMAIL)
        for n in range(6)
    ]

    assert [a.status_code for a in answers] == [303, 303, 303, 303, 303, 429]
    assert "Too many attempts" in answers[-1].text
    assert answers[-1].headers["retry-after"] == "900"
    assert len(portal.codes.sent) == 5
    # The window slides: after 15 minutes the contact may ask again.
    portal.clock.advance(minutes=15, seconds=1)
    assert (await request_code(portal, portal.client, ALICE_EMAIL)).status_code == 303


async def test_an_unknown_contact_is_rate_limited_alike(portal: Portal) -> None:
    answers = [await request_code(portal, portal.client, UNKNOWN_EMAIL) for _ in range(6)]

    assert [a.status_code for a in answers] == [303, 303, 303, 303, 303, 429]


async def test_a_burst_from_one_client_address_is_rate_limited(portal: Portal) -> None:
    answers = [
        await request_code(portal, portal.client, f"someone{n}@example.net") for n in range(21)
    ]

    assert [a.status_code for a in answers].count(303) == 20
    assert answers[-1].status_code == 429


async def test_sign_in_starts_a_new_session_and_ends_the_old_one(portal: Portal) -> None:
    await sign_in(portal, portal.client, ALICE_EMAIL)
    first = portal.client.cookies["__Host-session"]
    stolen = portal.client_for()
    stolen.cookies.set("__Host-session", first, domain="portal.test")
    assert (await stolen.get("/")).status_code == 200

    await sign_in(portal, portal.client, ALICE_EMAIL)

    assert portal.client.cookies["__Host-session"] != first
    assert (await stolen.get("/")).status_code == 303  # the old token signs nobody in


async def test_sign_out_deletes_the_session(portal: Portal) -> None:
    await sign_in(portal, portal.client, ALICE_EMAIL)
    token = portal.client.cookies["__Host-session"]
    page = await portal.client.get("/sign-out")

    out = await portal.client.post("/sign-out", data={"csrf_token": csrf_from(page.text)})

    assert out.status_code == 303
    assert out.headers["location"] == "/signed-out"
    assert '__Host-session=""' in out.headers["set-cookie"]
    replay = portal.client_for()
    replay.cookies.set("__Host-session", token, domain="portal.test")
    home = await replay.get("/")
    assert home.status_code == 303
    assert home.headers["location"] == "/sign-in"


async def test_a_session_ends_after_30_idle_minutes(portal: Portal) -> None:
    await sign_in(portal, portal.client, ALICE_EMAIL)

    portal.clock.advance(minutes=29)
    assert (await portal.client.get("/")).status_code == 200
    portal.clock.advance(minutes=29)  # used a minute ago, so still alive
    assert (await portal.client.get("/")).status_code == 200
    portal.clock.advance(minutes=30)
    ended = await portal.client.get("/")

    assert ended.status_code == 303
    assert ended.headers["location"] == "/sign-in"


async def test_a_session_ends_12_hours_after_sign_in_however_busy(portal: Portal) -> None:
    await sign_in(portal, portal.client, ALICE_EMAIL)

    for _ in range(24):
        portal.clock.advance(minutes=29)
        assert (await portal.client.get("/")).status_code == 200
    portal.clock.advance(minutes=29)  # 12 h 5 min after sign-in
    assert (await portal.client.get("/")).status_code == 303


async def test_a_page_that_needs_a_session_sends_the_browser_to_sign_in(portal: Portal) -> None:
    for path in ("/", "/events", "/consents", "/data-use", "/preferences"):
        page = await portal.client.get(path)
        assert page.status_code == 303, path
        assert page.headers["location"] == "/sign-in", path


@pytest.mark.parametrize(
    ("typed", "channel", "value"),
    [
        ("Alice.Example@Example.COM", "email", "Alice.Example@example.com"),
        (" 07700 900123 ", "sms", ALICE_PHONE),
        ("+44 7700 900123", "sms", ALICE_PHONE),
    ],
)
def test_contacts_are_normalised(typed: str, channel: str, value: str) -> None:
    contact = parse_contact(typed)

    assert contact is not None
    assert (contact.channel, contact.value) == (channel, value)


@pytest.mark.parametrize("typed", ["", "alice", "020 7946 0123", "alice@", "x" * 400])
def test_what_is_neither_an_address_nor_a_mobile_is_refused(typed: str) -> None:
    assert parse_contact(typed) is None
