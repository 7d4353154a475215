"""The consent gate as Temporal activities, for workflows, on the `consent` task queue.

Workflows call them by name:

    decision = await workflow.execute_activity(
        "decide_share", ShareRequest(...), result_type=ShareDecision,
        task_queue="consent", start_to_close_timeout=timedelta(seconds=10))

A refusal the gate gives (a forged token, a share after withdrawal) is a non-retryable
`ApplicationError` whose type is `ShareRefused` and whose message is a code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.consent import ShareCompletion, ShareDecision, ShareRecorded, ShareRequest
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

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [self.decide_share, self.record_share]
