"""The caseworker console's adapters against the real things: the candidates of a doubtful
match from the resident index's store (seeded through the index's own matching), and the
ledger adapter against the real consent API app (a real gate on SQLite), retries included."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from contracts.consent import EntryKind
from contracts.residents import PersonDetails
from deploy.caseworker_adapters import IndexCandidates, caseworker_console
from deploy.local.stack import StackConfig
from services.common.database import make_engine
from services.common.sharetokens import ShareTokenIssuer
from services.consent.api import build_api
from services.consent.auth import ApiAuth
from services.consent.gate import ConsentGate
from services.consent.policy import load_policy
from services.consent.store import ConsentStore
from services.portal.caseworker_ledger import ConsentCaseworkerLedger, LedgerUnavailable
from services.portal.ports import Candidate
from services.portal.queue import QueueUnavailable
from services.residents.index import ResidentIndex
from services.residents.store import ResidentStore
from tests.services.portal.portal_fakes import csrf_from, serve, settings_for

CASEWORKER = "cwk_" + "c3" * 16
WORKFLOW = "lifeevent-0123456789abcdef0123456789abcdef/corrected-1"
HOME = {
    "lines": ["7 Example Way"],
    "town": "Sampleford",
    "postcode": "YO9 8WY",
    "uprn": "999000000007",
}


def person(**fields: Any) -> PersonDetails:
    return PersonDetails.model_validate(fields)


# --- candidates from the resident index ---------------------------------------------------


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[ResidentIndex]:
    numbers = iter(range(1, 100))
    async with await ResidentStore.open(
        f"sqlite+aiosqlite:///{tmp_path / 'residents.db'}"
    ) as store:
        yield ResidentIndex(store, new_key=lambda: f"res_Seeded{next(numbers):014d}")


async def seed(index: ResidentIndex, *people: PersonDetails) -> None:
    for one in people:
        [result] = await index.match_people([one])
        assert result.outcome in ("created", "matched")


async def test_each_candidate_with_what_the_index_holds_and_what_agrees(
    index: ResidentIndex,
) -> None:
    await seed(
        index,
        # 1: known under two spellings (the second added by a match on her NI number), at
        # the same UPRN as the event says but written differently
        person(
            name={"given_names": "Zoë", "family_name": "Example-Smith"},
            date_of_birth="1975-05-05",
            national_insurance_number="CE000000A",
            address={**HOME, "lines": ["Flat 7, Example Way"], "postcode": "YO9 8WZ"},
        ),
        person(
            name={"given_names": "Zoe Ann", "family_name": "Example-Smith"},
            national_insurance_number="CE000000A",
        ),
        # 2: another date of birth, an NHS number, the same address by postcode and lines
        person(
            name={"given_names": "ZOE", "family_name": "example-smith"},
            date_of_birth="1976-06-06",
            nhs_number="9990000026",
            address={**HOME, "uprn": None, "lines": ["7  example way"]},
        ),
    )
    event_person = person(
        name={"given_names": "Zoe", "family_name": "Example-Smith"},
        date_of_birth="1975-05-05",
        nhs_number="9990000034",
        national_insurance_number="CE000000A",
        address=HOME,
    )
    lookup = IndexCandidates(index.store)

    found = await lookup.candidates(
        event_person,
        ["res_Seeded00000000000002", "res_Unknown000000000000", "res_Seeded00000000000001"],
    )

    assert found == [
        Candidate(
            resident="res_Seeded00000000000002",
            fields={
                "given_names": "ZOE",
                "family_name": "example-smith",
                "date_of_birth": "1976-06-06",
                "address": "7  example way, Sampleford, YO9 8WY",
                "nhs_number": "9990000026",
            },
            matched=frozenset({"given_names", "family_name", "address"}),
        ),
        Candidate(
            resident="res_Seeded00000000000001",
            fields={
                "given_names": "Zoë / Zoe Ann",
                "family_name": "Example-Smith",
                "date_of_birth": "1975-05-05",
                "address": "Flat 7, Example Way, Sampleford, YO9 8WZ",
                "national_insurance_number": "CE000000A",
            },
            # "Zoë" is not "Zoe" folded (only a could-be), and "Zoe Ann" is not "Zoe"
            matched=frozenset(
                {"family_name", "date_of_birth", "address", "national_insurance_number"}
            ),
        ),
    ]
    assert await lookup.candidates(event_person, []) == []


async def test_a_field_the_event_does_not_give_never_agrees(index: ResidentIndex) -> None:
    await seed(index, person(name={"given_names": "Ada", "family_name": "Testworth"}))
    [only] = await IndexCandidates(index.store).candidates(
        person(name={"family_name": "Testworth"}), ["res_Seeded00000000000001"]
    )
    assert only.fields == {"given_names": "Ada", "family_name": "Testworth"}
    assert only.matched == frozenset({"family_name"})


# --- the ledger, through the real consent API ----------------------------------------------


@pytest.fixture
async def gate(tmp_path: Path) -> AsyncIterator[ConsentGate]:
    async with await ConsentStore.open(f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}") as store:
        issuer = ShareTokenIssuer(Ed25519PrivateKey.generate(), ttl=timedelta(minutes=5))
        yield ConsentGate(store, load_policy(), issuer, topic="consent.v1")


KEY = secrets.token_bytes(32)


class FlakyTransport(httpx.AsyncBaseTransport):
    """The consent API behind a network that loses the first `lose` requests' answers
    (after the API has handled them: the worst case for a retry)."""

    def __init__(self, app: Any, lose: int) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.lose = lose
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        response = await self.inner.handle_async_request(request)
        if self.lose > 0:
            self.lose -= 1
            raise httpx.ReadError("connection reset", request=request)
        return response


@pytest.fixture
def ledger_over(gate: ConsentGate) -> Any:
    def make(lose: int = 0, key: bytes = KEY) -> tuple[ConsentCaseworkerLedger, FlakyTransport]:
        transport = FlakyTransport(build_api(gate, ApiAuth(KEY)), lose)
        client = httpx.AsyncClient(transport=transport, base_url="http://consent")
        return ConsentCaseworkerLedger(client, key), transport

    return make


async def test_an_action_is_on_the_ledger_of_each_resident_once(
    gate: ConsentGate, ledger_over: Any
) -> None:
    ledger, _ = ledger_over()
    first, second = "res_Resident0000000000001", "res_Resident0000000000002"

    await ledger.record(CASEWORKER, "linked", WORKFLOW, "match:0", [first, second, first])

    for resident in (first, second):
        [entry] = (await gate.data_use(resident)).entries
        assert entry.kind is EntryKind.CASEWORKER
        assert (entry.recipient, entry.outcome, entry.reason) == (
            CASEWORKER,
            "linked",
            "identity_match",
        )
        assert entry.ref.startswith("cwa_")
    assert await gate.store.ledger_size() == 2


async def test_a_lost_answer_is_tried_again_and_recorded_once(
    gate: ConsentGate, ledger_over: Any
) -> None:
    ledger, transport = ledger_over(lose=2)
    resident = "res_Resident0000000000003"
    await ledger.record(CASEWORKER, "claimed", WORKFLOW, "survivor-contact", [resident])
    assert transport.sent == 3
    [entry] = (await gate.data_use(resident)).entries
    assert (entry.outcome, entry.reason) == ("claimed", "handed_on")


async def test_unreachable_or_refused_is_unavailable(gate: ConsentGate, ledger_over: Any) -> None:
    resident = "res_Resident0000000000004"
    lost, transport = ledger_over(lose=5)
    with pytest.raises(LedgerUnavailable, match="ReadError"):
        await lost.record(CASEWORKER, "released", WORKFLOW, "match:0", [resident])
    assert transport.sent == 3
    wrong_key, transport = ledger_over(key=secrets.token_bytes(32))
    with pytest.raises(LedgerUnavailable, match="status_401"):
        await wrong_key.record(CASEWORKER, "released", WORKFLOW, "match:0", [resident])
    assert transport.sent == 1  # a refusal is not tried again
    # The lost ones reached the API, once: the action ID made the repeats nothing.
    assert [e.outcome for e in (await gate.data_use(resident)).entries] == ["released"]


async def test_an_action_about_nobody_yet_is_not_sent(gate: ConsentGate, ledger_over: Any) -> None:
    ledger, transport = ledger_over()
    await ledger.record(CASEWORKER, "claimed", WORKFLOW, "match:0", [])
    assert transport.sent == 0
    with pytest.raises(ValueError, match="unknown caseworker action"):
        await ledger.record(
            CASEWORKER, "peeked", WORKFLOW, "match:0", ["res_Resident0000000000005"]
        )
    assert await gate.store.ledger_size() == 0


# --- the console put together ----------------------------------------------------------


@pytest.mark.stack
async def test_the_console_put_together_serves_its_pages(
    tmp_path: Path, stack: StackConfig
) -> None:
    settings = settings_for(
        tmp_path,
        temporal_address=stack.temporal_address,
        temporal_namespace=stack.temporal_namespace,
        payload_keys=SecretStr(os.environ["LIFEEVENTS_PAYLOAD_KEYS"]),
    )
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'portal.db'}")
    try:
        async with caseworker_console(
            settings, engine, consent_api_url="http://consent.invalid", consent_api_key=KEY
        ) as console:
            assert set(console.unavailable) == {QueueUnavailable, LedgerUnavailable}
            await console.caseworkers.add("kim", "Kim Caseworker", "a long synthetic passphrase")
            async with serve(
                tmp_path, settings, routers=[console.router], unavailable=console.unavailable
            ) as portal:
                client = portal.client
                page = await client.get("/caseworker/sign-in")
                signed_in = await client.post(
                    "/caseworker/sign-in",
                    data={
                        "username": "kim",
                        "password": "a long synthetic passphrase",
                        "csrf_token": csrf_from(page.text),
                    },
                )
                assert signed_in.headers["location"] == "/caseworker"
                queue = await client.get("/caseworker")
                assert queue.status_code == 200
                assert "Caseworker queue" in queue.text
    finally:
        await engine.dispose()
