"""One move, posted to the intake under `lifeevents run` with traces and metrics on, is one
trace: a span per hop from the HTTP request through Kafka, the orchestrator and Temporal to the
notification, each linked to its parent, read back from the files every process wrote. Each
service's /metrics counted the same move: one event received, one workflow started and
completed, as many share decisions and messages as the trace has gate and notification spans.
`lifeevents report` reads the move back from Temporal: each action once, and the school place
offered and accepted."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from contracts import CloudEvent, to_structured
from contracts.timeline import Confirmation, Timeline
from deploy.local.services import SERVICES
from tests.deploy.local.running import finished, handle_for, lifeevents_running, until
from tests.deploy.local.test_move_end_to_end import HOUSEHOLD, PERSONAL, move

MOVE = "lifeevents.address.changed.v1"
SCHOOL = "school-admissions"


def waiting_for_resident(seen: Timeline) -> set[str]:
    return {e.step for e in seen.entries if e.status.value == "waiting_for_resident"}


def spans_written(traces: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for file in sorted(traces.glob("*.jsonl"))
        for line in file.read_text().splitlines()
        if line.strip()
    ]


def free_port_run(env: dict[str, str]) -> int:
    """The first of as many free ports in a row as there are services (none the run's own)."""
    taken = {int(v.rsplit(":", 1)[-1]) for v in env.values() if v.rsplit(":", 1)[-1].isdigit()}
    for base in range(21000, 32000, 50):
        run = range(base, base + len(SERVICES))
        if taken.isdisjoint(run) and all(_bindable(port) for port in run):
            return base
    raise AssertionError("no run of free ports")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def scraped(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    for personal in PERSONAL:
        assert personal not in text, personal
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


async def post_until_accepted(base: str, key: str, event: CloudEvent[Any]) -> httpx.Response:
    """POST the event, again while the intake is not yet listening or answers 503 (its
    producer still connecting)."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/cloudevents+json"}
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        for _ in range(240):
            try:
                answer = await http.post(
                    "/v1/events", content=to_structured(event), headers=headers
                )
            except httpx.ConnectError:
                answer = None
            if answer is not None and answer.status_code != 503:
                return answer
            await asyncio.sleep(0.5)
    raise AssertionError("the intake never took the event")


@pytest.mark.stack
async def test_a_move_is_one_trace_from_the_http_request_to_the_notification(
    cli_env: Callable[..., dict[str, str]],
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    traces = tmp_path / "traces"
    env = cli_env(LIFEEVENTS_LOG_FORMAT="json", LIFEEVENTS_TRACES_DIR=str(traces))
    first_metrics_port = free_port_run(env)
    env["LIFEEVENTS_METRICS_PORT"] = str(first_metrics_port)
    port_of = {spec.name: first_metrics_port + i for i, spec in enumerate(SERVICES)}
    issued = run_cli("keys", "issue", "--source", HOUSEHOLD["source"], "--type", MOVE, env=env)
    assert issued.returncode == 0, issued.stderr
    key = issued.stdout.split()[-1]  # the key is the last word printed
    # The whole household, a school-age child too: the in-year school place is an offer, which
    # the parent accepts.
    event = move(
        HOUSEHOLD["data"]["old_address"],
        HOUSEHOLD["data"]["new_address"],
        "2025-10-18",
        movers=HOUSEHOLD["data"]["movers"],
    )
    async with lifeevents_running(env, tmp_path / "run.out") as client:
        answer = await post_until_accepted(
            f"http://127.0.0.1:{env['LIFEEVENTS_INTAKE_PORT']}", key, event
        )
        assert answer.status_code == 202, answer.text
        await until(client, event, lambda t: SCHOOL in waiting_for_resident(t))
        await handle_for(client, event).execute_update(
            "confirm", Confirmation(step=SCHOOL, accept=True)
        )
        assert (await finished(client, event)).stage == "complete"
        # The figures a council publishes, read back from Temporal: this move's actions, each
        # once, timed from the event's own time; nothing that only served the workflow.
        reported = run_cli("report", "--json", env=env)
        assert reported.returncode == 0, reported.stderr
        document = reported.stdout[reported.stdout.index("{\n") :]
        actions = {a["action"]: a for a in json.loads(document)["actions"]}
        metrics = {
            name: scraped(port_of[name])
            for name in (
                "orchestrator",
                "workflow-worker",
                "consent",
                "notifications",
                "council-tax",
            )
        }
    # Every process flushes its spans as it exits: all are written once the run has stopped.

    spans = spans_written(traces)
    [request] = [
        s
        for s in spans
        if s["name"] == "POST /v1/events" and s["attributes"]["http.response.status_code"] == 202
    ]
    trace_id = request["context"]["trace_id"]
    ours = [s for s in spans if s["context"]["trace_id"] == trace_id]
    by_id = {s["context"]["span_id"]: s for s in ours}
    tree = "\n".join(
        sorted(f"{service_of(s)}: {s['name']} <- {parent_name(s, by_id)}" for s in ours)
    )

    # A span for every hop, made by the process that made the hop.
    hops = {
        "POST /v1/events": "intake",
        "lifeevents.v1 publish": "intake",
        "lifeevents.v1 process": "orchestrator",
        "StartWorkflow:MoveWorkflow": "orchestrator",
        "RunWorkflow:MoveWorkflow": "workflows",
        "RunActivity:decide_share": "consent",
        "RunActivity:council_tax.record_move": "counciltax",
        "RunActivity:notifications.send": "notifications",
    }
    for name, service in hops.items():
        assert {service_of(s) for s in ours if s["name"] == name} == {service}, tree

    # Linked, not merely sharing an id: the request is the one root, and every other span's
    # parent is in the trace.
    assert [s["name"] for s in ours if s["parent_id"] not in by_id] == ["POST /v1/events"], tree
    notified = next(s for s in ours if s["name"] == "RunActivity:notifications.send")
    chain = ancestry(notified, by_id)
    assert chain[:5] == [
        "RunActivity:notifications.send",
        "StartActivity:notifications.send",
        "StartWorkflow:MoveWorkflow",
        "lifeevents.v1 process",
        "lifeevents.v1 publish",
    ], tree
    assert chain[-1] == "POST /v1/events", tree
    assert parent_name(by_id_named(ours, "RunWorkflow:MoveWorkflow"), by_id) == (
        "StartWorkflow:MoveWorkflow"
    ), tree

    assert {
        "council_tax.record_move",
        "electoral.record_move",
        "schools.offer_in_year_admission",
        "benefits.record_change_of_circumstances",
        "notifications.send",
    } == set(actions)
    month = event.time.strftime("%Y-%m")
    for figure in actions.values():
        assert (figure["event_type"], figure["month"], figure["events"]) == (MOVE, month, 1)
        assert 0 < figure["median_seconds"] == figure["p90_seconds"]
    # One offer (the school place), asked and accepted.
    assert json.loads(document)["take_up"] == [
        {
            "event_type": MOVE,
            "month": month,
            "offered": 1,
            "accepted": 1,
            "declined": 0,
            "no_answer": 0,
            "waiting": 0,
            "take_up": 1.0,
        }
    ]

    # The same move, counted by each process that played a part in it: one decision and one
    # message per span of the gate and of notifications (the question asked among them).
    orchestrator, workflows = metrics["orchestrator"], metrics["workflow-worker"]
    assert total(orchestrator, "lifeevents_events_received_total") == 1
    assert total(orchestrator, "lifeevents_events_received_total", outcome="started") == 1
    assert total(orchestrator, "lifeevents_events_dead_lettered_total") == 0
    assert total(orchestrator, "lifeevents_workflows_started_total", workflow="MoveWorkflow") == 1
    assert (
        total(
            workflows,
            "lifeevents_workflows_completed_total",
            workflow="MoveWorkflow",
            outcome="completed",
        )
        == 1
    )
    gate_spans = sum(s["name"] == "RunActivity:decide_share" for s in ours)
    assert total(metrics["consent"], "lifeevents_share_decisions_total") == gate_spans
    sent_spans = sum(s["name"] == "RunActivity:notifications.send" for s in ours)
    assert total(metrics["notifications"], "lifeevents_messages_sent_total") == sent_spans
    latency = "lifeevents_activity_duration_seconds_count"
    assert total(metrics["council-tax"], latency, activity="council_tax.record_move") == 1

    # Nothing of the resident's in any span of any process.
    written = "".join(f.read_text() for f in traces.glob("*.jsonl"))
    for personal in PERSONAL:
        assert personal not in written, personal


def service_of(span: dict[str, Any]) -> str:
    return str(span["resource"]["attributes"]["service.name"])


def parent_name(span: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> str:
    parent = by_id.get(span["parent_id"])
    return "(root)" if parent is None else str(parent["name"])


def by_id_named(spans: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(s for s in spans if s["name"] == name)


def ancestry(span: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> list[str]:
    """The span's name, its parent's, and so on up to the root."""
    chain = [str(span["name"])]
    while span["parent_id"] in by_id:
        span = by_id[span["parent_id"]]
        chain.append(str(span["name"]))
    return chain
