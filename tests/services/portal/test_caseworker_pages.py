"""The caseworker console's pages in the portal's app: only a caseworker session opens them
(a resident gets 403), sign-in answers alike whatever is wrong and locks after five tries,
the queue and a case as the queue gives them, and every action needs the session's CSRF
token and the caseworker's own claim; each is on the ledger about the residents it concerns
(the real consent API app, in one test)."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.consent import EntryKind
from services.common.sharetokens import ShareTokenIssuer
from services.consent.api import build_api
from services.consent.auth import ApiAuth
from services.consent.gate import ConsentGate
from services.consent.policy import load_policy
from services.consent.store import ConsentStore
from services.portal.caseworker_ledger import ConsentCaseworkerLedger
from services.portal.caseworker_pages import case_href, task_text
from tests.services.portal.caseworker_fakes import (
    CONTRADICTION,
    DEATH,
    DECEASED,
    FIRST,
    MOVE,
    PASSWORD,
    SECOND,
    UI,
    Console,
    FakeLedger,
    console_with,
)
from tests.services.portal.portal_fakes import (
    ALICE_EMAIL,
    csrf_from,
    sign_in,
)


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    async with console_with(tmp_path, FakeLedger()) as made:
        yield made


async def caseworker_signs_in(client: httpx.AsyncClient, username: str) -> httpx.Response:
    page = await client.get("/caseworker/sign-in")
    assert page.status_code == 200
    return await client.post(
        "/caseworker/sign-in",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )


async def token_on(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.status_code
    return csrf_from(page.text)


async def post(client: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    """A form of the case page, sent with the session's token (the sign-out page carries it
    always; the case page only when it has a button for this caseworker)."""
    workflow_id, task, action = path.split("|")
    token = await token_on(client, "/sign-out")
    return await client.post(
        case_href(workflow_id, task, action), data={"csrf_token": token, **fields}
    )


MATCH = f"{MOVE}|match:0"
CONTRA = f"{DEATH}|{CONTRADICTION}"


# --- who may open the pages --------------------------------------------------------------


async def test_signed_out_goes_to_the_caseworker_sign_in(console: Console) -> None:
    client = console.portal.client
    for path in ("/caseworker", case_href(MOVE, "match:0")):
        response = await client.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/caseworker/sign-in")


async def test_a_resident_session_cannot_open_the_console(console: Console) -> None:
    client = console.portal.client
    await sign_in(console.portal, client, ALICE_EMAIL)
    resident_token = await token_on(client, "/preferences")
    assert (await client.get("/caseworker")).status_code == 403
    assert (await client.get(case_href(MOVE, "match:0"))).status_code == 403
    claim = await client.post(
        case_href(MOVE, "match:0", "claim"), data={"csrf_token": resident_token}
    )
    assert claim.status_code == 403
    assert await console.caseworkers.claim_of(MOVE, "match:0") is None
    assert console.ledger.entries == []


# --- sign-in -------------------------------------------------------------------------------


async def test_sign_in_answers_alike_and_starts_a_caseworker_session(console: Console) -> None:
    client = console.portal.client
    page = await client.get("/caseworker/sign-in")
    token = csrf_from(page.text)
    for username, password in (("kim", "not the password"), ("nobody", PASSWORD)):
        refused = await client.post(
            "/caseworker/sign-in",
            data={"username": username, "password": password, "csrf_token": token},
        )
        assert refused.status_code == 400
        assert "Enter a correct username and password" in refused.text
        assert password not in refused.text
    signed_in = await caseworker_signs_in(client, "KIM")
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/caseworker")
    queue = await client.get("/caseworker")
    assert queue.status_code == 200
    assert "Signed in as Kim Caseworker" in queue.text
    # Signed in, the sign-in page sends them on.
    assert (await client.get("/caseworker/sign-in")).headers["location"] == "/caseworker"


async def test_five_wrong_passwords_lock_sign_in(console: Console) -> None:
    client = console.portal.client
    token = csrf_from((await client.get("/caseworker/sign-in")).text)
    for n in range(5):
        wrong = await client.post(
            "/caseworker/sign-in",
            data={"username": "kim", "password": f"wrong {n}", "csrf_token": token},
        )
        assert wrong.status_code == 400
    locked = await client.post(
        "/caseworker/sign-in", data={"username": "kim", "password": PASSWORD, "csrf_token": token}
    )
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "900"
    assert "Wait 15 minutes" in locked.text


async def test_a_disabled_account_is_signed_out_of_the_console(console: Console) -> None:
    client = console.portal.client
    await caseworker_signs_in(client, "kim")
    await console.caseworkers.set_active("kim", False)
    response = await client.get("/caseworker")
    assert (response.status_code, response.headers["location"]) == (303, "/caseworker/sign-in")


# --- the queue and a case ------------------------------------------------------------------


async def test_the_queue_shows_each_case_as_the_queue_orders_them(console: Console) -> None:
    client = console.portal.client
    await console.caseworkers.claim(console.lee.id, MOVE, "match:0")
    await caseworker_signs_in(client, "kim")
    page = (await client.get("/caseworker")).text
    rows = re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', page, re.S)[1:]
    assert len(rows) == 2
    assert "Death" in rows[0]
    assert "Escalated" in rows[0]
    assert "Contradicts an earlier report of the same event" in rows[0]
    assert "Not claimed" in rows[0]
    # The corrected run's ID and the task keep their slashes inside their segments.
    assert (
        f'href="/caseworker/cases/lifeevent-{"d" * 32}%2Fcorrected-1/'
        f'contradiction%3Alifeevent-{"e" * 32}%2Fcorrected-2"'
    ) in rows[0]
    assert "Change of address" in rows[1]
    assert "Decide who person 1 in the event is" in rows[1]
    assert "Lee Caseworker" in rows[1]
    assert "20 February 2026 at 10:30am" in rows[1]


async def test_a_doubtful_match_shows_the_person_and_candidates(console: Console) -> None:
    client = console.portal.client
    await caseworker_signs_in(client, "kim")
    page = await client.get(case_href(MOVE, "match:0"))
    assert page.status_code == 200
    text = page.text
    assert "Who is person 1 in the event?" in text
    assert text.count("Matches</strong>") == 4  # 2 fields of each candidate
    assert "Open in the Temporal UI" in text
    assert f"{UI}/namespaces/default/workflows/{MOVE}/run-1/history" in text
    assert FIRST in text
    assert SECOND in text
    # Not claimed: the only action is to claim.
    assert re.search(r">\s*Claim\s*</button>", text)
    assert "Link to this resident" not in text
    assert (await client.get(case_href(MOVE, "match:9"))).status_code == 404
    assert (await client.get("/caseworker/cases/only-one-part")).status_code == 404


# --- acting -------------------------------------------------------------------------------


async def test_a_post_without_the_session_token_is_refused(console: Console) -> None:
    client = console.portal.client
    await caseworker_signs_in(client, "kim")
    for data in ({}, {"csrf_token": "not-the-token"}):
        response = await client.post(case_href(MOVE, "match:0", "claim"), data=data)
        assert response.status_code == 403
    other = console.portal.client_for(client=("10.0.0.2", 1))
    await caseworker_signs_in(other, "lee")
    lees_token = await token_on(other, "/sign-out")
    stolen = await client.post(case_href(MOVE, "match:0", "claim"), data={"csrf_token": lees_token})
    assert stolen.status_code == 403
    assert await console.caseworkers.claim_of(MOVE, "match:0") is None
    assert console.ledger.entries == []


async def test_claim_then_link_each_on_the_ledger(console: Console) -> None:
    kim, lee = console.portal.client, console.portal.client_for(client=("10.0.0.2", 1))
    await caseworker_signs_in(kim, "kim")
    await caseworker_signs_in(lee, "lee")

    claimed = await post(kim, f"{MATCH}|claim")
    assert (claimed.status_code, claimed.headers["location"]) == (303, case_href(MOVE, "match:0"))
    case_page = (await kim.get(case_href(MOVE, "match:0"))).text
    assert "Link to this resident" in case_page
    assert "Create a new resident" in case_page

    # Lee sees who holds it, cannot claim it, and cannot decide.
    assert "Kim Caseworker claimed this task" in (await lee.get(case_href(MOVE, "match:0"))).text
    assert (await post(lee, f"{MATCH}|claim")).status_code == 409
    refused = await post(lee, f"{MATCH}|decide", decision="link", resident=FIRST)
    assert refused.status_code == 403
    assert "Claim this task before you act on it" in refused.text
    assert (await post(lee, f"{MATCH}|release")).status_code == 403
    assert console.queue.decided == []

    # A resident the page did not show is refused, whatever the form says.
    assert (
        await post(kim, f"{MATCH}|decide", decision="link", resident=DECEASED)
    ).status_code == 400
    assert console.queue.decided == []

    linked = await post(kim, f"{MATCH}|decide", decision="link", resident=SECOND)
    assert (linked.status_code, linked.headers["location"]) == (303, "/caseworker?done=linked")
    assert console.queue.decided == [(MOVE, "match:0", "link", SECOND)]
    assert await console.caseworkers.claim_of(MOVE, "match:0") is None
    assert (
        "The person was linked to the resident you chose."
        in (await kim.get(linked.headers["location"])).text
    )
    # Nobody was matched yet: the candidates shown, and the one linked.
    assert console.ledger.entries == [
        (console.kim.id, "claimed", MOVE, "match:0", (FIRST, SECOND)),
        (console.kim.id, "linked", MOVE, "match:0", (FIRST, SECOND, SECOND)),
    ]


async def test_create_release_and_a_refusal(console: Console) -> None:
    client = console.portal.client
    await caseworker_signs_in(client, "kim")
    await post(client, f"{MATCH}|claim")
    released = await post(client, f"{MATCH}|release")
    assert released.headers["location"] == "/caseworker?done=released"
    assert await console.caseworkers.claim_of(MOVE, "match:0") is None

    await post(client, f"{MATCH}|claim")
    console.queue.refuse_with = "No identity decision is waiting for that mover."
    refused = await post(client, f"{MATCH}|decide", decision="create")
    assert refused.status_code == 409
    assert "No identity decision is waiting for that mover." in refused.text
    console.queue.refuse_with = None
    created = await post(client, f"{MATCH}|decide", decision="create")
    assert created.headers["location"] == "/caseworker?done=created"
    assert console.queue.decided[-1] == (MOVE, "match:0", "create", None)
    assert [e[1] for e in console.ledger.entries] == ["claimed", "released", "claimed", "created"]
    # A decision not taken is not on the ledger.
    assert len(console.queue.decided) == 2


async def test_a_task_marked_as_dealt_with(console: Console) -> None:
    client = console.portal.client
    await caseworker_signs_in(client, "kim")
    assert (await post(client, f"{CONTRA}|claim")).status_code == 303
    page = (await client.get(case_href(DEATH, CONTRADICTION))).text
    assert "Mark as dealt with" in page
    # Not an identity decision: nothing to link.
    assert (await post(client, f"{CONTRA}|decide", decision="create")).status_code == 400
    done = await post(client, f"{CONTRA}|resolve")
    assert done.headers["location"] == "/caseworker?done=resolved"
    assert console.queue.resolved == [(DEATH, CONTRADICTION)]
    assert console.ledger.entries == [
        (console.kim.id, "claimed", DEATH, CONTRADICTION, (DECEASED,)),
        (console.kim.id, "resolved", DEATH, CONTRADICTION, (DECEASED,)),
    ]


async def test_a_claim_the_ledger_cannot_record_is_let_go(console: Console) -> None:
    client = console.portal.client
    await caseworker_signs_in(client, "kim")
    console.ledger.down = True
    response = await post(client, f"{CONTRA}|claim")
    assert response.status_code == 503
    assert "could not be claimed just now" in response.text
    assert await console.caseworkers.claim_of(DEATH, CONTRADICTION) is None


# --- on the real consent ledger -----------------------------------------------------------


async def test_the_residents_read_the_caseworkers_actions_on_their_ledger(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    async with await ConsentStore.open(f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}") as store:
        gate = ConsentGate(
            store,
            load_policy(),
            ShareTokenIssuer(Ed25519PrivateKey.generate(), ttl=timedelta(minutes=5)),
            topic="consent.v1",
        )
        api = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_api(gate, ApiAuth(key))),
            base_url="http://consent",
        )
        async with api, console_with(tmp_path, ConsentCaseworkerLedger(api, key)) as console:
            client = console.portal.client
            await caseworker_signs_in(client, "kim")
            await post(client, f"{MATCH}|claim")
            await post(client, f"{MATCH}|decide", decision="link", resident=FIRST)
            await post(client, f"{CONTRA}|claim")
            await post(client, f"{CONTRA}|resolve")

        def seen(resident: str) -> Any:
            return gate.data_use(resident)

        first = [(e.kind, e.recipient, e.outcome, e.reason) for e in (await seen(FIRST)).entries]
        assert first == [
            (EntryKind.CASEWORKER, console.kim.id, "claimed", "identity_match"),
            (EntryKind.CASEWORKER, console.kim.id, "linked", "identity_match"),
        ]
        second = [e.outcome for e in (await seen(SECOND)).entries]
        assert second == ["claimed", "linked"]  # shown to the caseworker, not chosen
        deceased = [(e.outcome, e.reason) for e in (await seen(DECEASED)).entries]
        assert deceased == [
            ("claimed", "contradicting_report"),
            ("resolved", "contradicting_report"),
        ]


@pytest.mark.parametrize(
    ("task", "text"),
    [
        ("match:0", "Decide who person 1 in the event is"),
        ("confirm:council-tax-discount", "No answer from the resident: council-tax-discount"),
        ("contradiction:lifeevent-1", "Contradicts an earlier report of the same event"),
        (
            "contact:res_person000000000001",
            "Contact the person left in the household before anything else is done",
        ),
        ("call-me", "The resident asked for a person to call them"),
        ("benefits", "Could not be done automatically: benefits"),
    ],
)
def test_each_kind_of_task_in_words(task: str, text: str) -> None:
    assert task_text(task) == text
