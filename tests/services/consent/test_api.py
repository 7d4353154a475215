"""The HTTP API: authentication, per-object authorisation (resident A never sees resident B's
consents or ledger), the portal's flow end to end, and a fuzz run from the OpenAPI document."""

from __future__ import annotations

import asyncio
import atexit
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    positive_data_acceptance,
    unsupported_method,
)
from sqlalchemy.pool import NullPool

from contracts.consent import ConsentGrant
from contracts.shares import data_hash
from services.common.sharetokens import ShareTokenIssuer, ShareTokenVerifier
from services.consent.api import build_api
from services.consent.auth import ApiAuth, Role
from services.consent.gate import ConsentGate
from services.consent.policy import load_policy
from services.consent.store import ConsentStore

AUTH = ApiAuth(secrets.token_bytes(32))
DATA = {"case_ref": "CASE-0100", "flags": ["synthetic"]}


@pytest.fixture
def api(sqlite_gate: ConsentGate) -> FastAPI:
    return build_api(sqlite_gate, AUTH)


@pytest.fixture
async def client(api: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://consent") as client:
        yield client


def bearer(subject: str, role: Role = Role.RESIDENT) -> dict[str, str]:
    return {"Authorization": f"Bearer {AUTH.mint(subject, role)}"}


SERVICE = bearer("bereavement-support", Role.SERVICE)


def decision_body(resident: str, categories: list[str] | None = None) -> dict[str, Any]:
    return {
        "resident": resident,
        "purpose": "bereavement-support-referral",
        "recipient": "bereavement-support",
        "data_categories": categories or ["identity", "death"],
        "data_hash": data_hash(DATA),
    }


async def test_every_route_but_health_and_the_key_needs_a_token(
    client: httpx.AsyncClient, resident: str
) -> None:
    assert (await client.get("/health")).status_code == 200
    key = await client.get("/share-token-key")
    assert key.json()["alg"] == "EdDSA"
    assert (await client.get(f"/residents/{resident}/ledger")).status_code == 401
    forged = ApiAuth(secrets.token_bytes(32)).mint(resident, Role.RESIDENT)
    response = await client.get(
        f"/residents/{resident}/ledger", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid_token"}
    # A resident token whose subject is not a pseudonymous key is refused outright.
    odd = {"Authorization": f"Bearer {AUTH.mint('Jane Example', Role.RESIDENT)}"}
    assert (await client.get(f"/residents/{resident}/ledger", headers=odd)).status_code == 401


async def test_the_portal_flow_from_consent_to_withdrawal(
    client: httpx.AsyncClient,
    sqlite_gate: ConsentGate,
    resident: str,
    make_grant: Callable[..., ConsentGrant],
) -> None:
    me = bearer(resident)
    needs = await client.post("/decisions", json=decision_body(resident), headers=SERVICE)
    assert needs.status_code == 200
    assert needs.json()["decision"] == "needs_consent"

    given = await client.post(
        "/consents", json=make_grant(resident).model_dump(mode="json"), headers=me
    )
    assert given.status_code == 201, given.text
    consent_id = given.json()["consent_id"]

    allowed = (
        await client.post("/decisions", json=decision_body(resident), headers=SERVICE)
    ).json()
    assert allowed["decision"] == "allow"
    ShareTokenVerifier(sqlite_gate.public_key, recipient="bereavement-support").verify(
        allowed["share_token"], DATA
    )
    recorded = await client.post(
        "/shares", json={"share_token": allowed["share_token"]}, headers=SERVICE
    )
    assert recorded.status_code == 200

    ledger = (await client.get(f"/residents/{resident}/ledger", headers=me)).json()
    assert [
        (r["recipient"], r["purpose"], r["lawful_basis"], r["data_categories"])
        for r in ledger["received"]
    ] == [("bereavement-support", "bereavement-support-referral", "consent", ["death", "identity"])]
    assert [e["kind"] for e in ledger["entries"]] == ["decision", "consent", "decision", "share"]

    # One call, one click.
    withdrawn = await client.post(f"/consents/{consent_id}/withdraw", headers=me)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    denied = (await client.post("/decisions", json=decision_body(resident), headers=SERVICE)).json()
    assert (denied["decision"], denied["reason"]) == ("deny", "consent_withdrawn")

    mine = (await client.get(f"/residents/{resident}/consents", headers=me)).json()
    assert [c["status"] for c in mine] == ["withdrawn"]


async def test_resident_a_cannot_reach_resident_bs_records(
    client: httpx.AsyncClient,
    residents: Callable[[], str],
    make_grant: Callable[..., ConsentGrant],
) -> None:
    a, b = residents(), residents()
    as_a, as_b = bearer(a), bearer(b)
    b_consent = (
        await client.post("/consents", json=make_grant(b).model_dump(mode="json"), headers=as_b)
    ).json()["consent_id"]
    objection = (
        await client.post(
            f"/residents/{b}/objections",
            json={"purpose": "school-admission-planning"},
            headers=as_b,
        )
    ).json()["objection_id"]

    forbidden = [
        ("GET", f"/residents/{b}/ledger"),
        ("GET", f"/residents/{b}/consents"),
        ("GET", f"/residents/{b}/objections"),
        ("POST", f"/residents/{b}/objections/{objection}/withdraw"),
    ]
    for method, path in forbidden:
        response = await client.request(method, path, headers=as_a)
        assert response.status_code == 403, (method, path)
    objecting = await client.post(
        f"/residents/{b}/objections", json={"purpose": "housing-benefit-review"}, headers=as_a
    )
    assert objecting.status_code == 403
    # By consent ID, another resident's record does not exist.
    assert (await client.get(f"/consents/{b_consent}", headers=as_a)).status_code == 404
    assert (await client.post(f"/consents/{b_consent}/withdraw", headers=as_a)).status_code == 404
    # Nor can A give consent in B's name.
    in_bs_name = await client.post(
        "/consents", json=make_grant(b).model_dump(mode="json"), headers=as_a
    )
    assert in_bs_name.status_code == 403
    # B's records are untouched, and B still sees them.
    assert (await client.get(f"/consents/{b_consent}", headers=as_b)).json()["status"] == "given"
    assert len((await client.get(f"/residents/{b}/ledger", headers=as_b)).json()["entries"]) == 2


async def test_roles_are_kept_apart(client: httpx.AsyncClient, resident: str) -> None:
    # A resident cannot ask for a share decision; a service cannot read a resident's ledger.
    me = bearer(resident)
    assert (
        await client.post("/decisions", json=decision_body(resident), headers=me)
    ).status_code == 403
    assert (await client.get(f"/residents/{resident}/ledger", headers=SERVICE)).status_code == 403


async def test_an_incomplete_consent_is_rejected(
    client: httpx.AsyncClient, resident: str, make_grant: Callable[..., ConsentGrant]
) -> None:
    body = make_grant(resident).model_dump(mode="json")
    del body["notice_version"]
    response = await client.post("/consents", json=body, headers=bearer(resident))
    assert response.status_code == 422


# --- fuzzing from the OpenAPI document -------------------------------------------------

FUZZ_RESIDENT = "res_fuzzresident000001"


def _fuzz_app() -> FastAPI:
    # Built at import, for schemathesis to read its OpenAPI document. Schemathesis calls the
    # app from its own event loops, so the store opens a connection per use (NullPool).
    folder = Path(tempfile.mkdtemp(prefix="consent-fuzz-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    url = f"sqlite+aiosqlite:///{folder / 'consent.db'}"
    store = asyncio.run(ConsentStore.open(url, poolclass=NullPool))
    issuer = ShareTokenIssuer(Ed25519PrivateKey.generate(), ttl=timedelta(minutes=5))
    return build_api(ConsentGate(store, load_policy(), issuer, topic="consent.v1"), AUTH)


schema = schemathesis.openapi.from_asgi("/openapi.json", _fuzz_app())


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_fuzz_no_server_error(case: Any) -> None:
    # Residents' routes get the fuzzing resident's token, the share routes a service's.
    path = case.operation.path
    role = Role.SERVICE if path in {"/decisions", "/shares"} else Role.RESIDENT
    subject = "council-tax" if role is Role.SERVICE else FUZZ_RESIDENT
    response = case.call(headers=bearer(subject, role))
    # Starlette's 405 (and OPTIONS) list the methods of one route, not of the whole path.
    excluded = [unsupported_method, allow_header_conformance]
    if path == "/consents":
        # Cross-field rules (expiry after given, the special-category flag agreeing with the
        # categories) are not expressible in JSON Schema: "valid" bodies can be rightly refused.
        excluded.append(positive_data_acceptance)
    case.validate_response(response, excluded_checks=excluded)
