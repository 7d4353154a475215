"""The caseworker queue on the real Temporal dev server: what visibility lists as needing a
person, escalated first and then oldest; a real move whose mover the real resident index
finds doubtful (two residents could be her), shown with the person and both candidates, the
fields that agree marked; the decision taken by the workflow, which then moves on.

Every other service the move calls is a stand-in (tests/support/standins.py). Visibility on
the dev server is eventually consistent: the tests poll.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr
from temporalio import workflow
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from contracts import from_structured
from contracts.residents import PersonDetails
from contracts.temporal import SEARCH_ATTRIBUTES, SearchAttributes, TaskQueue
from contracts.timeline import EventRecord, Outcome, Receipt, Timeline
from deploy.caseworker_adapters import IndexCandidates
from deploy.local.stack import StackConfig
from services.common.settings import Settings
from services.common.temporal import connect
from services.portal.ports import Answered, Candidate, QueueItem
from services.portal.queue import QueueUnavailable, TemporalQueue
from services.residents.activities import ResidentActivities
from services.residents.index import ResidentIndex
from services.residents.store import ResidentStore
from tests.support.standins import Council
from workflows.worker import build_worker

pytestmark = pytest.mark.stack

UI = "http://temporal-ui.example:8233"
EXAMPLE = json.loads(
    (
        Path(__file__).resolve().parents[3] / "contracts/examples/address-changed-household.json"
    ).read_text()
)
OLD_ADDRESS = EXAMPLE["data"]["old_address"]
ADA = {"name": {"given_names": "Ada", "family_name": "Testworth"}, "date_of_birth": "1980-01-02"}
T = TypeVar("T")


async def eventually(read: Callable[[], Awaitable[T]], check: Callable[[T], bool]) -> T:
    """Visibility catches up a moment after the workflows: ask until it says so."""
    seen: T | None = None
    for _ in range(150):
        seen = await read()
        if check(seen):
            return seen
        await asyncio.sleep(0.2)
    raise AssertionError(f"never got there: {seen}")


def settings_of(client: Client) -> Settings:
    return Settings(
        temporal_address=client.service_client.config.target_host,
        temporal_namespace=client.namespace,
        payload_keys=SecretStr(os.environ["LIFEEVENTS_PAYLOAD_KEYS"]),
    )


@pytest.fixture
async def client(stack: StackConfig, namespace: str) -> Client:
    """A client as the portal makes one (the project's codec), on a namespace of the test's
    own that knows the project's search attributes."""
    settings = Settings(
        temporal_address=stack.temporal_address,
        temporal_namespace=namespace,
        payload_keys=SecretStr(os.environ["LIFEEVENTS_PAYLOAD_KEYS"]),
    )
    made = await connect(settings)
    await made.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={
                key.name: IndexedValueType.Value(
                    f"INDEXED_VALUE_TYPE_{key.indexed_value_type.name}"
                )
                for key in SEARCH_ATTRIBUTES
            },
        )
    )
    return made


# --- ordering, on workflows that only say they need a person ----------------------------


@workflow.defn(sandboxed=False)
class NeedsPersonWorkflow:
    """Stands in for a life event waiting on a caseworker: its stage and tasks as given,
    each closed by `resolve_task`."""

    @workflow.init
    def __init__(self, stage: str, tasks: list[str]) -> None:
        # Here, not in run: an update may come in the first workflow task, before run.
        self._stage = stage
        self._tasks = list(tasks)

    @workflow.run
    async def run(self, stage: str, tasks: list[str]) -> str:
        workflow.upsert_search_attributes(
            [
                SearchAttributes.LIFE_EVENT_TYPE.value_set("lifeevents.death.registered.v1"),
                SearchAttributes.STAGE.value_set(stage),
                SearchAttributes.NEEDS_PERSON.value_set(bool(tasks)),
            ]
        )
        await workflow.wait_condition(lambda: not self._tasks)
        workflow.upsert_search_attributes([SearchAttributes.NEEDS_PERSON.value_set(False)])
        return "done"

    @workflow.query
    def timeline(self) -> Timeline:
        return Timeline(
            event_id="e",
            stage=self._stage,
            needs_person=bool(self._tasks),
            entries=[],
            caseworker_tasks=list(self._tasks),
        )

    @workflow.update
    def resolve_task(self, task: str) -> Receipt:
        self._tasks.remove(task)
        return Receipt(message="Task closed.")

    @resolve_task.validator
    def _resolvable(self, task: str) -> None:
        if task not in self._tasks or task.startswith("match:"):
            raise ValueError("No such open task (identity decisions use decide_match).")


class NoCandidates:
    async def candidates(self, person: PersonDetails, keys: Sequence[str]) -> list[Candidate]:
        raise AssertionError("no match task here")


