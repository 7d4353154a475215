"""Share tokens: short-lived, signed, bound to one share, verified by the receiver.

A share token is a JWT (RFC 7519) signed with Ed25519 (`EdDSA`). The gate holds the private
key; receiving services hold only the public key, so a receiver can check a token but can
never mint one (a shared HMAC key would let any receiver forge tokens for the others).

Claims:
  iss  "lifeevents-consent"      aud  the recipient service       sub  the resident key
  iat, exp  issued, expires (minutes)   jti  the decision ID (also the ledger `ref`)
  purpose, cat (sorted category codes), basis (lawful basis), cid (consent ID, if consent)
  dh   "sha256:<hex>" of the canonical JSON of the data to be shared

The receiver calls `ShareTokenVerifier.verify(token, data)` before touching the data and
refuses without a token: signature, issuer, recipient (audience), expiry, and the SHA-256
of the data it was handed must all agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from contracts.shares import data_hash

__all__ = [
    "ISSUER",
    "ShareClaims",
    "ShareTokenError",
    "ShareTokenIssuer",
    "ShareTokenVerifier",
    "TokenProblem",
    "decode_share_token",
    "load_public_key",
    "public_key_pem",
]

ISSUER = "lifeevents-consent"
_ALGORITHM = "EdDSA"
_REQUIRED = ["iss", "aud", "sub", "iat", "exp", "jti", "purpose", "cat", "basis", "dh"]


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    key = load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the share-token key must be an Ed25519 public key")
    return key


class TokenProblem(StrEnum):
    MISSING = "missing"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    WRONG_RECIPIENT = "wrong_recipient"
    WRONG_PURPOSE = "wrong_purpose"
    DATA_ALTERED = "data_altered"


class ShareTokenError(Exception):
    """A token the receiver must refuse. The message is the problem code: no claims, no data."""

    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class ShareClaims:
    decision_id: str
    resident: str
    recipient: str
    purpose: str
    categories: list[str]
    basis: str
    consent_id: str | None
    data_hash: str
    issued_at: datetime
    expires_at: datetime
    # The gate knew the resident had died when it decided: a receiver opens nothing new.
    deceased: bool = False


class ShareTokenIssuer:
    def __init__(self, private_key: Ed25519PrivateKey, *, ttl: timedelta) -> None:
        self._key = private_key
        self.ttl = ttl

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def issue(
        self,
        *,
        decision_id: str,
        resident: str,
        recipient: str,
        purpose: str,
        categories: list[str],
        basis: str,
        consent_id: str | None,
        data_hash: str,
        now: datetime,
        deceased: bool = False,
    ) -> tuple[str, datetime]:
        expires = now + self.ttl
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": recipient,
            "sub": resident,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": decision_id,
            "purpose": purpose,
            "cat": sorted(categories),
            "basis": basis,
            "dh": data_hash,
        }
        if consent_id is not None:
            claims["cid"] = consent_id
        if deceased:
            claims["deceased"] = True
        token = jwt.encode(claims, self._key, algorithm=_ALGORITHM)
        return token, datetime.fromtimestamp(claims["exp"], UTC)


class ShareTokenVerifier:
    """What a receiving service runs before it touches shared data."""

    def __init__(
        self, public_key: Ed25519PublicKey, *, recipient: str, leeway: timedelta = timedelta(0)
    ) -> None:
        self._key = public_key
        self.recipient = recipient
        self.leeway = leeway

    def verify(
        self,
        token: str | None,
        data: Any,
        *,
        purpose: str | None = None,
        now: datetime | None = None,
        check_expiry: bool = True,
    ) -> ShareClaims:
        """The claims of a token good for this recipient and exactly this data, or
        `ShareTokenError`. `check_expiry=False` is for the gate recording a share that
        completed after the token's expiry; receivers keep it on."""
        claims = self.decode(token, now=now, check_expiry=check_expiry)
        if purpose is not None and claims.purpose != purpose:
            raise ShareTokenError(TokenProblem.WRONG_PURPOSE)
        if data_hash(data) != claims.data_hash:
            raise ShareTokenError(TokenProblem.DATA_ALTERED)
        return claims

    def decode(
        self, token: str | None, *, now: datetime | None = None, check_expiry: bool = True
    ) -> ShareClaims:
        return decode_share_token(
            token,
            self._key,
            recipient=self.recipient,
            leeway=self.leeway,
            now=now,
            check_expiry=check_expiry,
        )


def decode_share_token(
    token: str | None,
    key: Ed25519PublicKey,
    *,
    recipient: str | None,
    leeway: timedelta = timedelta(0),
    now: datetime | None = None,
    check_expiry: bool = True,
) -> ShareClaims:
    """Check signature and issuer, and the audience unless `recipient` is None (the gate
    reading back its own token when a share is recorded)."""
    if not token:
        raise ShareTokenError(TokenProblem.MISSING)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            audience=recipient,
            issuer=ISSUER,
            options={
                "require": _REQUIRED,
                "verify_exp": False,
                "verify_aud": recipient is not None,
            },
        )
    except jwt.InvalidAudienceError:
        raise ShareTokenError(TokenProblem.WRONG_RECIPIENT) from None
    except jwt.InvalidSignatureError:
        raise ShareTokenError(TokenProblem.BAD_SIGNATURE) from None
    except jwt.PyJWTError:
        raise ShareTokenError(TokenProblem.MALFORMED) from None
    expires_at = _timestamp(claims["exp"])
    current = now or datetime.now(UTC)
    if check_expiry and current >= expires_at + leeway:
        raise ShareTokenError(TokenProblem.EXPIRED)
    try:
        return ShareClaims(
            decision_id=str(claims["jti"]),
            resident=str(claims["sub"]),
            recipient=str(claims["aud"]),
            purpose=str(claims["purpose"]),
            categories=[str(c) for c in claims["cat"]],
            basis=str(claims["basis"]),
            consent_id=str(claims["cid"]) if "cid" in claims else None,
            data_hash=str(claims["dh"]),
            issued_at=_timestamp(claims["iat"]),
            expires_at=expires_at,
            deceased=claims.get("deceased") is True,
        )
    except (TypeError, ValueError):
        raise ShareTokenError(TokenProblem.MALFORMED) from None


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ShareTokenError(TokenProblem.MALFORMED) from None
