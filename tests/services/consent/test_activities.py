"""The gate as Temporal activities, called from a real workflow on the time-skipping server:
consent withdrawn between two shares of one workflow denies the second, on the ledger."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from contracts.consent import (
    ConsentGrant,
    Decision,
    ShareCompletion,
    ShareDecision,
    ShareRecorded,
    ShareRequest,
)
from contracts.temporal import Activity
from services.consent.activities import ConsentActivities
from services.consent.gate import ConsentGate
from services.consent.ledger import verify_ledger


@workflow.defn(name="ConsentTwoSharesTest")
class TwoSharesWorkflow:
    """Shares twice, for one purpose, with a pause between that the test fills."""

    def __init__(self) -> None:
        self.resume = False
        self.first_done = False

    @workflow.run
    async def run(self, request: ShareRequest, consent_queue: str) -> list[ShareDecision]:
        decisions = []
        for round_ in range(2):
            decision = await workflow.execute_activity(
                Activity.DECIDE_SHARE,
                request,
                result_type=ShareDecision,
                task_queue=consent_queue,
                start_to_close_timeout=timedelta(seconds=10),
            )
            decisions.append(decision)
            if decision.share_token is not None:
                # ... the recipient verified the token and took the data ...
                await workflow.execute_activity(
                    Activity.RECORD_SHARE,
                    ShareCompletion(share_token=decision.share_token),
                    result_type=ShareRecorded,
                    task_queue=consent_queue,
                    start_to_close_timeout=timedelta(seconds=10),
                )
            if round_ == 0:
                self.first_done = True
                await workflow.wait_condition(lambda: self.resume)
        return decisions

    @workflow.signal
    def proceed(self) -> None:
        self.resume = True

    @workflow.query
    def first_share_done(self) -> bool:
        return self.first_done


async def wait_for_first_share(handle: WorkflowHandle[TwoSharesWorkflow, object]) -> None:
    for _ in range(200):
        if await handle.query(TwoSharesWorkflow.first_share_done):
            return
        await asyncio.sleep(0.05)
    pytest.fail("the first share never completed")


async def test_withdrawal_between_two_shares_denies_the_second(
    time_skipping_env: WorkflowEnvironment,
    sqlite_gate: ConsentGate,
    resident: str,
    make_grant: Callable[..., ConsentGrant],
    make_request: Callable[..., ShareRequest],
) -> None:
    gate = sqlite_gate
    consent = await gate.give_consent(make_grant(resident))
    request = make_request(
        resident, "bereavement-support-referral", "bereavement-support", ["identity", "death"]
    )
    consent_queue = f"consent-{uuid.uuid4().hex[:8]}"
    workflow_queue = f"workflows-{uuid.uuid4().hex[:8]}"
    client = time_skipping_env.client
    async with (
        Worker(client, task_queue=consent_queue, activities=ConsentActivities(gate).all),
        Worker(
            client,
            task_queue=workflow_queue,
            workflows=[TwoSharesWorkflow],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ),
    ):
        handle = await client.start_workflow(
            TwoSharesWorkflow.run,
            args=[request, consent_queue],
            id=f"two-shares-{uuid.uuid4().hex}",
            task_queue=workflow_queue,
        )
        await wait_for_first_share(handle)
        await gate.withdraw_consent(consent.consent_id)
        await handle.signal(TwoSharesWorkflow.proceed)
        first, second = await handle.result()

    assert (first.decision, first.reason) == (Decision.ALLOW, "consent_given")
    assert (second.decision, second.reason) == (Decision.DENY, "consent_withdrawn")
    assert second.share_token is None
    report = await gate.data_use(resident)
    assert [(e.kind, e.outcome, e.reason) for e in report.entries] == [
        ("consent", "given", "portal"),
        ("decision", "allow", "consent_given"),
        ("share", "completed", "share_recorded"),
        ("consent", "withdrawn", "resident_withdrew"),
        ("decision", "deny", "consent_withdrawn"),
    ]
    assert report.entries[-1].ref == second.decision_id
    assert [r.ref for r in report.received] == [first.decision_id]
    assert (await verify_ledger(gate.store.engine)).ok


async def test_record_share_refuses_a_bad_token_without_retrying(sqlite_gate: ConsentGate) -> None:
    activities = ConsentActivities(sqlite_gate)
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(
            activities.record_share, ShareCompletion(share_token="forged.token.value")
        )
    assert refused.value.type == "ShareRefused"
    assert refused.value.non_retryable
    assert refused.value.message == "token_malformed"
