"""A round trip through Temporal: a workflow that runs one activity.

Used by `lifeevents run` to show the worker is live, and by tests to prove a workflow
completes on the real server. It carries no personal data.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from contracts.temporal import Activity

__all__ = ["StackCheckWorkflow", "echo"]


@activity.defn(name=Activity.ECHO)
async def echo(text: str) -> str:
    return f"echo: {text}"


@workflow.defn
class StackCheckWorkflow:
    @workflow.run
    async def run(self, text: str) -> str:
        echoed: str = await workflow.execute_activity(
            Activity.ECHO, text, result_type=str, start_to_close_timeout=timedelta(seconds=30)
        )
        return echoed
