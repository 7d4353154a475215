"""Life events end to end, moves, deaths and births: from publishing each event on Kafka to
its timeline complete (for a birth: to its offers answered and done, when it begins to wait
for the child's later dates), through every service under `lifeevents run`, next to a raw baseline
measured in the same run on the same Temporal server: a workflow running the same number of
no-op activities, one after another (counted from the history of one real event of the kind).

    .venv/bin/python benchmarks/lifeevents.py [--moves 100] [--deaths 50] [--births 50]

Starts `lifeevents run --no-demo` on free ports in a temporary folder, then runs the moves,
the deaths, then the births, each kind on its own (one untimed event first, to warm every
process and count the activities; then the batch, published at once; then its baseline).

- A move: a different synthetic adult moving within the area (council tax, electoral
  register and benefits act; no school place, so no resident confirmation is awaited).
- A death: a different synthetic resident (a valid NHS number from the 999 test range; no
  National Insurance number, as no range of them is reserved for tests) dying at an address
  of their own, with one surviving spouse under 75 listed in the household (so no caseworker
  triage, which would wait for a person), an executor (told the summary), and
  organisations_to_tell dwp, hmrc, hm_passport_office and dvla. One adult remains, so the
  `council-tax-discount` step waits for the survivor's answer: the benchmark answers it as
  the resident would (it polls each death, and once the workflow's `timeline` query shows
  the step `waiting_for_resident` it sends the update `confirm`, accepting). The time until
  the poll sees the wait is part of the latency; the figures show it apart. Before the
  deaths, untimed, each household (the one who dies and the spouse) moves into its address
  a year before the death, so the council tax account the death acts on exists (the spouse
  becomes liable, the discount is applied); no benefit claim, electoral register entry,
  blue badge, library card, parking permit or assisted collection exists for them, so those
  steps run (match, gate, share token, action, ledger) and find nothing to end. The deaths
  are dated five days back and published now.
- A birth: a different synthetic child (born ten days back, with a valid NHS number) of one
  parent new to the index, at an address of their own. The library card waits for the
  family's answer, which the benchmark gives as for a death (accepting); the early-years
  step acts at once; there is no benefit claim, so the benefits review is only asked
  about. The workflow then continues as new to wait for the child's dated steps, years
  ahead: its time is the start of that run (stage `scheduled`), and its activities are
  those of its first run.

Prints figures; asserts nothing. A death or move that does not complete is shown with its
stage and every step not done, from its `timeline` query.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from pydantic import SecretStr
from temporalio import activity, workflow
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
)
from temporalio.exceptions import FailureError
from temporalio.service import RPCError
from temporalio.worker import Worker

from contracts import CloudEvent, from_structured, to_binary
from contracts.identifiers import is_valid_nhs_number
from contracts.shares import ADULT_AGE, age_on
from contracts.temporal import SearchAttributes, workflow_id_for
from contracts.timeline import Confirmation, Receipt, StepStatus, Timeline
from deploy.local.services import SERVICES
from services.common.codec import data_converter, new_key_spec
from services.common.settings import Settings
from workflows.bereavement import LIVES_ALONE_AT

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EXAMPLES = REPO_ROOT / "contracts/examples"
HOUSEHOLD = json.loads((EXAMPLES / "address-changed-household.json").read_text())
DEATH = json.loads((EXAMPLES / "death-registered.json").read_text())
BIRTH = json.loads((EXAMPLES / "birth-registered.json").read_text())
TOLD = ["dwp", "hmrc", "hm_passport_office", "dvla"]
ANSWERED_STEP = "council-tax-discount"
# Recent deaths, published now, as a register office sends them (not the example's dates).
DATE_OF_DEATH = date.today() - timedelta(days=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port: int = s.getsockname()[1]
        return port


# --- the events -----------------------------------------------------------------------------


def moves(indices: range) -> list[CloudEvent[Any]]:
    return [
        from_structured(
            {
                **HOUSEHOLD,
                "id": str(uuid.uuid4()),
                "data": {
                    **HOUSEHOLD["data"],
                    "movers": [
                        {
                            "name": {"given_names": "Bench", "family_name": f"Person{i:05d}"},
                            "date_of_birth": f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
                        }
                    ],
                },
            }
        )
        for i in indices
    ]


def nhs_number(i: int) -> str:
    """The i-th valid NHS number of the range kept for testing (999…)."""
    return _test_nhs_numbers()[i]


@cache
def _test_nhs_numbers() -> list[str]:
    numbers = (f"{stem}{check}" for stem in range(999_100_000, 999_110_000) for check in range(10))
    return [number for number in numbers if is_valid_nhs_number(number)]


def household(i: int) -> dict[str, Any]:
    """The i-th death's household: the one who dies, their spouse, their address."""
    family = f"Household{i:05d}"
    spouse_born = f"19{56 + i % 10}-0{1 + i % 9}-2{i % 9}"
    age = age_on(date.fromisoformat(spouse_born), DATE_OF_DEATH)
    assert ADULT_AGE <= age < LIVES_ALONE_AT  # one adult left, and no caseworker triage
    return {
        "family": family,
        "deceased": {
            "name": {"given_names": "Bench", "family_name": family},
            "date_of_birth": f"19{40 + i % 10}-0{1 + i % 9}-1{i % 9}",
            "nhs_number": nhs_number(i),
        },
        "spouse": {
            "name": {"given_names": "Survivor", "family_name": family},
            "date_of_birth": spouse_born,
        },
        "address": {
            "lines": [f"{i + 1} Benchmark Terrace"],
            "town": "Exampletown",
            "postcode": "AB4 6LN",
            "uprn": f"9990100{i:05d}",
        },
    }


