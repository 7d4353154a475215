"""What `lifeevents report` counts, read from Temporal: the one place that holds, for every life
event, when it happened, what each service did and when, and what the residents answered.

The stores could each say part of it (a service's action rows, the consent ledger's shares,
the intake's received events), but only with times each service keeps its own way, and not
for events that came straight onto Kafka. Temporal's workflow histories have it all in one
shape: visibility lists the life-event workflows (the `LifeEventType` search attribute), and
each history gives

- the event's own time: the workflow's input (a CloudEvent), decrypted with the payload keys
  and read for its `time` alone;
- each action: an activity scheduled on a council service's task queue (not the workflow
  worker's, the consent gate's or the resident index's, which serve the workflow rather than
  the resident), done at its `ActivityTaskCompleted` event; compensations (`…undo…`) left out;
- each offer: a step the resident was asked about (a `notifications.send` of the
  `waiting.question` template, read for its step and template alone), and the resident's
  answer to it (the `confirm` update's input).

Histories are read one by one: a report over years of events is a batch job, not a query.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.converter import DataConverter

from contracts.temporal import Activity, SearchAttributes, TaskQueue
from deploy.report import Answer, LifeEventFacts, Report, figures
from services.common.codec import data_converter
from services.common.settings import Settings
from services.common.temporal import connect
from workflows.pipeline import ASKED_TEMPLATE, CONFIRM_WITHIN

__all__ = ["life_event_facts", "read_report"]

# Queues whose activities serve the workflow itself: the plan, the gate and the ledger, the
# resident index. What the council does for the resident runs on every other queue.
_NOT_ACTIONS = frozenset(
    q.value for q in (TaskQueue.WORKFLOWS, TaskQueue.CONSENT, TaskQueue.RESIDENTS)
)
_ASKED_SUFFIX = ":asked"
_CONFIRM_UPDATE = "confirm"


class _Occurred(BaseModel):
    """The one field of a life event the report reads; everything else is dropped unread."""

    model_config = ConfigDict(extra="ignore")
    time: datetime


class _Told(BaseModel):
    model_config = ConfigDict(extra="ignore")
    step: str
    template: str


class _Answered(BaseModel):
    model_config = ConfigDict(extra="ignore")
    step: str
    accept: bool


async def read_report(settings: Settings) -> Report:
    """The report over every life event the settings' Temporal namespace holds."""
    client = await connect(settings)
    return figures([facts async for facts in life_event_facts(client, data_converter(settings))])


async def life_event_facts(
    client: Client, converter: DataConverter, *, now: datetime | None = None
) -> AsyncIterator[LifeEventFacts]:
    """Every life-event workflow the client's namespace still holds, as report facts."""
    now = now or datetime.now(UTC)
    async for execution in client.list_workflows():
        event_type = execution.typed_search_attributes.get(SearchAttributes.LIFE_EVENT_TYPE)
        if event_type is None:
            continue
        history = await client.get_workflow_handle(
            execution.id, run_id=execution.run_id
        ).fetch_history()
        running = execution.status == WorkflowExecutionStatus.RUNNING
        yield await _facts(event_type, history.events, converter, running=running, now=now)


async def _facts(
    event_type: str,
    events: Sequence[HistoryEvent],
    converter: DataConverter,
    *,
    running: bool,
    now: datetime,
) -> LifeEventFacts:
    started = events[0].workflow_execution_started_event_attributes
    [occurred] = await converter.decode(started.input.payloads[:1], [_Occurred])
    scheduled: dict[int, HistoryEvent] = {}
    actions: dict[str, datetime] = {}
    asked: dict[str, datetime] = {}
    answers: dict[str, bool] = {}
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            source = scheduled[event.activity_task_completed_event_attributes.scheduled_event_id]
            attributes = source.activity_task_scheduled_event_attributes
            name, queue = attributes.activity_type.name, attributes.task_queue.name
            done = _when(event)
            if queue not in _NOT_ACTIONS and "undo" not in name:
                actions.setdefault(name, done)
            if name == Activity.NOTIFICATIONS_SEND:
                [told] = await converter.decode(attributes.input.payloads[:1], [_Told])
                if told.template == ASKED_TEMPLATE and told.step.endswith(_ASKED_SUFFIX):
                    asked.setdefault(told.step.removesuffix(_ASKED_SUFFIX), done)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            if request.input.name == _CONFIRM_UPDATE:
                [answer] = await converter.decode(request.input.args.payloads[:1], [_Answered])
                answers[answer.step] = answer.accept
    offers: dict[str, Answer] = {}
    for step in asked.keys() | answers.keys():
        if step in answers:
            offers[step] = Answer.ACCEPTED if answers[step] else Answer.DECLINED
        elif running and now - asked[step] < CONFIRM_WITHIN:
            offers[step] = Answer.WAITING
        else:
            offers[step] = Answer.NO_ANSWER
    return LifeEventFacts(event_type, occurred.time, actions, offers)


def _when(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)
