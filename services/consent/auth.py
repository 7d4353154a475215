"""Who is calling the consent API: a resident (from the portal) or a council service.

Both present `Authorization: Bearer <JWT>`, HS256-signed with the consent service's API key
(`LIFEEVENTS_CONSENT_API_AUTH_KEY`), audience `lifeevents-consent`, with an expiry:

- resident tokens: `sub` = the resident's pseudonymous key (`res_…`), `role` = "resident";
  the portal mints them after it has signed the resident in.
- service tokens: `sub` = the service's code (e.g. `council-tax`), `role` = "service";
  issued to each service by the operators.

Authentication says who; the API then checks authorisation per object: a resident reads and
changes only their own consents, objections and ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt
from pydantic import TypeAdapter, ValidationError

from contracts.keys import Code, ResidentKey

__all__ = ["AUDIENCE", "ApiAuth", "AuthError", "Caller", "Role"]

AUDIENCE = "lifeevents-consent"
_ALGORITHM = "HS256"
_resident_key: TypeAdapter[str] = TypeAdapter(ResidentKey)
_code: TypeAdapter[str] = TypeAdapter(Code)


class Role(StrEnum):
    RESIDENT = "resident"
    SERVICE = "service"


class AuthError(Exception):
    pass


@dataclass(frozen=True)
class Caller:
    role: Role
    subject: str

    def is_resident(self, resident: str) -> bool:
        return self.role is Role.RESIDENT and self.subject == resident


class ApiAuth:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the API auth key must be at least 32 bytes")
        self._key = key

    def mint(
        self,
        subject: str,
        role: Role,
        *,
        ttl: timedelta = timedelta(hours=1),
        now: datetime | None = None,
    ) -> str:
        issued = now or datetime.now(UTC)
        claims = {
            "sub": subject,
            "role": role.value,
            "aud": AUDIENCE,
            "iat": int(issued.timestamp()),
            "exp": int((issued + ttl).timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def authenticate(self, token: str) -> Caller:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=AUDIENCE,
                options={"require": ["sub", "role", "aud", "exp"]},
            )
            role = Role(claims["role"])
            subject = str(claims["sub"])
            (_resident_key if role is Role.RESIDENT else _code).validate_python(subject)
        except (jwt.PyJWTError, ValueError, ValidationError):
            raise AuthError("invalid_token") from None
        return Caller(role, subject)
