"""`ports.Consents` over the consent service's HTTP API, called as the signed-in resident.

For each call the portal mints a short-lived bearer token for the resident it has signed in
(`services.common.apitokens`: HS256 with the consent API's key, `sub` = the resident's key,
`role` = resident, audience `lifeevents-consent`), so the consent API's own per-object
checks apply: a resident reaches only their own consents and ledger, and another resident's
consent ID is "not found". The portal never reads the consent store itself.

Giving consent: the resident agrees to a notice the portal showed them, one per purpose and
recipient that rests on consent in the data-sharing policy (`NOTICES`). The grant records
exactly that notice: its data categories (all the policy lets flow for that purpose, so the
consent covers every share the gate will decide about), its version, method `portal`, and
an expiry a year on. Tell Us Once is not here: that consent is the informant's, recorded at
the registration of a death, never given in the portal. A test holds `NOTICES` to the policy.
The words of each notice are the page's (`phrases.OFFERED_CONSENTS`, the same three, a test
holds them together); when they change, the notice's `version` here must change with them,
so that a consent names the words it was given on.

Errors, for the pages (no personal data in any message):
- `LookupError`: no such consent of this resident's (another's ID, or one that never was);
- `ConsentRefused(code)`: the consent service refused the request (`consent_not_the_basis`,
  `categories_not_allowed`, `no_notice` for a purpose the portal offers no notice for, …);
- `ConsentApiError(code)`: the API did not answer as it should (down, or the key is wrong).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from contracts.consent import (
    ConsentGrant,
    ConsentMethod,
    ConsentRecord,
    DataUseReport,
    LawfulBasis,
)
from contracts.shares import DataCategory
from services.common.apitokens import CONSENT_API_AUDIENCE, ApiRole, mint_api_token

__all__ = [
    "CONTROLLER",
    "NOTICES",
    "PORTAL_SERVICE",
    "ConsentApi",
    "ConsentApiError",
    "ConsentNotice",
    "ConsentRefused",
]

log = structlog.get_logger(__name__)

CONTROLLER = "council"
"""The data controller every consent is given to (the policy's `controller`)."""

PORTAL_SERVICE = "portal"
"""The portal's own name, as a service, for the one call that is made as nobody in
particular (whether the ledger's chain verifies)."""

# Minted per call, so a few seconds would do; a minute allows for clock skew between hosts.
_TOKEN_TTL = timedelta(minutes=1)
_CONSENT_ID = re.compile(r"^[a-z]{3}_[0-9a-f]{32}$")


@dataclass(frozen=True)
class ConsentNotice:
    """What the portal asks a resident to agree to: which data goes to whom, and why."""

    purpose: str
    recipient: str
    categories: tuple[DataCategory, ...]
    version: str
    valid_for: timedelta = timedelta(days=365)


NOTICES: Mapping[tuple[str, str], ConsentNotice] = {
    (n.purpose, n.recipient): n
    for n in (
        ConsentNotice(
            purpose="bereavement-support-referral",
            recipient="bereavement-support",
            categories=(DataCategory.IDENTITY, DataCategory.CONTACT, DataCategory.DEATH),
            version="portal-bereavement-support-2026-12",
        ),
        ConsentNotice(
            purpose="blue-badge-renewal",
            recipient="blue-badge",
            categories=(DataCategory.IDENTITY, DataCategory.ADDRESS, DataCategory.DISABILITY),
            version="portal-blue-badge-2026-12",
        ),
        ConsentNotice(
            purpose="library-membership-offer",
            recipient="libraries",
            categories=(DataCategory.IDENTITY, DataCategory.CONTACT, DataCategory.ADDRESS),
            version="portal-libraries-2026-12",
        ),
    )
}
"""The consents a resident can give in the portal, by (purpose, recipient)."""


class ConsentRefused(Exception):
    """The consent service refused the request; `code` is safe to show and to log."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class ConsentApiError(Exception):
    """The consent API did not answer as it should; `code` says how, nothing more."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ConsentApi:
    """The consent service's API, through `http` (the portal's client: its timeouts and
    connection pool are the portal's to set and close)."""

    def __init__(
        self,
        base_url: str,
        auth_key: bytes,
        http: httpx.AsyncClient,
        *,
        notices: Mapping[tuple[str, str], ConsentNotice] = NOTICES,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._key = auth_key
        self._http = http
        self._notices = notices
        self._clock = clock

    # -- ports.Consents ---------------------------------------------------------------------

    async def consents(self, resident: str) -> Sequence[ConsentRecord]:
        body = await self._call("GET", f"/residents/{_part(resident)}/consents", resident)
        return [ConsentRecord.model_validate(c) for c in body]

    async def give(self, resident: str, purpose: str, recipient: str) -> ConsentRecord:
        notice = self._notices.get((purpose, recipient))
        if notice is None:
            raise ConsentRefused("no_notice")
        # Truncated to the second: the ledger and the record keep what the resident saw.
        given = self._clock().astimezone(UTC).replace(microsecond=0)
        grant = ConsentGrant(
            resident=resident,
            controller=CONTROLLER,
            recipient=recipient,
            purpose=purpose,
            data_categories=list(notice.categories),
            special_category=any(c.special for c in notice.categories),
            lawful_basis=LawfulBasis.CONSENT,
            method=ConsentMethod.PORTAL,
            given_at=given,
            notice_version=notice.version,
            expires_at=given + notice.valid_for,
        )
        body = await self._call("POST", "/consents", resident, json=grant.model_dump(mode="json"))
        record = ConsentRecord.model_validate(body)
        log.info("portal.consent_given", consent_id=record.consent_id, purpose=purpose)
        return record

    async def withdraw(self, resident: str, consent_id: str) -> ConsentRecord:
        if not _CONSENT_ID.fullmatch(consent_id):
            # Not an ID the service ever gave: not found, without asking it.
            raise LookupError("no_such_consent")
        body = await self._call("POST", f"/consents/{consent_id}/withdraw", resident)
        record = ConsentRecord.model_validate(body)
        log.info("portal.consent_withdrawn", consent_id=record.consent_id)
        return record

    async def ledger(self, resident: str) -> DataUseReport:
        body = await self._call("GET", f"/residents/{_part(resident)}/ledger", resident)
        return DataUseReport.model_validate(body)

    async def chain_verifies(self) -> bool:
        body = await self._call("GET", "/ledger/verification", None)
        return bool(body["verified"])

    # -- the wire ---------------------------------------------------------------------------

    def _token(self, resident: str | None) -> str:
        if resident is None:
            return mint_api_token(
                self._key,
                PORTAL_SERVICE,
                ApiRole.SERVICE,
                audience=CONSENT_API_AUDIENCE,
                ttl=_TOKEN_TTL,
            )
        return mint_api_token(
            self._key, resident, ApiRole.RESIDENT, audience=CONSENT_API_AUDIENCE, ttl=_TOKEN_TTL
        )

    async def _call(self, method: str, path: str, resident: str | None, *, json: Any = None) -> Any:
        """The answer's JSON body. `path` names no one but by key, and never goes into a
        log line or an error."""
        try:
            response = await self._http.request(
                method,
                self._base + path,
                json=json,
                headers={"Authorization": f"Bearer {self._token(resident)}"},
            )
        except httpx.HTTPError as error:
            log.warning("portal.consent_api_unreachable", error=type(error).__name__)
            raise ConsentApiError("consent_api_unreachable") from None
        if response.is_success:
            return response.json()
        code = _detail(response)
        if response.status_code == 404:
            raise LookupError("no_such_consent")
        if response.status_code in (409, 422):
            log.info("portal.consent_refused", status=response.status_code, code=code)
            raise ConsentRefused(code)
        log.warning("portal.consent_api_failed", status=response.status_code, code=code)
        raise ConsentApiError(f"consent_api_{response.status_code}")


def _part(value: str) -> str:
    """One path segment, whatever `value` holds."""
    return quote(value, safe="")


def _detail(response: httpx.Response) -> str:
    """The API's refusal code, when it gave one as a string (never a validation error's
    text, which may quote what was sent)."""
    try:
        body = response.json()
    except ValueError:
        return "unknown"
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) and detail.replace("_", "").isalnum() else "invalid"
