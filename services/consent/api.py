"""The consent HTTP API: for the resident portal and for services outside Temporal.

Every route but /health and /share-token-key needs a bearer token (see `auth`). Residents
see and change only their own consents, objections and ledger: another resident's are 403
by resident key in the path, 404 by consent ID (so IDs cannot be probed). Services decide
and record shares, and may record or withdraw a consent on a resident's behalf (a paper form,
a recorded call); they cannot read a resident's ledger. The portal's caseworker console
puts caseworkers' actions on the ledger (`/caseworker-actions`), as a service.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from contracts.consent import (
    CaseworkerAction,
    CaseworkerActionRecorded,
    ConsentGrant,
    ConsentRecord,
    DataUseReport,
    Objection,
    ObjectionRequest,
    ShareCompletion,
    ShareDecision,
    ShareRecorded,
    ShareRequest,
)
from contracts.keys import RESIDENT_KEY_PATTERN, Code
from services.common.sharetokens import public_key_pem
from services.consent.auth import ApiAuth, AuthError, Caller, Role
from services.consent.gate import ConsentGate, GateError
from services.consent.ledger import verify_ledger

__all__ = ["build_api"]


class Problem(BaseModel):
    detail: str


class Unprocessable(BaseModel):
    detail: str | list[dict[str, Any]] = Field(
        description="A gate refusal code, or the request validation errors."
    )


class PublicKey(BaseModel):
    alg: str
    public_key_pem: str


class Health(BaseModel):
    status: str


class ObjectionBody(BaseModel):
    purpose: Code


class LedgerVerification(BaseModel):
    """Whether the ledger's hash chain holds, and over how many entries: nothing else (where
    a broken chain breaks is for ops, `lifeevents ledger verify`)."""

    verified: bool
    entries: int


class _Verifications:
    """The last walk of the chain, reused for `max_age`: a walk reads every entry (seconds
    over millions), so page views must not each start one. Callers that come while a walk
    runs wait for it rather than start their own."""

    def __init__(self, gate: ConsentGate, max_age: timedelta) -> None:
        self._gate = gate
        self._max_age = max_age.total_seconds()
        self._lock = asyncio.Lock()
        self._last: tuple[float, LedgerVerification] | None = None

    async def latest(self) -> LedgerVerification:
        async with self._lock:
            if self._last is None or time.monotonic() - self._last[0] >= self._max_age:
                result = await verify_ledger(self._gate.store.engine)
                self._last = (
                    time.monotonic(),
                    LedgerVerification(verified=result.ok, entries=result.entries),
                )
            return self._last[1]


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body is not JSON."},
    401: {"model": Problem, "description": "No valid bearer token."},
    403: {"model": Problem, "description": "Not yours, not for your role, or a bad token."},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such object of yours."}
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "Refused by the gate (a code)."}
}
_UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"model": Unprocessable, "description": "Invalid, or refused by the gate (a code)."}
}

ResidentPath = Annotated[str, Path(pattern=RESIDENT_KEY_PATTERN)]
IdPath = Annotated[str, Path(pattern=r"^[a-z]{3}_[0-9a-f]{32}$")]


_bearer = HTTPBearer(auto_error=False)


async def _caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None:
        raise HTTPException(401, "missing_token", headers={"WWW-Authenticate": "Bearer"})
    auth: ApiAuth = request.app.state.auth
    try:
        return auth.authenticate(credentials.credentials)
    except AuthError:
        raise HTTPException(401, "invalid_token", headers={"WWW-Authenticate": "Bearer"}) from None


# Module level, so that FastAPI can resolve the annotation (this module's annotations are
# strings, looked up in its globals).
CallerDep = Annotated[Caller, Depends(_caller)]


def build_api(
    gate: ConsentGate, auth: ApiAuth, *, verification_max_age: timedelta = timedelta(minutes=1)
) -> FastAPI:
    app = FastAPI(
        title="Life Events consent gate",
        version="1",
        description="Consent records, objections, share decisions and the resident's "
        "data-use ledger. Bearer tokens: residents (from the portal) and services.",
    )
    app.state.auth = auth
    verifications = _Verifications(gate, verification_max_age)

    def require_service(who: Caller) -> None:
        if who.role is not Role.SERVICE:
            raise HTTPException(403, "services_only")

    def require_resident(who: Caller, resident: str) -> None:
        if not who.is_resident(resident):
            raise HTTPException(403, "not_your_record")

    @app.exception_handler(GateError)
    async def gate_error(_request: Request, error: GateError) -> JSONResponse:
        return JSONResponse({"detail": error.code}, status_code=error.status)

    @app.get("/health", response_model=Health)
    async def health() -> Health:
        return Health(status="ok")

    @app.get("/share-token-key", response_model=PublicKey)
    async def share_token_key() -> PublicKey:
        """The public key receivers verify share tokens with."""
        return PublicKey(alg="EdDSA", public_key_pem=public_key_pem(gate.public_key))

    @app.post(
        "/decisions",
        response_model=ShareDecision,
        responses={**_ERRORS, **_UNPROCESSABLE},
    )
    async def decide_share(request: ShareRequest, who: CallerDep) -> ShareDecision:
        """May these categories of this resident's data go to that recipient, for that
        purpose? An allow carries the share token the recipient will ask for."""
        require_service(who)
        return await gate.decide_share(request)

    @app.post(
        "/shares",
        response_model=ShareRecorded,
        responses={**_ERRORS, **_NOT_FOUND, **_CONFLICT, **_UNPROCESSABLE},
    )
    async def record_share(completion: ShareCompletion, who: CallerDep) -> ShareRecorded:
        """The data under this share token was handed over: put the share on the ledger."""
        require_service(who)
        return await gate.record_share(completion)

    @app.post(
        "/consents",
        response_model=ConsentRecord,
        status_code=status.HTTP_201_CREATED,
        responses={**_ERRORS, **_UNPROCESSABLE},
    )
    async def give_consent(grant: ConsentGrant, who: CallerDep) -> ConsentRecord:
        if who.role is Role.RESIDENT:
            require_resident(who, grant.resident)
        return await gate.give_consent(grant)

    async def own_consent(who: Caller, consent_id: str) -> ConsentRecord:
        record = await gate.consent(consent_id)
        # Another resident's consent is "not found", so that IDs cannot be probed.
        if record is None or (who.role is Role.RESIDENT and record.resident != who.subject):
            raise HTTPException(404, "not_found")
        return record

    @app.get(
        "/consents/{consent_id}",
        response_model=ConsentRecord,
        responses={**_ERRORS, **_NOT_FOUND},
    )
    async def get_consent(consent_id: IdPath, who: CallerDep) -> ConsentRecord:
        if who.role is not Role.RESIDENT:
            raise HTTPException(403, "residents_only")
        return await own_consent(who, consent_id)

    @app.post(
        "/consents/{consent_id}/withdraw",
        response_model=ConsentRecord,
        responses={**_ERRORS, **_NOT_FOUND},
    )
    async def withdraw_consent(consent_id: IdPath, who: CallerDep) -> ConsentRecord:
        """One call, one click: withdrawn at once, and the recipient is told to stop."""
        await own_consent(who, consent_id)
        return await gate.withdraw_consent(consent_id)

    @app.get(
        "/residents/{resident}/consents",
        response_model=list[ConsentRecord],
        responses=_ERRORS,
    )
    async def list_consents(resident: ResidentPath, who: CallerDep) -> list[ConsentRecord]:
        require_resident(who, resident)
        return await gate.consents_of(resident)

    @app.get(
        "/residents/{resident}/ledger",
        response_model=DataUseReport,
        responses=_ERRORS,
    )
    async def data_use(resident: ResidentPath, who: CallerDep) -> DataUseReport:
        """Who received which categories of this resident's data, when, why and on what
        basis (UK GDPR Art. 15), and every decision about it."""
        require_resident(who, resident)
        return await gate.data_use(resident)

    @app.get(
        "/residents/{resident}/objections",
        response_model=list[Objection],
        responses=_ERRORS,
    )
    async def list_objections(resident: ResidentPath, who: CallerDep) -> list[Objection]:
        require_resident(who, resident)
        return await gate.objections_of(resident)

    @app.post(
        "/residents/{resident}/objections",
        response_model=Objection,
        status_code=status.HTTP_201_CREATED,
        responses={**_ERRORS, **_CONFLICT},
    )
    async def object_to_purpose(
        resident: ResidentPath, body: ObjectionBody, who: CallerDep
    ) -> Objection:
        require_resident(who, resident)
        return await gate.object(ObjectionRequest(resident=resident, purpose=body.purpose))

    @app.post(
        "/residents/{resident}/objections/{objection_id}/withdraw",
        response_model=Objection,
        responses={**_ERRORS, **_NOT_FOUND},
    )
    async def withdraw_objection(
        resident: ResidentPath, objection_id: IdPath, who: CallerDep
    ) -> Objection:
        require_resident(who, resident)
        return await gate.withdraw_objection(resident, objection_id)

    @app.post(
        "/caseworker-actions",
        response_model=CaseworkerActionRecorded,
        status_code=status.HTTP_201_CREATED,
        responses={**_ERRORS, **_CONFLICT, **_UNPROCESSABLE},
    )
    async def record_caseworker_action(
        action: CaseworkerAction, who: CallerDep
    ) -> CaseworkerActionRecorded:
        """A caseworker's action on a life event's task (the caseworker console): one ledger
        entry of kind `caseworker` per resident it concerns, naming the caseworker by their
        pseudonymous ID. Services only; idempotent on `action_id`."""
        require_service(who)
        return await gate.record_caseworker_action(action)

    @app.get(
        "/ledger/verification",
        response_model=LedgerVerification,
        responses=_ERRORS,
    )
    async def ledger_verification(who: CallerDep) -> LedgerVerification:
        """Whether the ledger's hash chain verifies from its first entry to its head (as of
        the last walk, at most a minute ago). Any authenticated caller, resident or service:
        the answer says nothing about anyone."""
        del who  # authenticated is all it takes
        return await verifications.latest()

    return app
