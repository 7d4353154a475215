"""decide_share for each lawful basis, consent given / expired / withdrawn / narrower, objections,
and the consent record's required elements. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from contracts.consent import (
    ConsentChange,
    ConsentGrant,
    ConsentStatus,
    Decision,
    LawfulBasis,
    ObjectionRequest,
    ShareCompletion,
    ShareRequest,
)
from services.consent.gate import ConsentGate, GateError
from services.consent.ledger import verify_ledger
from services.consent.store import outbox

MakeRequest = Callable[..., ShareRequest]
MakeGrant = Callable[..., ConsentGrant]


async def last_entry(gate: ConsentGate, resident: str) -> Any:
    report = await gate.data_use(resident)
    return report.entries[-1]


@pytest.mark.parametrize(
    ("purpose", "recipient", "categories", "basis"),
    [
        (
            "council-tax-liability",
            "council-tax",
            ["identity", "address", "death"],
            LawfulBasis.LEGAL_OBLIGATION,
        ),
        (
            "school-admission-planning",
            "school-admissions",
            ["identity", "birth"],
            LawfulBasis.PUBLIC_TASK,
        ),
        (
            "emergency-welfare-check",
            "adult-social-care",
            ["identity", "health"],
            LawfulBasis.VITAL_INTERESTS,
        ),
    ],
)
async def test_statutory_bases_allow_without_consent(
    gate: ConsentGate,
    resident: str,
    make_request: MakeRequest,
    purpose: str,
    recipient: str,
    categories: list[str],
    basis: LawfulBasis,
) -> None:
    decision = await gate.decide_share(make_request(resident, purpose, recipient, categories))
    assert decision.decision is Decision.ALLOW
    assert decision.lawful_basis is basis
    assert decision.reason == "policy_allows"
    assert decision.share_token
    assert decision.consent_id is None
    entry = await last_entry(gate, resident)
    assert (entry.kind, entry.outcome, entry.lawful_basis, entry.ref) == (
        "decision",
        "allow",
        basis,
        decision.decision_id,
    )


async def test_consent_basis_needs_consent_then_allows(
    gate: ConsentGate, resident: str, make_request: MakeRequest, make_grant: MakeGrant
) -> None:
    request = make_request(
        resident, "bereavement-support-referral", "bereavement-support", ["identity", "death"]
    )
    first = await gate.decide_share(request)
    assert (first.decision, first.reason, first.share_token) == (
        Decision.NEEDS_CONSENT,
        "no_consent",
        None,
    )
    record = await gate.give_consent(make_grant(resident))
    assert record.status is ConsentStatus.GIVEN
    second = await gate.decide_share(request)
    assert second.decision is Decision.ALLOW
    assert second.lawful_basis is LawfulBasis.CONSENT
    assert second.consent_id == record.consent_id
    assert second.reason == "consent_given"


async def test_consent_covers_only_its_categories(
    gate: ConsentGate, resident: str, make_request: MakeRequest, make_grant: MakeGrant
) -> None:
    await gate.give_consent(make_grant(resident, categories=("identity",)))
    decision = await gate.decide_share(
        make_request(
            resident, "bereavement-support-referral", "bereavement-support", ["identity", "contact"]
        )
    )
    assert (decision.decision, decision.reason) == (Decision.NEEDS_CONSENT, "consent_scope")


async def test_consent_for_one_recipient_is_not_consent_for_another(
    gate: ConsentGate,
    residents: Callable[[], str],
    make_request: MakeRequest,
    make_grant: MakeGrant,
) -> None:
    resident, other = residents(), residents()
    await gate.give_consent(make_grant(resident))
    decision = await gate.decide_share(
        make_request(other, "bereavement-support-referral", "bereavement-support", ["identity"])
    )
    assert decision.decision is Decision.NEEDS_CONSENT


async def test_expired_consent_needs_consent_again_and_expiry_is_recorded(
    gate: ConsentGate, clock: Any, resident: str, make_request: MakeRequest, make_grant: MakeGrant
) -> None:
    record = await gate.give_consent(make_grant(resident, expires_in=timedelta(days=30)))
    request = make_request(
        resident, "bereavement-support-referral", "bereavement-support", ["identity"]
    )
    assert (await gate.decide_share(request)).decision is Decision.ALLOW
    clock.advance(timedelta(days=31))
    decision = await gate.decide_share(request)
    assert (decision.decision, decision.reason) == (Decision.NEEDS_CONSENT, "consent_expired")
    assert decision.share_token is None
    stored = await gate.consent(record.consent_id)
    assert stored is not None
    assert stored.status is ConsentStatus.EXPIRED
    assert [e.status for e in stored.events] == [ConsentStatus.GIVEN, ConsentStatus.EXPIRED]
    outcomes = [(e.kind, e.outcome) for e in (await gate.data_use(resident)).entries]
    assert outcomes[-2:] == [("consent", "expired"), ("decision", "needs_consent")]
    # Noticed once: a second decision adds no second expiry event.
    await gate.decide_share(request)
    stored = await gate.consent(record.consent_id)
    assert stored is not None
    assert len(stored.events) == 2


async def test_withdrawn_consent_denies_every_later_share(
    gate: ConsentGate, resident: str, make_request: MakeRequest, make_grant: MakeGrant
) -> None:
    record = await gate.give_consent(make_grant(resident))
    request = make_request(
        resident, "bereavement-support-referral", "bereavement-support", ["identity"]
    )
    allowed = await gate.decide_share(request)
    assert allowed.decision is Decision.ALLOW
    withdrawn = await gate.withdraw_consent(record.consent_id)
    assert withdrawn.status is ConsentStatus.WITHDRAWN
    for _ in range(2):
        denied = await gate.decide_share(request)
        assert (denied.decision, denied.reason) == (Decision.DENY, "consent_withdrawn")
        assert denied.share_token is None
        entry = await last_entry(gate, resident)
        assert (entry.kind, entry.outcome, entry.reason) == (
            "decision",
            "deny",
            "consent_withdrawn",
        )
    # Withdrawing again is harmless and changes nothing.
    again = await gate.withdraw_consent(record.consent_id)
    assert len(again.events) == 2
    # The resident may give consent afresh: the latest consent decides.
    await gate.give_consent(make_grant(resident))
    assert (await gate.decide_share(request)).decision is Decision.ALLOW


async def test_withdrawal_is_queued_for_kafka_with_the_shares_to_stop(
    gate: ConsentGate, resident: str, make_request: MakeRequest, make_grant: MakeGrant
) -> None:
    record = await gate.give_consent(make_grant(resident))
    request = make_request(
        resident, "bereavement-support-referral", "bereavement-support", ["identity"]
    )
    shared = await gate.decide_share(request)
    assert shared.share_token is not None
    await gate.record_share(ShareCompletion(share_token=shared.share_token))
    in_flight = await gate.decide_share(request)
    await gate.withdraw_consent(record.consent_id)
    async with gate.store.reading() as conn:
        rows = (await conn.execute(select(outbox).order_by(outbox.c.id))).all()
    assert [json.loads(r.headers)["ce_type"] for r in rows] == [
        "lifeevents.consent.given.v1",
        "lifeevents.consent.withdrawn.v1",
    ]
    change = ConsentChange.model_validate_json(rows[-1].value)
    assert change.change == "withdrawn"
    assert change.recipient == "bereavement-support"
    assert change.stop_use == [shared.decision_id, in_flight.decision_id]
    assert rows[-1].key == resident


async def test_share_after_withdrawal_cannot_be_recorded(
    gate: ConsentGate, resident: str, make_request: MakeRequest, make_grant: MakeGrant
) -> None:
    record = await gate.give_consent(make_grant(resident))
    allowed = await gate.decide_share(
        make_request(resident, "bereavement-support-referral", "bereavement-support", ["identity"])
    )
    await gate.withdraw_consent(record.consent_id)
    assert allowed.share_token is not None
    with pytest.raises(GateError, match="consent_withdrawn"):
        await gate.record_share(ShareCompletion(share_token=allowed.share_token))
    entry = await last_entry(gate, resident)
    assert (entry.kind, entry.outcome, entry.reason) == ("share", "refused", "consent_withdrawn")
    assert (await gate.data_use(resident)).received == []


async def test_record_share_is_idempotent_and_shows_in_the_residents_view(
    gate: ConsentGate, resident: str, make_request: MakeRequest
) -> None:
    decision = await gate.decide_share(
        make_request(resident, "council-tax-liability", "council-tax", ["identity", "address"])
    )
    assert decision.share_token is not None
    first = await gate.record_share(ShareCompletion(share_token=decision.share_token))
    second = await gate.record_share(ShareCompletion(share_token=decision.share_token))
    assert first == second
    report = await gate.data_use(resident)
    assert [
        (r.recipient, r.purpose, r.lawful_basis, r.data_categories) for r in report.received
    ] == [
        (
            "council-tax",
            "council-tax-liability",
            LawfulBasis.LEGAL_OBLIGATION,
            ["address", "identity"],
        )
    ]


async def test_record_share_refuses_a_token_the_gate_did_not_sign(
    gate: ConsentGate, resident: str
) -> None:
    with pytest.raises(GateError) as refused:
        await gate.record_share(ShareCompletion(share_token="not.a.token"))
    assert (refused.value.code, refused.value.status) == ("token_malformed", 403)


async def test_no_policy_and_excess_categories_are_denied(
    gate: ConsentGate, resident: str, make_request: MakeRequest
) -> None:
    unknown = await gate.decide_share(
        make_request(resident, "council-tax-liability", "libraries", ["identity"])
    )
    assert (unknown.decision, unknown.reason, unknown.lawful_basis) == (
        Decision.DENY,
        "no_policy",
        None,
    )
    excess = await gate.decide_share(
        make_request(resident, "council-tax-liability", "council-tax", ["identity", "health"])
    )
    assert (excess.decision, excess.reason) == (Decision.DENY, "categories_not_allowed")


async def test_objection_is_honoured_where_the_basis_allows_it(
    gate: ConsentGate, resident: str, make_request: MakeRequest, make_grant: MakeGrant
) -> None:
    public_task = make_request(
        resident, "school-admission-planning", "school-admissions", ["identity"]
    )
    overridden = make_request(resident, "child-safeguarding", "childrens-social-care", ["identity"])
    legal = make_request(resident, "council-tax-liability", "council-tax", ["identity"])
    consent = make_request(
        resident, "bereavement-support-referral", "bereavement-support", ["identity"]
    )
    await gate.give_consent(make_grant(resident))
    for purpose in (
        "school-admission-planning",
        "child-safeguarding",
        "council-tax-liability",
        "bereavement-support-referral",
    ):
        await gate.object(ObjectionRequest(resident=resident, purpose=purpose))

    denied = await gate.decide_share(public_task)
    assert (denied.decision, denied.reason) == (Decision.DENY, "objection")
    assert (await gate.decide_share(consent)).reason == "objection"
    # Compelling grounds declared in the policy, and a legal obligation: no right to object.
    assert (await gate.decide_share(overridden)).decision is Decision.ALLOW
    assert (await gate.decide_share(legal)).decision is Decision.ALLOW

    objection = next(
        o for o in await gate.objections_of(resident) if o.purpose == "school-admission-planning"
    )
    await gate.withdraw_objection(resident, objection.objection_id)
    assert (await gate.decide_share(public_task)).decision is Decision.ALLOW
    with pytest.raises(GateError, match="not_found"):
        await gate.withdraw_objection("res_someoneelse0000001", objection.objection_id)


async def test_consent_is_only_recorded_where_the_policy_relies_on_it(
    gate: ConsentGate, resident: str, make_grant: MakeGrant
) -> None:
    with pytest.raises(GateError, match="consent_not_the_basis"):
        await gate.give_consent(
            make_grant(resident, "council-tax-liability", "council-tax", ("identity",))
        )
    with pytest.raises(GateError, match="categories_not_allowed"):
        await gate.give_consent(make_grant(resident, categories=("identity", "financial")))


async def test_concurrent_decisions_keep_one_unbroken_chain(
    gate: ConsentGate, residents: Callable[[], str], make_request: MakeRequest
) -> None:
    requests = [
        make_request(residents(), "council-tax-liability", "council-tax", ["identity"])
        for _ in range(40)
    ]
    decisions = await asyncio.gather(*(gate.decide_share(r) for r in requests))
    assert sorted(d.ledger_seq for d in decisions) == list(range(1, 41))
    result = await verify_ledger(gate.store.engine)
    assert result.ok, result
    assert result.entries == 40


# --- the consent record's required elements (no store needed) -------------------------

_GRANT: dict[str, Any] = {
    "resident": "res_synthetic000000001",
    "controller": "council",
    "recipient": "blue-badge",
    "purpose": "blue-badge-renewal",
    "data_categories": ["identity", "disability"],
    "special_category": True,
    "lawful_basis": "consent",
    "method": "portal",
    "given_at": "2025-01-10T10:00:00Z",
    "notice_version": "privacy-notice-2025-01",
    "expires_at": "2026-01-10T10:00:00Z",
}


def test_a_complete_consent_record_is_accepted() -> None:
    grant = ConsentGrant.model_validate(_GRANT)
    assert grant.special_category


@pytest.mark.parametrize("element", sorted(_GRANT))
def test_a_consent_record_missing_any_element_is_rejected(element: str) -> None:
    incomplete = {k: v for k, v in _GRANT.items() if k != element}
    with pytest.raises(ValidationError) as error:
        ConsentGrant.model_validate(incomplete)
    assert any(e["loc"] == (element,) and e["type"] == "missing" for e in error.value.errors())


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"special_category": False}, "special_category"),
        ({"lawful_basis": "public_task"}, "lawful_basis"),
        ({"data_categories": []}, "data_categories"),
        ({"data_categories": ["identity", "identity"]}, "repeat"),
        ({"expires_at": "2025-01-10T09:00:00Z"}, "expires_at"),
        ({"given_at": "2025-01-10T10:00:00"}, "given_at"),
        ({"given_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()}, "future"),
        ({"resident": "Jane Example"}, "resident"),
        ({"surplus": "x"}, "surplus"),
    ],
)
def test_an_inconsistent_consent_record_is_rejected(change: dict[str, Any], why: str) -> None:
    with pytest.raises(ValidationError):
        ConsentGrant.model_validate({**_GRANT, **change})
