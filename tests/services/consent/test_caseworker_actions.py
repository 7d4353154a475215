"""A caseworker's action on a life event is on the ledger of each resident it concerns: who
(a pseudonymous ID), what (the action), why (the kind of task), once per action ID, in the
hash chain like every entry; through the gate and through the API (services only)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from contracts.consent import CaseworkerAction, EntryKind, LawfulBasis
from services.consent.api import build_api
from services.consent.auth import ApiAuth, Role
from services.consent.gate import ConsentGate, GateError
from services.consent.ledger import verify_ledger

CASEWORKER = "cwk_" + "a1" * 16
OTHER_CASEWORKER = "cwk_" + "b2" * 16
WORKFLOW = "lifeevent-0123456789abcdef0123456789abcdef"
AUTH = ApiAuth(secrets.token_bytes(32))


def action_id() -> str:
    return "cwa_" + secrets.token_hex(16)


def action(residents: tuple[str, ...], **fields: Any) -> CaseworkerAction:
    values: dict[str, Any] = {
        "action_id": action_id(),
        "caseworker": CASEWORKER,
        "action": "claimed",
        "workflow_id": WORKFLOW,
        "task": "match:0",
        "residents": residents,
        **fields,
    }
    return CaseworkerAction.model_validate(values)


async def test_one_entry_per_resident_names_the_caseworker_action_and_task(
    gate: ConsentGate, residents: Callable[[], str]
) -> None:
    first, second = residents(), residents()
    linked = action((first, second, first), action="linked")

    recorded = await gate.record_caseworker_action(linked)

    assert recorded.action_id == linked.action_id
    assert recorded.ledger_seqs == (1, 2)  # the resident named twice has one entry
    for resident, seq in ((first, 1), (second, 2)):
        [entry] = (await gate.data_use(resident)).entries
        assert entry.seq == seq
        assert entry.kind is EntryKind.CASEWORKER
        assert entry.recipient == CASEWORKER
        assert entry.purpose == "caseworker-task"
        assert entry.outcome == "linked"
        assert entry.reason == "identity_match"
        assert entry.ref == linked.action_id
        assert entry.data_categories == []
        assert entry.lawful_basis is LawfulBasis.PUBLIC_TASK
        # Nothing was handed over: it is not among what the resident's data was shared as.
        assert (await gate.data_use(resident)).received == []
    assert (await verify_ledger(gate.store.engine)).ok


@pytest.mark.parametrize(
    ("task", "reason"),
    [
        ("match:2", "identity_match"),
        ("confirm:library-card", "resident_confirmation"),
        (
            "contradiction:lifeevent-00000000000000000000000000000001/corrected-1",
            "contradicting_report",
        ),
        ("survivor-contact", "handed_on"),
        ("undo-council-tax", "handed_on"),
    ],
)
async def test_the_reason_is_the_kind_of_task(
    sqlite_gate: ConsentGate, resident: str, task: str, reason: str
) -> None:
    await sqlite_gate.record_caseworker_action(action((resident,), task=task, action="resolved"))
    [entry] = (await sqlite_gate.data_use(resident)).entries
    assert (entry.outcome, entry.reason) == ("resolved", reason)


async def test_a_repeated_action_is_recorded_once(
    sqlite_gate: ConsentGate, residents: Callable[[], str]
) -> None:
    first, second = residents(), residents()
    claimed = action((first, second))
    answer = await sqlite_gate.record_caseworker_action(claimed)
    again = await sqlite_gate.record_caseworker_action(claimed)
    assert again == answer
    assert again.ledger_seqs == (1, 2)
    assert await sqlite_gate.store.ledger_size() == 2


async def test_an_action_id_used_for_another_action_is_refused(
    sqlite_gate: ConsentGate, resident: str
) -> None:
    claimed = action((resident,))
    await sqlite_gate.record_caseworker_action(claimed)
    reused = claimed.model_copy(update={"caseworker": OTHER_CASEWORKER})
    with pytest.raises(GateError) as refused:
        await sqlite_gate.record_caseworker_action(reused)
    assert (refused.value.code, refused.value.status) == ("action_id_reused", 409)
    assert await sqlite_gate.store.ledger_size() == 1


async def test_actions_interleave_with_shares_in_one_chain(
    sqlite_gate: ConsentGate, resident: str, make_request: Callable[..., Any]
) -> None:
    await sqlite_gate.decide_share(
        make_request(resident, "council-tax-liability", "council-tax", ["identity", "address"])
    )
    await sqlite_gate.record_caseworker_action(action((resident,)))
    await sqlite_gate.record_caseworker_action(action((resident,), action="released"))
    kinds = [
        (e.seq, e.kind.value, e.outcome) for e in (await sqlite_gate.data_use(resident)).entries
    ]
    assert kinds == [
        (1, "decision", "allow"),
        (2, "caseworker", "claimed"),
        (3, "caseworker", "released"),
    ]
    verification = await verify_ledger(sqlite_gate.store.engine)
    assert verification.ok
    assert verification.entries == 3


# --- the API --------------------------------------------------------------------------


@pytest.fixture
async def client(sqlite_gate: ConsentGate) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_api(sqlite_gate, AUTH))
    async with httpx.AsyncClient(transport=transport, base_url="http://consent") as client:
        yield client


def bearer(subject: str, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {AUTH.mint(subject, role)}"}


async def test_the_api_records_an_action_for_a_service(
    client: httpx.AsyncClient, sqlite_gate: ConsentGate, resident: str
) -> None:
    body = action((resident,), action="created").model_dump(mode="json")
    response = await client.post(
        "/caseworker-actions", json=body, headers=bearer("portal", Role.SERVICE)
    )
    assert response.status_code == 201, response.text
    assert response.json() == {"action_id": body["action_id"], "ledger_seqs": [1]}
    # The resident reads it on their ledger, through the API as themselves.
    ledger = await client.get(
        f"/residents/{resident}/ledger", headers=bearer(resident, Role.RESIDENT)
    )
    [entry] = ledger.json()["entries"]
    assert (entry["kind"], entry["recipient"], entry["outcome"]) == (
        "caseworker",
        CASEWORKER,
        "created",
    )


async def test_the_api_refuses_residents_and_strangers(
    client: httpx.AsyncClient, sqlite_gate: ConsentGate, resident: str
) -> None:
    body = action((resident,)).model_dump(mode="json")
    as_resident = await client.post(
        "/caseworker-actions", json=body, headers=bearer(resident, Role.RESIDENT)
    )
    assert (as_resident.status_code, as_resident.json()) == (403, {"detail": "services_only"})
    anonymous = await client.post("/caseworker-actions", json=body)
    assert anonymous.status_code == 401
    forged = ApiAuth(secrets.token_bytes(32)).mint("portal", Role.SERVICE)
    forging = await client.post(
        "/caseworker-actions", json=body, headers={"Authorization": f"Bearer {forged}"}
    )
    assert forging.status_code == 401
    assert await sqlite_gate.store.ledger_size() == 0


async def test_the_api_refuses_an_action_about_nobody_or_a_reused_id(
    client: httpx.AsyncClient, resident: str
) -> None:
    service = bearer("portal", Role.SERVICE)
    body = action((resident,)).model_dump(mode="json")
    nobody = await client.post(
        "/caseworker-actions", json={**body, "residents": []}, headers=service
    )
    assert nobody.status_code == 422
    assert (await client.post("/caseworker-actions", json=body, headers=service)).status_code == 201
    reused = await client.post(
        "/caseworker-actions", json={**body, "action": "released"}, headers=service
    )
    assert (reused.status_code, reused.json()) == (409, {"detail": "action_id_reused"})
