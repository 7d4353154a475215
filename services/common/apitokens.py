"""Bearer tokens between the platform's own processes: HS256 JWTs naming who calls.

A token carries `sub` (who: a resident's pseudonymous key, or a service's code), `role`
(`resident` or `service`), `aud` (the API it is for), `iat` and `exp`. The consent API
checks them (`services.consent.auth`); the portal mints a resident's token after it has
signed the resident in, to call that API as them. One module, so that the claims are
spelled once for the side that mints and the side that checks.

A token says nothing about a person but their key; neither this module nor its callers log
a token, and an error here never quotes one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

__all__ = [
    "CONSENT_API_AUDIENCE",
    "MIN_KEY_BYTES",
    "ApiRole",
    "ApiTokenError",
    "check_key",
    "mint_api_token",
    "read_api_token",
]

CONSENT_API_AUDIENCE = "lifeevents-consent"
"""The audience of the consent API's tokens."""

MIN_KEY_BYTES = 32
_ALGORITHM = "HS256"


class ApiRole(StrEnum):
    RESIDENT = "resident"
    SERVICE = "service"


class ApiTokenError(Exception):
    """Not a valid token for this audience (forged, expired, malformed): a code, no value."""


def check_key(key: bytes) -> bytes:
    """`key`, if it is long enough to sign with (HS256 wants at least its hash's length)."""
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the API auth key must be at least {MIN_KEY_BYTES} bytes")
    return key


def mint_api_token(
    key: bytes,
    subject: str,
    role: ApiRole,
    *,
    audience: str,
    ttl: timedelta = timedelta(hours=1),
    now: datetime | None = None,
) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": subject,
        "role": role.value,
        "aud": audience,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    return jwt.encode(claims, check_key(key), algorithm=_ALGORITHM)


def read_api_token(key: bytes, token: str, *, audience: str) -> tuple[ApiRole, str]:
    """(role, subject) of a token signed with `key` for `audience` and not expired.
    Whether the subject is well formed for its role is the API's to check."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            audience=audience,
            options={"require": ["sub", "role", "aud", "exp"]},
        )
        return ApiRole(claims["role"]), str(claims["sub"])
    except (jwt.PyJWTError, ValueError):
        raise ApiTokenError("invalid_token") from None
