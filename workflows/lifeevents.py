"""One workflow per life-event type, under the names `workflows.routing` starts.

For now each records its event and ends; the service plans (council tax, school admissions,
benefits, electoral register…) grow here, one module per workflow once they have bodies.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import AddressChangedV1, BirthRegisteredV1, CloudEvent, DeathRegisteredV1

from workflows.recording import Outcome, record_received

__all__ = ["WORKFLOWS", "BereavementWorkflow", "BirthWorkflow", "MoveWorkflow"]


@workflow.defn
class BirthWorkflow:
    @workflow.run
    async def run(self, event: CloudEvent[BirthRegisteredV1]) -> Outcome:
        return record_received(event)


@workflow.defn
class MoveWorkflow:
    @workflow.run
    async def run(self, event: CloudEvent[AddressChangedV1]) -> Outcome:
        return record_received(event)


@workflow.defn
class BereavementWorkflow:
    @workflow.run
    async def run(self, event: CloudEvent[DeathRegisteredV1]) -> Outcome:
        return record_received(event)


WORKFLOWS = (BirthWorkflow, MoveWorkflow, BereavementWorkflow)
