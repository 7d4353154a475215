"""The consent gate as Temporal activities, for workflows, on the `consent` task queue.

Workflows call them by name:

    decision = await workflow.execute_activity(
        "decide_share", ShareRequest(...), result_type=ShareDecision,
        task_queue="consent", start_to_close_timeout=timedelta(seconds=10))

| activity | input | result |
| --- | --- | --- |
| `decide_share` | `ShareRequest` | `ShareDecision` |
| `record_share` | `ShareCompletion` | `ShareRecorded` |
| `record_death` | `DeathRecord` | `DeathRecorded` |
| `record_informant_agreement` | `InformantAgreement` | `list[ConsentRecord]` |
| `undo_death` | `UndoRequest` | `ActionOutcome` |

A refusal the gate gives (a forged token, a share after withdrawal) is a non-retryable
`ApplicationError` whose type is `ShareRefused` and whose message is a code; an informant's
agreement the policy does not allow (no consent-based share to a recipient, a category it
does not list) is one of type `ConsentRefused`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.actions import ActionOutcome, UndoRequest
from contracts.consent import (
    ConsentRecord,
    DeathRecorded,
    InformantAgreement,
    ShareCompletion,
    ShareDecision,
    ShareRecorded,
    ShareRequest,
)
from contracts.residents import DeathRecord
from contracts.temporal import Activity
from services.consent.gate import ConsentGate, GateError

__all__ = ["ConsentActivities"]


class ConsentActivities:
    def __init__(self, gate: ConsentGate) -> None:
        self.gate = gate

    @activity.defn(name=Activity.DECIDE_SHARE)
    async def decide_share(self, request: ShareRequest) -> ShareDecision:
        """Allow (with basis and share token), deny (with reason) or needs_consent.

        Each call is a new decision on the ledger: a retried activity records a second
        decision, never a second share."""
        return await self.gate.decide_share(request)

    @activity.defn(name=Activity.RECORD_SHARE)
    async def record_share(self, completion: ShareCompletion) -> ShareRecorded:
        """Idempotent: the same token recorded twice gives the same ledger entry."""
        try:
            return await self.gate.record_share(completion)
        except GateError as error:
            raise ApplicationError(error.code, type="ShareRefused", non_retryable=True) from None

    @activity.defn(name=Activity.RECORD_DEATH_IN_GATE)
    async def record_death(self, death: DeathRecord) -> DeathRecorded:
        """Once per resident: every share token issued about them afterwards is stamped
        `deceased`. A repeat changes nothing and answers with the first ledger entry."""
        return await self.gate.record_death(death)

    @activity.defn(name=Activity.RECORD_INFORMANT_AGREEMENT)
    async def record_informant_agreement(
        self, agreement: InformantAgreement
    ) -> list[ConsentRecord]:
        """One consent per recipient, method `informant`; idempotent on workflow_id + step +
        recipient (a retry returns the same consents)."""
        try:
            return await self.gate.record_informant_agreement(agreement)
        except GateError as error:
            raise ApplicationError(error.code, type="ConsentRefused", non_retryable=True) from None

    @activity.defn(name=Activity.GATE_UNDO_DEATH)
    async def undo_death(self, request: UndoRequest) -> ActionOutcome:
        """The deaths the workflow recorded are forgotten (its life event was withdrawn),
        each with a ledger entry beside the one that recorded it. Idempotent: a repeat
        answers `already_undone`; a workflow that recorded none, `nothing_to_undo`."""
        return await self.gate.undo_death(request)

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [
            self.decide_share,
            self.record_share,
            self.record_death,
            self.record_informant_agreement,
            self.undo_death,
        ]