def moves_in(indices: range) -> list[CloudEvent[Any]]:
    """Each death's household moving into its address a year before (setup, untimed): the
    council tax account the death acts on, and the index's residents at the address."""
    events = []
    for i in indices:
        home = household(i)
        events.append(
            from_structured(
                {
                    **HOUSEHOLD,
                    "id": str(uuid.uuid4()),
                    "data": {
                        "movers": [home["deceased"], home["spouse"]],
                        "new_address": home["address"],
                        "move_date": (DATE_OF_DEATH - timedelta(days=365)).isoformat(),
                        "direction": "into",
                        "tenure": "owner_occupier",
                        "source_reference": f"BENCH-M-{i:06d}",
                    },
                }
            )
        )
    return events


def deaths(indices: range) -> list[CloudEvent[Any]]:
    events = []
    for i in indices:
        home = household(i)
        family = home["family"]
        events.append(
            from_structured(
                {
                    **DEATH,
                    "id": str(uuid.uuid4()),
                    "time": datetime.now(UTC).isoformat(),
                    "data": {
                        **DEATH["data"],
                        "deceased": {
                            **home["deceased"],
                            "date_of_death": DATE_OF_DEATH.isoformat(),
                            "last_address": home["address"],
                        },
                        "informant": {
                            "name": {"given_names": "Informant", "family_name": family},
                            "relationship": "daughter",
                            "address": {
                                "lines": [f"{i + 1} Example Way"],
                                "town": "Sampleford",
                                "postcode": "YO9 8WY",
                            },
                        },
                        "next_of_kin": [],
                        "executors": [
                            {
                                "name": {"given_names": "Executor", "family_name": family},
                                "relationship": "solicitor",
                                "address": {
                                    "lines": [f"{i + 1} Law Court"],
                                    "town": "Exampletown",
                                    "postcode": "AB1 1AA",
                                },
                            }
                        ],
                        "household_members": [{**home["spouse"], "relationship": "spouse"}],
                        "organisations_to_tell": TOLD,
                        "registration": {
                            **DEATH["data"]["registration"],
                            "registered_on": (DATE_OF_DEATH + timedelta(days=4)).isoformat(),
                            "entry_reference": f"BENCH-D-{i:06d}",
                        },
                    },
                }
            )
        )
    return events


