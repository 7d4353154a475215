"""Caseworkers' actions on the consent ledger (`ports.CaseworkerLedger`), through the consent
API's `POST /caseworker-actions`, as the service `portal`.

Each action gets its ID once (`cwa_…`), and a failed call is tried again with the same ID:
the consent service records an action ID once, so a retry after a lost answer writes
nothing twice. An action about nobody known yet (a move's doubtful match before anyone is
matched, shown no candidate) has no resident to be on the ledger of: it is logged, not sent.
When the consent service cannot be reached, `LedgerUnavailable`: the page says so, and the
caller decides what stands (a claim is let go again; a decision already taken by the
workflow stands, and the failure is logged with the action's ID for ops to put right).

Nothing personal goes in a log line: residents are counted, never named.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import get_args

import httpx
import structlog

from contracts.consent import CaseworkerAction, CaseworkerActionName, CaseworkerActionRecorded
from services.common.apitokens import CONSENT_API_AUDIENCE, ApiRole, mint_api_token

__all__ = ["ACTIONS", "ConsentCaseworkerLedger", "LedgerUnavailable"]

log = structlog.get_logger(__name__)

ACTIONS: frozenset[str] = frozenset(get_args(CaseworkerActionName))
_PATH = "/caseworker-actions"
_TRIES = 3
_PAUSE = 0.2  # seconds, doubled after each failed try


class LedgerUnavailable(Exception):
    """The consent service did not record the action (a code, never a value)."""


class ConsentCaseworkerLedger:
    """`client` has the consent API as its base URL; `key` is the consent API's auth key,
    which the portal signs its own service tokens with (subject `service`)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        key: bytes,
        *,
        service: str = "portal",
        token_ttl: timedelta = timedelta(minutes=5),
    ) -> None:
        self._client = client
        self._key = key
        self._service = service
        self._ttl = token_ttl

    async def record(
        self, caseworker: str, action: str, workflow_id: str, task: str, residents: Sequence[str]
    ) -> None:
        if action not in ACTIONS:
            raise ValueError("unknown caseworker action")
        about = tuple(dict.fromkeys(residents))
        if not about:
            log.info(
                "caseworker.action_about_nobody", action=action, workflow_id=workflow_id, task=task
            )
            return
        body = CaseworkerAction.model_validate(
            {
                "action_id": "cwa_" + secrets.token_hex(16),
                "caseworker": caseworker,
                "action": action,
                "workflow_id": workflow_id,
                "task": task,
                "residents": about,
            }
        )
        recorded = await self._post(body)
        log.info(
            "caseworker.action_on_ledger",
            action=action,
            workflow_id=workflow_id,
            task=task,
            action_id=recorded.action_id,
            entries=len(recorded.ledger_seqs),
        )

    async def _post(self, body: CaseworkerAction) -> CaseworkerActionRecorded:
        pause = _PAUSE
        problem = "unreachable"
        for attempt in range(1, _TRIES + 1):
            token = mint_api_token(
                self._key,
                self._service,
                ApiRole.SERVICE,
                audience=CONSENT_API_AUDIENCE,
                ttl=self._ttl,
            )
            try:
                response = await self._client.post(
                    _PATH,
                    content=body.model_dump_json(),
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                    },
                )
            except httpx.HTTPError as error:
                problem = type(error).__name__
            else:
                if response.status_code in (200, 201):
                    return CaseworkerActionRecorded.model_validate_json(response.content)
                problem = f"status_{response.status_code}"
                if response.status_code < 500:  # refused: it would be refused again
                    log.error(
                        "caseworker.ledger_refused", action_id=body.action_id, problem=problem
                    )
                    raise LedgerUnavailable(problem)
            log.warning(
                "caseworker.ledger_retry",
                action_id=body.action_id,
                attempt=attempt,
                problem=problem,
            )
            if attempt < _TRIES:
                await asyncio.sleep(pause)
                pause *= 2
        log.error("caseworker.ledger_failed", action_id=body.action_id, problem=problem)
        raise LedgerUnavailable(problem)
