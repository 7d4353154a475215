"""One workflow per life-event type, under the names `workflows.routing` starts.

Births and deaths, for now, record their event and end; moves carry their plan through
(`workflows.move`). Each workflow moves to a module of its own once it has a body.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import BirthRegisteredV1, CloudEvent, DeathRegisteredV1

from workflows.move import MoveWorkflow
from workflows.recording import Outcome, record_received

__all__ = ["WORKFLOWS", "BereavementWorkflow", "BirthWorkflow", "MoveWorkflow"]


@workflow.defn
class BirthWorkflow:
    @workflow.run
    async def run(self, event: CloudEvent[BirthRegisteredV1]) -> Outcome:
        return record_received(event)


@workflow.defn
class BereavementWorkflow:
    @workflow.run
    async def run(self, event: CloudEvent[DeathRegisteredV1]) -> Outcome:
        return record_received(event)


WORKFLOWS = (BirthWorkflow, MoveWorkflow, BereavementWorkflow)