def births(indices: range) -> list[CloudEvent[Any]]:
    born = date.today() - timedelta(days=10)
    events = []
    for i in indices:
        family = f"Newborn{i:05d}"
        home = {
            "lines": [f"{i + 1} Cradle Row"],
            "town": "Exampletown",
            "postcode": "AB1 2DF",
            "uprn": f"9990200{i:05d}",
        }
        child = {**BIRTH["data"]["child"], "name": {"given_names": "Bench", "family_name": family}}
        parent = {
            "role": "mother",
            "name": {"given_names": "Parent", "family_name": family},
            "date_of_birth": f"19{85 + i % 10}-0{1 + i % 9}-1{i % 9}",
            "address": home,
        }
        events.append(
            from_structured(
                {
                    **BIRTH,
                    "id": str(uuid.uuid4()),
                    "time": datetime.now(UTC).isoformat(),
                    "data": {
                        **BIRTH["data"],
                        "child": {
                            **child,
                            "date_of_birth": born.isoformat(),
                            "nhs_number": nhs_number(5_000 + i),
                        },
                        "parents": [parent],
                        "informant": {
                            "capacity": "mother",
                            "name": parent["name"],
                            "address": home,
                        },
                        "registration": {
                            **BIRTH["data"]["registration"],
                            "registered_on": (born + timedelta(days=5)).isoformat(),
                            "entry_reference": f"BENCH-B-{i:06d}",
                        },
                    },
                }
            )
        )
    return events


async def publish(bootstrap: str, events: list[CloudEvent[Any]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for event in events:
            record = to_binary(event)
            await producer.send_and_wait(
                "lifeevents.v1", value=record.value, key=record.key, headers=list(record.headers)
            )
    finally:
        await producer.stop()


# --- the baseline -----------------------------------------------------------------------------


@activity.defn(name="bench.noop")
async def noop() -> None:
    return None


@workflow.defn(sandboxed=False)
class NoOpLifeEvent:
    @workflow.run
    async def run(self, activities: int) -> None:
        for _ in range(activities):
            await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=30))


async def baseline(client: Client, activities: int, count: int) -> tuple[list[float], float]:
    """`count` no-op workflows of `activities` activities, started at once: each one's time
    from the start, and the span until the last closed."""
    queue = f"bench-noop-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[NoOpLifeEvent], activities=[noop]):
        started = time.time()
        handles = await asyncio.gather(
            *(
                client.start_workflow(
                    NoOpLifeEvent.run,
                    activities,
                    id=f"noop-{uuid.uuid4().hex}",
                    task_queue=queue,
                )
                for _ in range(count)
            )
        )
        await asyncio.gather(*(h.result() for h in handles))
        ends = [(await h.describe()).close_time for h in handles]
    raw = [e.timestamp() - started for e in ends if e is not None]
    return raw, max(raw)


# --- waiting, and answering as the resident -------------------------------------------------


@dataclass
class Watched:
    closed: dict[str, datetime] = field(default_factory=dict)
    answered: dict[str, float] = field(default_factory=dict)  # when the answer was accepted
    ended_otherwise: dict[str, str] = field(default_factory=dict)  # failed, terminated…


