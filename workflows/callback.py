"""CallbackWorkflow: a resident asked, in the portal, for a person to call them.

The portal starts it (`contracts.temporal.CALLBACK_WORKFLOW`, ID `callback_id()`, with a
`CallbackRequest`); it opens one caseworker task, `call-me`, and completes when a caseworker
closes it (update `resolve_task`). Not closed within the pipeline's `CASEWORKER_WITHIN`, it
is escalated, and still waits. The request holds no contact details: the caseworker looks
the resident up in the index.

It is a `LifeEventPipeline`, without a life event: what it needs is exactly the pipeline's
caseworker-task part (the `timeline` and `record` queries, `resolve_task`, the stages and
search attributes, `settle`'s escalation), so the caseworker console and the resident's
portal read and act on it as on any other workflow, and the rules for tasks live in one
place. The pipeline's other handlers refuse what does not apply here: `confirm` (nothing
waits for an answer), `decide_match` (no identity decision is open).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.temporal import CALLBACK_REQUESTED, CALLBACK_WORKFLOW, SearchAttributes
    from contracts.timeline import CallbackRequest, Outcome, StepStatus, TimelineEntry

from workflows.pipeline import LifeEventPipeline

__all__ = ["CALL_ME", "CallbackWorkflow"]

CALL_ME = "call-me"
"""The caseworker task (and the timeline's one step) of a callback."""

_CASEWORKER = "caseworker"


@workflow.defn(name=CALLBACK_WORKFLOW)
class CallbackWorkflow(LifeEventPipeline):
    @workflow.run
    async def run(self, request: CallbackRequest) -> Outcome:
        callback = workflow.info().workflow_id
        # The request's own ID is its workflow's (random: it says nothing of who asked).
        self._event_id = callback
        self._event_type = CALLBACK_REQUESTED
        self._about = (request.resident,)
        workflow.upsert_search_attributes(
            [
                SearchAttributes.LIFE_EVENT_TYPE.value_set(CALLBACK_REQUESTED),
                SearchAttributes.LIFE_EVENT_ID.value_set(callback),
            ]
        )
        # What the resident was looking at when they asked, for the caseworker to open.
        about = {"regarding": request.regarding, "step": request.step}
        self._entries[CALL_ME] = TimelineEntry(
            step=CALL_ME,
            service=_CASEWORKER,
            status=StepStatus.NEEDS_PERSON,
            reason="call_requested",
            references={name: value for name, value in about.items() if value is not None},
        )
        self._open_task(CALL_ME)
        await self.settle()
        self._update(
            CALL_ME,
            StepStatus.DONE,
            outcome="resolved_by_caseworker",
            references=self._entries[CALL_ME].references,
        )
        self._set_stage("complete")
        return Outcome(type=CALLBACK_REQUESTED, id=callback, stage=self._stage)
