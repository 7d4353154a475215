"""GET /ledger/verification: whether the ledger's chain holds, for the portal to show, to any
authenticated caller and to nobody else; one walk reused for a while, not one per call."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from contracts.consent import ConsentGrant
from services.consent.api import build_api
from services.consent.auth import ApiAuth, Role
from services.consent.gate import ConsentGate
from services.consent.store import ledger

AUTH = ApiAuth(secrets.token_bytes(32))


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://consent")


def bearer(subject: str, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {AUTH.mint(subject, role)}"}


async def give_two(
    gate: ConsentGate, resident: str, make_grant: Callable[..., ConsentGrant]
) -> None:
    consent = await gate.give_consent(make_grant(resident))
    await gate.withdraw_consent(consent.consent_id)


async def test_a_sound_ledger_verifies_for_a_resident_and_a_service_and_says_nothing_else(
    sqlite_gate: ConsentGate, resident: str, make_grant: Callable[..., ConsentGrant]
) -> None:
    await give_two(sqlite_gate, resident, make_grant)
    async with client_of(build_api(sqlite_gate, AUTH)) as client:
        as_resident = await client.get(
            "/ledger/verification", headers=bearer(resident, Role.RESIDENT)
        )
        as_service = await client.get(
            "/ledger/verification", headers=bearer("portal", Role.SERVICE)
        )
    assert as_resident.status_code == 200
    assert as_resident.json() == {"verified": True, "entries": 2}
    assert as_service.json() == {"verified": True, "entries": 2}


async def test_no_token_no_answer(sqlite_gate: ConsentGate) -> None:
    async with client_of(build_api(sqlite_gate, AUTH)) as client:
        missing = await client.get("/ledger/verification")
        forged_token = ApiAuth(secrets.token_bytes(32)).mint("portal", Role.SERVICE)
        forged = await client.get(
            "/ledger/verification", headers={"Authorization": f"Bearer {forged_token}"}
        )
    assert (missing.status_code, forged.status_code) == (401, 401)


async def test_an_altered_entry_fails_verification(
    sqlite_gate: ConsentGate, resident: str, make_grant: Callable[..., ConsentGrant]
) -> None:
    await give_two(sqlite_gate, resident, make_grant)
    app = build_api(sqlite_gate, AUTH, verification_max_age=timedelta(0))
    async with sqlite_gate.store.engine.begin() as conn:
        await conn.execute(update(ledger).where(ledger.c.seq == 1).values(recipient="libraries"))
    async with client_of(app) as client:
        seen = await client.get("/ledger/verification", headers=bearer("portal", Role.SERVICE))
    # The walk stops at the first bad entry: it counts the entries before it.
    assert seen.json() == {"verified": False, "entries": 0}


async def test_one_walk_serves_the_calls_of_the_next_minute(
    sqlite_gate: ConsentGate, resident: str, make_grant: Callable[..., ConsentGrant]
) -> None:
    await give_two(sqlite_gate, resident, make_grant)
    me = bearer(resident, Role.RESIDENT)
    async with client_of(build_api(sqlite_gate, AUTH)) as client:
        first = (await client.get("/ledger/verification", headers=me)).json()
        await give_two(sqlite_gate, resident, make_grant)
        again = (await client.get("/ledger/verification", headers=me)).json()
    assert first == again == {"verified": True, "entries": 2}
    async with client_of(build_api(sqlite_gate, AUTH, verification_max_age=timedelta(0))) as fresh:
        assert (await fresh.get("/ledger/verification", headers=me)).json() == {
            "verified": True,
            "entries": 4,
        }