async def watch(
    client: Client,
    ids: list[str],
    timeout: float,
    answer: str | None = None,
    settled: str | None = None,
) -> Watched:
    """Wait until every workflow has closed (or `timeout`). With `answer`, a workflow whose
    stage is `waiting_for_resident` and whose `timeline` shows that step waiting for the
    resident is sent the update `confirm`, accepting, once. With `settled`, a workflow that
    has continued as new and reached that stage counts as closed when its run began."""
    watched = Watched()
    deadline = time.monotonic() + timeout
    pending = list(ids)
    while pending and time.monotonic() < deadline:
        for workflow_id in pending:
            handle = client.get_workflow_handle(workflow_id)
            try:
                described = await handle.describe()
            except RPCError:  # not started yet
                continue
            status = described.status
            stage = described.typed_search_attributes.get(SearchAttributes.STAGE)
            if status == WorkflowExecutionStatus.COMPLETED and described.close_time:
                watched.closed[workflow_id] = described.close_time
            elif (
                settled is not None
                and stage == settled
                and _first_run(described) != described.run_id
            ):
                watched.closed[workflow_id] = described.start_time
            elif status is not None and status != WorkflowExecutionStatus.RUNNING:
                watched.ended_otherwise[workflow_id] = status.name
            elif (
                answer is not None
                and workflow_id not in watched.answered
                and stage == "waiting_for_resident"
            ):
                timeline = await handle.query("timeline", result_type=Timeline)
                if any(
                    e.step == answer and e.status is StepStatus.WAITING_FOR_RESIDENT
                    for e in timeline.entries
                ):
                    await handle.execute_update(
                        "confirm", Confirmation(step=answer, accept=True), result_type=Receipt
                    )
                    watched.answered[workflow_id] = time.time()
        pending = [
            i for i in pending if i not in watched.closed and i not in watched.ended_otherwise
        ]
        await asyncio.sleep(0.5)
    return watched


def _first_run(described: WorkflowExecutionDescription) -> str:
    return described.raw_description.workflow_execution_info.first_run_id


async def scheduled(client: Client, workflow_id: str) -> Counter[str]:
    """The activities a workflow's first run scheduled (ActivityTaskScheduled events), by
    type: all a move's or a death's, and what a birth's did at the birth."""
    described = await client.get_workflow_handle(workflow_id).describe()
    first = client.get_workflow_handle(workflow_id, run_id=_first_run(described))
    history = first.fetch_history_events()
    return Counter(
        [
            e.activity_task_scheduled_event_attributes.activity_type.name
            async for e in history
            if e.HasField("activity_task_scheduled_event_attributes")
        ]
    )


async def spread(client: Client, kind: str, ids: list[str], warm: Counter[str]) -> None:
    """Whether every event of the batch scheduled as many activities as the warm-up, and
    which activity types differ when not."""
    counts = [await scheduled(client, i) for i in ids]
    totals = sorted(c.total() for c in counts)
    if not totals:
        return
    line = f"{kind}: activities per event in the batch: min {totals[0]}, max {totals[-1]}"
    differ = sorted({t for c in counts for t in c | warm if c[t] != warm[t]})
    if differ:
        line += "; differing from the warm-up's: " + ", ".join(
            f"{t} {warm[t]} vs {sorted({c[t] for c in counts})}" for t in differ
        )
    print(line)


async def explain(client: Client, workflow_id: str, status: str = "RUNNING") -> str:
    """Where a workflow that did not complete stands, from its `timeline` (no personal data)."""
    try:
        t = await client.get_workflow_handle(workflow_id).query("timeline", result_type=Timeline)
    except Exception as e:  # a failed workflow may not answer: say why
        return f"  {workflow_id}: {status}; timeline query failed: {type(e).__name__}: {e}"
    why = ""
    if status == "FAILED":
        try:
            await client.get_workflow_handle(workflow_id).result()
        except WorkflowFailureError as e:
            causes: list[str] = []
            cause: BaseException | None = e.cause
            while isinstance(cause, FailureError):
                causes.append(f"{type(cause).__name__}: {cause.message}")
                cause = cause.cause
            why = f"; failure: {' <- '.join(causes)}"
    open_steps = ", ".join(
        f"{e.step}={e.status.value}{f' ({e.reason})' if e.reason else ''}"
        for e in t.entries
        if e.status not in (StepStatus.DONE, StepStatus.SKIPPED)
    )
    return (
        f"  {workflow_id}: {status}; stage {t.stage}; needs_person {t.needs_person}; "
        f"tasks {t.caseworker_tasks}; steps not done: {open_steps or 'none'}{why}"
    )


