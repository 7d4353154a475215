"""Whatever order a move, its re-sending, its correction and its withdrawal arrive in, and
however far each has got when the next arrives, what stands in the end is what the last
truthful version alone would have left: nothing once it is withdrawn, else the corrected
facts once corrected, else the facts first sent.

Each example starts the events as the orchestrator does (`WorkflowStarter`: one workflow
per event source and id, a re-sent event starts nothing) on a time-skipping server of its
own, every service stood in for; then the same is done for the truth alone, and the two
compared: the service actions still in effect (done and not undone), each with exactly the
data it received per resident, and the moves the resident index holds.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from contracts import CloudEvent, from_structured
from contracts.temporal import WORKFLOW_FOR_EVENT_TYPE, corrected_id, workflow_id_for
from services.orchestrator.starter import WorkflowStarter
from tests.support.standins import Council, running
from tests.support.time_skipping import time_skipping

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"
MOVE = json.loads((EXAMPLES / "address-changed-household.json").read_text())
CORRECTED = json.loads((EXAMPLES / "event-corrected.json").read_text())
WITHDRAWN = json.loads((EXAMPLES / "event-withdrawn.json").read_text())

KINDS = ("original", "resent", "correction", "withdrawal")
# An adult who moves alone: no step waits for an answer, so every run ends by itself.
MOVER = MOVE["data"]["movers"][0]


def versions() -> dict[str, CloudEvent[Any]]:
    """One move (sent once, and again under the same id), its correction and withdrawal."""
    move_id = str(uuid.uuid4())
    data = {**MOVE["data"], "movers": [MOVER]}
    original = from_structured({**MOVE, "id": move_id, "data": data})
    correction = from_structured(
        {
            **CORRECTED,
            "id": str(uuid.uuid4()),
            "source": MOVE["source"],
            "data": {
                "corrects": {"source": MOVE["source"], "id": move_id},
                "reason": "wrong_date",
                "corrected": {"type": MOVE["type"], "data": {**data, "move_date": "2025-10-14"}},
            },
        }
    )
    withdrawal = from_structured(
        {
            **WITHDRAWN,
            "id": str(uuid.uuid4()),
            "source": MOVE["source"],
            "data": {
                "withdraws": {"source": MOVE["source"], "id": move_id},
                "withdrawn_type": MOVE["type"],
                "reason": "entered_in_error",
            },
        }
    )
    return {
        "original": original,
        "resent": original,
        "correction": correction,
        "withdrawal": withdrawal,
    }


def truth(sent: list[str], events: dict[str, CloudEvent[Any]]) -> CloudEvent[Any] | None:
    """The last truthful version, as a move of its own: none once withdrawn; else the
    corrected move; else the move as sent."""
    if "withdrawal" in sent:
        return None
    move = events["original"].data
    if "correction" in sent:
        move = events["correction"].data.corrected.data
    return from_structured({**MOVE, "id": str(uuid.uuid4()), "data": move.model_dump(mode="json")})


def standing(council: Council) -> tuple[set[Any], set[Any]]:
    """What stands: each action done and not undone, with the data each resident's share
    held; and each move the index records."""
    undone = {(u.workflow_id, u.step) for u in council.undone}
    actions = {
        (
            a.step,
            tuple(sorted((s.resident, json.dumps(s.data, sort_keys=True)) for s in a.shares)),
        )
        for a in council.actions
        if (a.workflow_id, a.step) not in undone
    }
    moves = {(m.residents, m.move_date, m.new_address, m.direction) for m in council.moved.values()}
    return actions, moves


async def closed(client: Client, workflow_ids: list[str]) -> None:
    """Every workflow there is, run to its end (a correction's run on the corrected facts
    too, which its workflow starts and does not wait for)."""
    for workflow_id in workflow_ids:
        handle = client.get_workflow_handle(workflow_id)
        with suppress(Exception):  # not started: a re-sent event, a redo not needed
            await asyncio.wait_for(handle.result(), 60)


async def run(
    env: WorkflowEnvironment,
    sent: list[str],
    settle: list[bool],
    events: dict[str, CloudEvent[Any]],
) -> Any:
    council = Council(compare_reports=True)
    async with running(env.client, council) as queue:
        starter = WorkflowStarter(
            env.client, task_queue=queue, council_area="E06000014", retry_window=10
        )
        started: list[str] = []
        for kind, wait in zip(sent, settle, strict=True):
            event = events[kind]
            await starter.start(event, WORKFLOW_FOR_EVENT_TYPE[event.type])
            started.append(workflow_id_for(event.source, event.id))
            if kind == "correction":
                # It runs the move itself: under the move's ID when it came first, else
                # under the next ID for a corrected run.
                original = workflow_id_for(event.source, event.data.corrects.id)
                started.extend([original, *(corrected_id(original, n) for n in (1, 2))])
            if wait:  # let everything started so far finish before the next arrives
                await closed(env.client, started)
        await closed(env.client, started)
        await closed(env.client, started)  # a run started by a correction that just closed
    return standing(council)


async def compared(
    order: list[str], settle: list[bool], events: dict[str, CloudEvent[Any]]
) -> tuple[Any, Any]:
    """What stands after the interleaving, and after the last truthful version alone (on
    the same server, with stand-ins of its own)."""
    async with time_skipping() as env:
        after = await run(env, order, settle, events)
        truthful = truth(order, events)
        if truthful is None:
            return after, standing(Council())
        return after, await run(env, ["original"], [True], {"original": truthful})


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    order=st.permutations(KINDS).flatmap(
        lambda kinds: st.integers(1, len(kinds)).map(lambda n: list(kinds[:n]))
    ),
    data=st.data(),
)
def test_what_stands_is_what_the_last_truthful_version_alone_leaves(
    order: list[str], data: st.DataObject
) -> None:
    settle = data.draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)))
    after, expected = asyncio.run(compared(order, settle, versions()))
    assert after == expected, (order, settle)
