"""The receiver's side: a share token is good for one recipient, one purpose and exactly the
data it was issued for, until it expires, and only if the gate signed it."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.consent import Decision, ShareRequest
from contracts.shares import canonical_json, data_hash
from services.common.sharetokens import (
    ShareTokenError,
    ShareTokenIssuer,
    ShareTokenVerifier,
    TokenProblem,
    load_public_key,
    public_key_pem,
)
from services.consent.gate import ConsentGate

DATA: dict[str, Any] = {"case_ref": "CASE-0042", "household_size": 2, "note": "synthetic é"}
RECIPIENT = "council-tax"


@pytest.fixture
def issuer(signing_key: Ed25519PrivateKey) -> ShareTokenIssuer:
    return ShareTokenIssuer(signing_key, ttl=timedelta(minutes=5))


def issue(
    issuer: ShareTokenIssuer, *, recipient: str = RECIPIENT, now: datetime | None = None
) -> str:
    token, _ = issuer.issue(
        decision_id="dec_" + "0" * 32,
        resident="res_synthetic000000042",
        recipient=recipient,
        purpose="council-tax-liability",
        categories=["identity", "address"],
        basis="legal_obligation",
        consent_id=None,
        data_hash=data_hash(DATA),
        now=now or datetime.now(UTC),
    )
    return token


def refused(verifier: ShareTokenVerifier, token: str | None, data: Any = DATA, **kw: Any) -> str:
    with pytest.raises(ShareTokenError) as error:
        verifier.verify(token, data, **kw)
    # The refusal says what is wrong with a code, never what the token or data held.
    assert str(error.value) == error.value.problem.value
    return error.value.problem.value


@pytest.fixture
def verifier(issuer: ShareTokenIssuer) -> ShareTokenVerifier:
    return ShareTokenVerifier(issuer.public_key, recipient=RECIPIENT)


def test_a_good_token_verifies_with_its_data(
    issuer: ShareTokenIssuer, verifier: ShareTokenVerifier
) -> None:
    claims = verifier.verify(issue(issuer), DATA, purpose="council-tax-liability")
    assert claims.recipient == RECIPIENT
    assert claims.resident == "res_synthetic000000042"
    assert claims.categories == ["address", "identity"]
    assert claims.basis == "legal_obligation"
    # The same data in another key order or as a JSON string is the same data.
    reordered = json.loads(json.dumps(dict(reversed(DATA.items()))))
    verifier.verify(issue(issuer), reordered)
    verifier.verify(issue(issuer), canonical_json(DATA))


def test_a_missing_token_is_refused(verifier: ShareTokenVerifier) -> None:
    assert refused(verifier, None) == TokenProblem.MISSING
    assert refused(verifier, "") == TokenProblem.MISSING


def test_a_forged_token_is_refused(issuer: ShareTokenIssuer, verifier: ShareTokenVerifier) -> None:
    forger = ShareTokenIssuer(Ed25519PrivateKey.generate(), ttl=timedelta(minutes=5))
    assert refused(verifier, issue(forger)) == TokenProblem.BAD_SIGNATURE


def test_a_token_with_edited_claims_is_refused(
    issuer: ShareTokenIssuer, verifier: ShareTokenVerifier
) -> None:
    header, payload, signature = issue(issuer).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["cat"] = ["address", "health", "identity"]
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert refused(verifier, f"{header}.{edited}.{signature}") == TokenProblem.BAD_SIGNATURE


@pytest.mark.parametrize(
    "make",
    [
        # alg=none, and an HMAC token keyed with the public key (algorithm confusion)
        lambda pub: jwt.encode({"aud": RECIPIENT}, None, algorithm="none"),
        lambda pub: jwt.encode({"aud": RECIPIENT}, b"k" * 32, algorithm="HS256"),
        lambda pub: "not-a-jwt",
        lambda pub: "a.b.c",
    ],
)
def test_tokens_of_another_algorithm_or_shape_are_refused(
    issuer: ShareTokenIssuer, verifier: ShareTokenVerifier, make: Callable[[Any], str]
) -> None:
    assert refused(verifier, make(issuer.public_key)) == TokenProblem.MALFORMED


def test_an_expired_token_is_refused(
    issuer: ShareTokenIssuer, verifier: ShareTokenVerifier
) -> None:
    token = issue(issuer, now=datetime.now(UTC) - timedelta(minutes=6))
    assert refused(verifier, token) == TokenProblem.EXPIRED
    fresh = issue(issuer)
    later = datetime.now(UTC) + timedelta(minutes=5, seconds=1)
    assert refused(verifier, fresh, now=later) == TokenProblem.EXPIRED


def test_a_token_replayed_to_another_recipient_is_refused(
    issuer: ShareTokenIssuer, verifier: ShareTokenVerifier
) -> None:
    other = ShareTokenVerifier(issuer.public_key, recipient="libraries")
    assert refused(other, issue(issuer)) == TokenProblem.WRONG_RECIPIENT


def test_altered_data_is_refused(issuer: ShareTokenIssuer, verifier: ShareTokenVerifier) -> None:
    assert refused(verifier, issue(issuer), {**DATA, "household_size": 3}) == (
        TokenProblem.DATA_ALTERED
    )
    assert refused(verifier, issue(issuer), {**DATA, "extra": None}) == TokenProblem.DATA_ALTERED


def test_a_token_for_another_purpose_is_refused(
    issuer: ShareTokenIssuer, verifier: ShareTokenVerifier
) -> None:
    assert refused(verifier, issue(issuer), purpose="housing-benefit-review") == (
        TokenProblem.WRONG_PURPOSE
    )


def test_the_public_key_round_trips_as_pem(issuer: ShareTokenIssuer) -> None:
    receiver_key = load_public_key(public_key_pem(issuer.public_key))
    ShareTokenVerifier(receiver_key, recipient=RECIPIENT).verify(issue(issuer), DATA)


async def test_a_token_from_the_gate_verifies_at_its_recipient_only(
    gate: ConsentGate, resident: str, make_request: Callable[..., ShareRequest]
) -> None:
    request = make_request(resident, "council-tax-liability", RECIPIENT, ["identity"], DATA)
    decision = await gate.decide_share(request)
    assert decision.decision is Decision.ALLOW
    good = ShareTokenVerifier(gate.public_key, recipient=RECIPIENT)
    claims = good.verify(decision.share_token, DATA, purpose="council-tax-liability")
    assert claims.decision_id == decision.decision_id
    assert claims.resident == resident
    wrong = ShareTokenVerifier(gate.public_key, recipient="electoral-services")
    assert refused(wrong, decision.share_token) == TokenProblem.WRONG_RECIPIENT
    assert refused(good, decision.share_token, {"case_ref": "CASE-9999"}) == (
        TokenProblem.DATA_ALTERED
    )