async def start_waiting(
    client: Client, queue: str, stage: str, tasks: list[str]
) -> WorkflowHandle[Any, Any]:
    handle = await client.start_workflow(
        NeedsPersonWorkflow.run,
        args=[stage, tasks],
        id=f"lifeevent-{uuid.uuid4().hex}",
        task_queue=queue,
    )
    # Each one's start time after the one before: the queue orders by it.
    await asyncio.sleep(0.05)
    return handle


async def test_escalated_first_then_the_oldest_with_their_open_tasks(
    client: Client, namespace: str
) -> None:
    queue = TemporalQueue(client, UI, namespace, NoCandidates())
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[NeedsPersonWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        oldest = await start_waiting(client, task_queue, "needs_person", ["survivor-contact"])
        middle = await start_waiting(client, task_queue, "needs_person", ["confirm:library-card"])
        escalated = await start_waiting(
            client, task_queue, "escalated", ["contradiction:lifeevent-x", "undo-benefits"]
        )
        nobody = await start_waiting(client, task_queue, "acting", [])
        done = await start_waiting(client, task_queue, "needs_person", ["survivor-contact"])
        assert await done.execute_update("resolve_task", "survivor-contact", result_type=Receipt)
        assert await done.result() == "done"

        items = await eventually(queue.items, lambda found: len(found) == 3)

        assert [i.workflow_id for i in items] == [escalated.id, oldest.id, middle.id]
        assert [i.tasks for i in items] == [
            ("contradiction:lifeevent-x", "undo-benefits"),
            ("survivor-contact",),
            ("confirm:library-card",),
        ]
        assert [i.stage for i in items] == ["escalated", "needs_person", "needs_person"]
        assert {i.event_type for i in items} == {"lifeevents.death.registered.v1"}
        first = (await escalated.describe()).run_id
        assert items[0].temporal_ui_url == (
            f"{UI}/namespaces/{namespace}/workflows/{escalated.id}/{first}/history"
        )
        assert nobody.id not in {i.workflow_id for i in items}

        # Dealt with: the task closes, and the queue no longer shows it.
        assert await queue.resolve(oldest.id, "survivor-contact") == Answered(True, "Task closed.")
        assert await oldest.result() == "done"
        # Refused by the workflow (not its task), or by Temporal (it has finished): answers.
        assert await queue.resolve(middle.id, "survivor-contact") == Answered(
            False, "No such open task (identity decisions use decide_match)."
        )
        assert await queue.resolve(oldest.id, "survivor-contact") == Answered(
            False, "This case is no longer open."
        )
        items = await eventually(queue.items, lambda found: len(found) == 2)
        assert [i.workflow_id for i in items] == [escalated.id, middle.id]
        # Not a match: nothing to decide about a person there.
        case = await queue.case(middle.id, "confirm:library-card")
        assert case is not None
        assert (case.person, case.candidates) == ({}, ())
        assert await queue.case(middle.id, "match:0") is None  # no such task
        assert await queue.case("lifeevent-unknown", "match:0") is None
        for handle in (middle, escalated):
            await handle.terminate()


# --- a doubtful match: the real move, the real resident index ----------------------------


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[ResidentIndex]:
    numbers = iter(range(1, 1000))
    async with await ResidentStore.open(
        f"sqlite+aiosqlite:///{tmp_path / 'residents.db'}"
    ) as store:
        yield ResidentIndex(store, new_key=lambda: f"res_Candidate{next(numbers):010d}")


async def seed_two_who_could_be_ada(index: ResidentIndex) -> tuple[str, str]:
    """Ada Testworth, birth date unknown, at the address Ada moves from; and A. Testworth,
    born on Ada's birthday, with an NHS number."""
    [first] = await index.match_people(
        [
            PersonDetails.model_validate(
                {"name": {"given_names": "Ada", "family_name": "Testworth"}, "address": OLD_ADDRESS}
            )
        ]
    )
    [second] = await index.match_people(
        [
            PersonDetails.model_validate(
                {
                    "name": {"given_names": "A.", "family_name": "Testworth"},
                    "date_of_birth": "1980-01-02",
                    "nhs_number": "9990000034",
                }
            )
        ]
    )
    assert (first.outcome, second.outcome) == ("created", "created")
    assert (first.resident, second.resident) == (
        "res_Candidate0000000001",
        "res_Candidate0000000002",
    )
    return "res_Candidate0000000001", "res_Candidate0000000002"


async def test_a_doubtful_match_is_shown_with_its_candidates_and_decided(
    client: Client, namespace: str, index: ResidentIndex
) -> None:
    ada_without_birth, a_with_birth = await seed_two_who_could_be_ada(index)
    queue = TemporalQueue(client, UI, namespace, IndexCandidates(index.store))
    event = from_structured(
        {**EXAMPLE, "id": str(uuid.uuid4()), "data": {**EXAMPLE["data"], "movers": [ADA]}}
    )
    task_queue = f"lifeevent-{uuid.uuid4().hex}"
    council = Council()
    async with AsyncExitStack() as running:
        await running.enter_async_context(build_worker(client, task_queue))
        # The stand-ins on a client of their own: they make a residents worker too, never
        # run, and one client takes one worker per queue.
        for worker in council.workers(await connect(settings_of(client))):
            if worker.task_queue != TaskQueue.RESIDENTS:  # the real index serves it
                await running.enter_async_context(worker)
        await running.enter_async_context(
            Worker(
                client,
                task_queue=TaskQueue.RESIDENTS,
                activities=ResidentActivities(index).all,
            )
        )
        handle: WorkflowHandle[Any, Outcome] = await client.start_workflow(
            "MoveWorkflow",
            event,
            id=f"lifeevent-{uuid.uuid4().hex}",
            task_queue=task_queue,
            result_type=Outcome,
        )
        run_id = (await handle.describe()).run_id

        [item] = await eventually(queue.items, lambda found: len(found) == 1)
        assert item == QueueItem(
            workflow_id=handle.id,
            event_type="lifeevents.address.changed.v1",
            stage="matching",
            tasks=("match:0",),
            started_at=item.started_at,
            temporal_ui_url=f"{UI}/namespaces/{namespace}/workflows/{handle.id}/{run_id}/history",
        )
        assert item.started_at == (await handle.describe()).start_time

        case = await queue.case(handle.id, "match:0")
        assert case is not None
        assert case.item.tasks == ("match:0",)
        assert case.person == {
            "given_names": "Ada",
            "family_name": "Testworth",
            "date_of_birth": "1980-01-02",
            "address": "3 Sample Close, Exampletown, AB1 3DE",
        }
        assert case.candidates == (
            Candidate(
                resident=ada_without_birth,
                fields={
                    "given_names": "Ada",
                    "family_name": "Testworth",
                    "address": "3 Sample Close, Exampletown, AB1 3DE",
                },
                matched=frozenset({"given_names", "family_name", "address"}),
            ),
            Candidate(
                resident=a_with_birth,
                fields={
                    "given_names": "A.",
                    "family_name": "Testworth",
                    "date_of_birth": "1980-01-02",
                    "nhs_number": "9990000034",
                },
                matched=frozenset({"family_name", "date_of_birth"}),
            ),
        )
        assert await queue.about(handle.id) == ()  # nobody matched yet

        # Identity decisions are not "dealt with" outside the decision.
        assert await queue.resolve(handle.id, "match:0") == Answered(
            False, "No such open task (identity decisions use decide_match)."
        )
        answer = await queue.decide_match(handle.id, "match:0", "link", ada_without_birth)
        assert answer == Answered(True, "Decision recorded.")
        assert await queue.decide_match(
            handle.id, "match:0", "link", ada_without_birth
        ) == Answered(False, "No identity decision is waiting for that mover.")

        outcome = await asyncio.wait_for(handle.result(), 60)
        assert outcome.stage == "complete"
        seen: Timeline = await handle.query("timeline", result_type=Timeline)
        assert seen.caseworker_tasks == []
        assert {e.step: e.status.value for e in seen.entries}["council-tax"] == "done"
        record: EventRecord = await handle.query("record", result_type=EventRecord)
        assert record.about == (ada_without_birth,)
        assert await queue.about(handle.id) == (ada_without_birth,)
        # The move went to the resident the caseworker chose.
        assert {a.residents for a in council.actions} == {(ada_without_birth,)}
        assert await queue.case(handle.id, "match:0") is None
        await eventually(queue.items, lambda found: found == [])


async def test_a_decision_about_a_closed_workflow_is_refused(
    client: Client, namespace: str
) -> None:
    queue = TemporalQueue(client, UI, namespace, NoCandidates())
    answer = await queue.decide_match("lifeevent-never-started", "match:0", "create", None)
    assert answer == Answered(False, "This case is no longer open.")
    assert await queue.decide_match(
        "lifeevent-never-started", "survivor-contact", "create", None
    ) == (Answered(False, "This task is not an identity decision."))


class Unreachable:
    """A client whose server cannot be reached (a lazily connected client says so)."""

    data_converter = None

    def list_workflows(self, query: str) -> Any:
        raise RuntimeError("Failed client connect: Server connection error")

    def get_workflow_handle(self, workflow_id: str, **_: Any) -> Any:
        raise AssertionError("not reached")


async def test_temporal_out_of_reach_is_unavailable_not_an_error() -> None:
    queue = TemporalQueue(Unreachable(), UI, "default", NoCandidates())  # type: ignore[arg-type]
    with pytest.raises(QueueUnavailable):
        await queue.items()
