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
from datetime import datetime, timedelta

from pydantic import TypeAdapter, ValidationError

from contracts.keys import Code, ResidentKey
from services.common.apitokens import (
    CONSENT_API_AUDIENCE,
    ApiRole,
    ApiTokenError,
    check_key,
    mint_api_token,
    read_api_token,
)

__all__ = ["AUDIENCE", "ApiAuth", "AuthError", "Caller", "Role"]

AUDIENCE = CONSENT_API_AUDIENCE
_resident_key: TypeAdapter[str] = TypeAdapter(ResidentKey)
_code: TypeAdapter[str] = TypeAdapter(Code)


# The claims are minted and read in services.common.apitokens, shared with the portal.
Role = ApiRole


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
        self._key = check_key(key)

    def mint(
        self,
        subject: str,
        role: Role,
        *,
        ttl: timedelta = timedelta(hours=1),
        now: datetime | None = None,
    ) -> str:
        return mint_api_token(self._key, subject, role, audience=AUDIENCE, ttl=ttl, now=now)

    def authenticate(self, token: str) -> Caller:
        try:
            role, subject = read_api_token(self._key, token, audience=AUDIENCE)
            (_resident_key if role is Role.RESIDENT else _code).validate_python(subject)
        except (ApiTokenError, ValidationError):
            raise AuthError("invalid_token") from None
        return Caller(role, subject)
