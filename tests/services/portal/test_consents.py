"""ConsentApi against the real consent API (its app on a real gate and store, over ASGI): the
portal's calls as the signed-in resident, the grant it builds, and what it refuses."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update

from contracts.consent import ConsentMethod, ConsentStatus, LawfulBasis
from services.common.sharetokens import ShareTokenIssuer
from services.consent.api import build_api
from services.consent.auth import ApiAuth
from services.consent.gate import ConsentGate
from services.consent.policy import load_policy
from services.consent.store import ConsentStore, ledger
from services.portal.consents import (
    CONTROLLER,
    NOTICES,
    ConsentApi,
    ConsentApiError,
    ConsentRefused,
)
from services.portal.phrases import OFFERED_CONSENTS

KEY = secrets.token_bytes(32)
ME, SOMEONE_ELSE = "res_portaltest00000001", "res_portaltest00000002"
BEREAVEMENT = ("bereavement-support-referral", "bereavement-support")


@pytest.fixture
async def gate(tmp_path: Path) -> AsyncIterator[ConsentGate]:
    async with await ConsentStore.open(f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}") as store:
        issuer = ShareTokenIssuer(Ed25519PrivateKey.generate(), ttl=timedelta(minutes=5))
        yield ConsentGate(store, load_policy(), issuer, topic="consent.v1")


@pytest.fixture
async def consents(gate: ConsentGate) -> AsyncIterator[ConsentApi]:
    app = build_api(gate, ApiAuth(KEY), verification_max_age=timedelta(0))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        yield ConsentApi("http://consent.test/", KEY, http)


async def test_give_list_withdraw_and_the_ledger_shows_each(consents: ConsentApi) -> None:
    assert await consents.consents(ME) == []
    before = datetime.now(UTC).replace(microsecond=0)

    given = await consents.give(ME, *BEREAVEMENT)

    assert (given.resident, given.purpose, given.recipient) == (ME, *BEREAVEMENT)
    assert [c.value for c in given.data_categories] == ["contact", "death", "identity"]
    assert given.special_category is False
    assert given.lawful_basis is LawfulBasis.CONSENT
    assert given.method is ConsentMethod.PORTAL
    assert given.controller == "council"
    assert given.notice_version == "portal-bereavement-support-2026-12"
    assert given.status is ConsentStatus.GIVEN
    assert before <= given.given_at <= datetime.now(UTC)
    assert given.expires_at - given.given_at == timedelta(days=365)
    assert [c.consent_id for c in await consents.consents(ME)] == [given.consent_id]

    withdrawn = await consents.withdraw(ME, given.consent_id)

    assert withdrawn.consent_id == given.consent_id
    assert withdrawn.status is ConsentStatus.WITHDRAWN
    assert [c.status for c in await consents.consents(ME)] == [ConsentStatus.WITHDRAWN]
    report = await consents.ledger(ME)
    assert report.resident == ME
    assert report.received == []
    assert [(e.kind.value, e.outcome, e.reason, e.ref) for e in report.entries] == [
        ("consent", "given", "portal", given.consent_id),
        ("consent", "withdrawn", "resident_withdrew", given.consent_id),
    ]
    assert await consents.chain_verifies() is True


async def test_a_special_category_is_said_to_be_one(consents: ConsentApi) -> None:
    given = await consents.give(ME, "blue-badge-renewal", "blue-badge")
    assert [c.value for c in given.data_categories] == ["address", "disability", "identity"]
    assert given.special_category is True


async def test_another_residents_consent_is_not_found_and_stays_given(
    consents: ConsentApi,
) -> None:
    theirs = await consents.give(SOMEONE_ELSE, *BEREAVEMENT)
    with pytest.raises(LookupError):
        await consents.withdraw(ME, theirs.consent_id)
    with pytest.raises(LookupError):
        await consents.withdraw(ME, "cns_" + "0" * 32)  # one that never was
    with pytest.raises(LookupError):
        await consents.withdraw(ME, "../residents")  # not an ID at all
    assert [c.status for c in await consents.consents(SOMEONE_ELSE)] == [ConsentStatus.GIVEN]
    assert await consents.consents(ME) == []
    assert (await consents.ledger(ME)).entries == []


async def test_only_what_the_portal_has_a_notice_for_is_given(consents: ConsentApi) -> None:
    # Council tax rests on a legal obligation, and Tell Us Once is the informant's to agree.
    with pytest.raises(ConsentRefused) as statutory:
        await consents.give(ME, "council-tax-liability", "council-tax")
    with pytest.raises(ConsentRefused) as informants:
        await consents.give(ME, "tell-us-once", "dwp")
    assert (statutory.value.code, informants.value.code) == ("no_notice", "no_notice")
    assert await consents.consents(ME) == []


async def test_a_refusal_of_the_gate_comes_back_as_its_code(gate: ConsentGate) -> None:
    app = build_api(gate, ApiAuth(KEY))
    wrong = {BEREAVEMENT: NOTICES[("blue-badge-renewal", "blue-badge")]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        consents = ConsentApi("http://consent.test", KEY, http, notices=wrong)
        with pytest.raises(ConsentRefused) as refused:
            await consents.give(ME, *BEREAVEMENT)
    assert refused.value.code == "categories_not_allowed"


async def test_a_broken_chain_does_not_verify(consents: ConsentApi, gate: ConsentGate) -> None:
    await consents.give(ME, *BEREAVEMENT)
    async with gate.store.engine.begin() as conn:
        await conn.execute(update(ledger).where(ledger.c.seq == 1).values(reason="paper_form"))
    assert await consents.chain_verifies() is False


async def test_a_wrong_key_is_an_api_error_not_an_empty_answer(gate: ConsentGate) -> None:
    app = build_api(gate, ApiAuth(KEY))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        consents = ConsentApi("http://consent.test", secrets.token_bytes(32), http)
        with pytest.raises(ConsentApiError) as failed:
            await consents.consents(ME)
    assert failed.value.code == "consent_api_401"


async def test_an_api_that_is_down_is_an_api_error() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as http:
        consents = ConsentApi("http://consent.test", KEY, http)
        with pytest.raises(ConsentApiError) as failed:
            await consents.chain_verifies()
    assert failed.value.code == "consent_api_unreachable"


def test_every_consent_a_resident_may_give_has_a_notice_with_the_policys_categories() -> None:
    policy = load_policy()
    assert policy.controller == CONTROLLER
    on_consent = {
        (rule.purpose, rule.recipient): sorted(c.value for c in rule.categories)
        for rule in policy.shares
        if rule.basis is LawfulBasis.CONSENT and rule.purpose != "tell-us-once"
    }
    assert {key: sorted(c.value for c in n.categories) for key, n in NOTICES.items()} == (
        on_consent
    )
    assert set(on_consent) == {
        ("bereavement-support-referral", "bereavement-support"),
        ("blue-badge-renewal", "blue-badge"),
        ("library-membership-offer", "libraries"),
    }


def test_the_portal_offers_exactly_the_consents_it_has_a_notice_for() -> None:
    assert {(o.purpose, o.recipient) for o in OFFERED_CONSENTS} == set(NOTICES)