# --- figures --------------------------------------------------------------------------------


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def report(label: str, latencies: list[float], span: float | None) -> None:
    if not latencies:
        print(f"{label:<48} nothing completed")
        return
    rate = f"{len(latencies) / span:7.1f} /s" if span else " " * 10
    print(
        f"{label:<48} {rate}   p50 {statistics.median(latencies):6.2f} s"
        f"   p95 {percentile(latencies, 95):6.2f} s   p99 {percentile(latencies, 99):6.2f} s"
        f"   max {max(latencies):6.2f} s"
    )


@dataclass
class Kind:
    name: str  # plural: "moves", "deaths"
    events: Callable[[range], list[CloudEvent[Any]]]
    answer: str | None
    about: str
    setup: Callable[[range], list[CloudEvent[Any]]] | None = None
    setup_about: str = ""
    settled: str | None = None  # the stage at which one that goes on waiting is done


MOVES = Kind("moves", moves, None, "1 adult each, no answer awaited")
DEATHS = Kind(
    "deaths",
    deaths,
    ANSWERED_STEP,
    f"1 surviving spouse under {LIVES_ALONE_AT} each; the benchmark answers "
    f"{ANSWERED_STEP} (accept) as the resident, polling every ~0.5 s",
    moves_in,
    "each household (the one who dies and the spouse) moved in a year before, untimed",
)
BIRTHS = Kind(
    "births",
    births,
    "library-card",
    "1 parent new to the index each; the benchmark accepts the library card as the family, "
    "polling every ~0.5 s; done when the workflow waits for the child's later dates",
    settled="scheduled",
)


async def run_kind(client: Client, bootstrap: str, kind: Kind, count: int, first: int) -> int:
    """One kind: the warm-up event, the batch, its baseline; returns the next free index."""
    if count <= 0:
        return first
    if kind.setup is not None:
        setup = kind.setup(range(first, first + 1 + count))
        await publish(bootstrap, setup)
        ids = [workflow_id_for(e.source, e.id) for e in setup]
        watched = await watch(client, ids, 900)
        print(f"{kind.name}: {kind.setup_about}: {len(watched.closed)} of {len(ids)} completed")
        for workflow_id in (i for i in ids if i not in watched.closed):
            status = watched.ended_otherwise.get(workflow_id, "RUNNING")
            print(await explain(client, workflow_id, status))
    [warm] = kind.events(range(first, first + 1))
    await publish(bootstrap, [warm])
    warm_id = workflow_id_for(warm.source, warm.id)
    watched = await watch(client, [warm_id], 180, kind.answer, kind.settled)
    if warm_id not in watched.closed:
        status = watched.ended_otherwise.get(warm_id, "RUNNING")
        print(f"{kind.name}: the warm-up event did not complete:")
        print(await explain(client, warm_id, status))
        return first + 1
    warm_activities = await scheduled(client, warm_id)
    activities = warm_activities.total()
    timeline = await client.get_workflow_handle(warm_id).query("timeline", result_type=Timeline)
    print(
        f"{kind.name}: the warm-up's steps: "
        + ", ".join(f"{e.step}={e.status.value}:{e.outcome or e.reason}" for e in timeline.entries)
    )

    batch = kind.events(range(first + 1, first + 1 + count))
    published = time.time()
    await publish(bootstrap, batch)
    ids = [workflow_id_for(e.source, e.id) for e in batch]
    watched = await watch(client, ids, 900, kind.answer, kind.settled)
    latencies = [c.timestamp() - published for c in watched.closed.values()]
    print(
        f"{kind.name}: {count} published at once; {kind.about}; {activities} activities per "
        f"{kind.name[:-1]} (ActivityTaskScheduled in the warm-up's history); "
        f"{os.cpu_count()} cores; {len(watched.closed)} completed"
    )
    span = max((c.timestamp() for c in watched.closed.values()), default=published) - published
    report(f"{kind.name}, publish -> timeline complete", latencies, span)
    if kind.answer is not None:
        answered = {i: t - published for i, t in watched.answered.items()}
        report(f"{kind.name}, publish -> resident's answer accepted", list(answered.values()), None)
        report(
            f"{kind.name}, answer accepted -> timeline complete",
            [
                c.timestamp() - watched.answered[i]
                for i, c in watched.closed.items()
                if i in watched.answered
            ],
            None,
        )
    raw, raw_span = await baseline(client, activities, count)
    report(f"baseline, {activities} no-op activities in a row", raw, raw_span)
    await spread(client, kind.name, list(watched.closed), warm_activities)
    missing = [i for i in ids if i not in watched.closed]
    if missing:
        print(f"{kind.name}: {len(missing)} did not complete:")
        for workflow_id in missing:
            print(
                await explain(
                    client, workflow_id, watched.ended_otherwise.get(workflow_id, "RUNNING")
                )
            )
    return first + 1 + count


# --- the stack ------------------------------------------------------------------------------


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=100)
    parser.add_argument("--deaths", type=int, default=50)
    parser.add_argument("--births", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lifeevents-bench-") as tmp:
        var = Path(tmp) / "var"
        (var / "kafka").mkdir(parents=True)
        (var / "kafka" / "lib").symlink_to(REPO_ROOT / "var" / "kafka" / "lib")
        consent = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIFEEVENTS_")}
        env.update(
            LIFEEVENTS_VAR_DIR=str(var),
            LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS=f"localhost:{free_port()}",
            LIFEEVENTS_KAFKA_CONTROLLER_PORT=str(free_port()),
            LIFEEVENTS_TEMPORAL_ADDRESS=f"localhost:{free_port()}",
            LIFEEVENTS_TEMPORAL_UI_PORT=str(free_port()),
            LIFEEVENTS_INTAKE_PORT=str(free_port()),
            LIFEEVENTS_CODEC_PORT=str(free_port()),
            LIFEEVENTS_CONSENT_HTTP_PORT=str(consent),
            LIFEEVENTS_SHARE_TOKEN_KEY_URL=f"http://127.0.0.1:{consent}/share-token-key",
            LIFEEVENTS_PAYLOAD_KEYS=new_key_spec(),
            LIFEEVENTS_LOG_LEVEL="WARNING",
            LIFEEVENTS_LOG_FORMAT="json",
        )
        output = Path(tmp) / "run.out"
        with output.open("wb") as out:
            run = await asyncio.create_subprocess_exec(
                str(BIN / "lifeevents"),
                "run",
                "--no-demo",
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                start_new_session=True,  # its own process group: nothing outlives the run
            )
        try:
            for _ in range(600):
                text = output.read_text(errors="replace")
                if all(
                    re.search(rf"^{re.escape(s.name)} +\| started", text, re.M) for s in SERVICES
                ):
                    break
                await asyncio.sleep(0.5)
            else:
                raise SystemExit(f"lifeevents run did not start every service:\n{text[-4000:]}")
            client = await Client.connect(
                env["LIFEEVENTS_TEMPORAL_ADDRESS"],
                data_converter=data_converter(
                    Settings(payload_keys=SecretStr(env["LIFEEVENTS_PAYLOAD_KEYS"]))
                ),
            )
            bootstrap = env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"]
            await run_kind(client, bootstrap, MOVES, args.moves, 0)
            await run_kind(client, bootstrap, DEATHS, args.deaths, 0)
            await run_kind(client, bootstrap, BIRTHS, args.births, 0)
        finally:
            run.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(run.wait(), 120)
            finally:
                # Whatever `lifeevents run` left of its own (Kafka, Temporal, services).
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(run.pid, signal.SIGKILL)


if __name__ == "__main__":
    asyncio.run(main())
