"""Traces and metrics across the real hops: a span context through a Kafka record's headers,
and through Temporal from the caller's span to the workflow and its activity, with the worker's
metrics scraped from /metrics before and after. A replay adds neither spans nor counts."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import WorkflowHistory
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from contracts import from_binary, to_binary
from deploy.local.stack import StackConfig
from services.common.codec import data_converter
from services.common.metrics import WorkerMetrics, serve_metrics
from services.common.settings import Settings
from services.common.telemetry import (
    JsonLinesSpanExporter,
    consumed_span,
    published_span,
    temporal_interceptors,
    tracer,
    tracer_provider,
    with_trace_headers,
)
from services.common.temporal import connect
from services.common.topics import ensure_topics
from tests.services.orchestrator.support import move_event
from workflows.diagnostics import StackCheckWorkflow
from workflows.lifeevents import WORKFLOWS
from workflows.worker import build_worker, served


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """This process's spans, collected in memory while the test runs. The global provider is
    put back unset afterwards (as OpenTelemetry's own tests do), so that no later test in the
    session finds its requests traced and trace headers in its records."""
    collected = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(collected))
    trace.set_tracer_provider(provider)
    try:
        yield collected
    finally:
        provider.shutdown()
        trace._TRACER_PROVIDER = None
        trace._TRACER_PROVIDER_SET_ONCE = Once()


def named(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    [span] = [s for s in spans.get_finished_spans() if s.name == name]
    return span


def test_spans_are_written_a_json_object_a_line(tmp_path: Path) -> None:
    path = tmp_path / "traces" / "intake.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(path)))
    test = provider.get_tracer("test")
    with test.start_as_current_span("outer"), test.start_as_current_span("inner"):
        pass
    provider.shutdown()
    inner, outer = (json.loads(line) for line in path.read_text().splitlines())
    assert (inner["name"], outer["name"]) == ("inner", "outer")
    assert inner["parent_id"] == outer["context"]["span_id"]
    assert inner["context"]["trace_id"] == outer["context"]["trace_id"]


def test_a_query_string_is_never_kept(tmp_path: Path) -> None:
    provider = tracer_provider(Settings(traces_dir=tmp_path), "intake")
    assert provider is not None
    attributes = {"url.path": "/v1/events", "url.query": "name=Pat+Placeholder"}
    with provider.get_tracer("test").start_as_current_span(
        "POST /v1/events", attributes=attributes
    ):
        pass
    provider.shutdown()
    [span] = [json.loads(line) for line in (tmp_path / "intake.jsonl").read_text().splitlines()]
    assert span["attributes"] == {"url.path": "/v1/events", "url.query": "[dropped]"}


def test_spans_reach_an_otlp_collector() -> None:
    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_port}"
        provider = tracer_provider(Settings(otlp_endpoint=endpoint), "intake")
        assert provider is not None
        with provider.get_tracer("test").start_as_current_span("lifeevents.v1 publish"):
            pass
        provider.shutdown()  # flushes the batch
    finally:
        server.shutdown()
    [(path, body)] = received
    assert path == "/v1/traces"
    [sent] = ExportTraceServiceRequest.FromString(body).resource_spans
    resource = {a.key: a.value.string_value for a in sent.resource.attributes}
    assert resource["service.name"] == "intake"
    assert [s.name for scope in sent.scope_spans for s in scope.spans] == ["lifeevents.v1 publish"]


@pytest.mark.stack
async def test_a_record_carries_its_trace_from_producer_to_consumer(
    kafka_bootstrap: str, spans: InMemorySpanExporter
) -> None:
    topic = f"test-trace-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [topic], 1, 1)
    record = to_binary(move_event())
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        with published_span(topic, "lifeevents.address.changed.v1"):
            headers = with_trace_headers(record.headers)
            await producer.send_and_wait(topic, value=record.value, key=record.key, headers=headers)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        received = await consumer.getone()
    finally:
        await consumer.stop()
    with consumed_span(topic, received.headers):
        pass

    published, consumed = named(spans, f"{topic} publish"), named(spans, f"{topic} process")
    assert published.context is not None
    assert consumed.context is not None
    assert consumed.context.trace_id == published.context.trace_id
    assert consumed.parent is not None
    assert consumed.parent.span_id == published.context.span_id
    # The contract reads the record as before: trace headers are not CloudEvents attributes.
    assert from_binary(type(record)(received.key, received.value or b"", received.headers)).id


def test_a_metrics_port_taken_leaves_the_process_running_without_metrics() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert serve_metrics(Settings(metrics_port=taken.getsockname()[1])) is None


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.stack
async def test_a_workflow_and_its_activity_join_the_callers_trace_and_are_counted(
    stack: StackConfig,
    spans: InMemorySpanExporter,
    free_port: Callable[[], int],
    tmp_path: Path,
) -> None:
    settings = Settings(temporal_address=stack.temporal_address, traces_dir=tmp_path)
    port = serve_metrics(Settings(metrics_port=free_port()))
    assert port is not None
    completed = (
        "lifeevents_workflows_completed_total",
        (("outcome", "completed"), ("workflow", "StackCheckWorkflow")),
    )
    timed = (
        "lifeevents_activity_duration_seconds_count",
        (("activity", "echo"), ("outcome", "completed")),
    )
    before = scrape(port)

    client = await connect(settings)
    task_queue = f"test-{uuid.uuid4().hex}"
    workflow_id = f"check-{uuid.uuid4().hex}"
    async with build_worker(client, task_queue):
        with tracer().start_as_current_span("caller") as caller:
            echoed = await client.execute_workflow(
                StackCheckWorkflow.run, "ping", id=workflow_id, task_queue=task_queue
            )
    assert echoed == "echo: ping"

    trace_id = caller.get_span_context().trace_id
    chain: dict[str, Any] = {
        name: named(spans, name)
        for name in (
            "StartWorkflow:StackCheckWorkflow",
            "RunWorkflow:StackCheckWorkflow",
            "StartActivity:echo",
            "RunActivity:echo",
        )
    }
    assert {s.context.trace_id for s in chain.values()} == {trace_id}
    by_id = {caller.get_span_context().span_id: "caller"} | {
        s.context.span_id: n for n, s in chain.items()
    }
    # The SDK's interceptor hangs a workflow's own spans from the start that carried them in.
    assert {name: by_id.get(span.parent.span_id) for name, span in chain.items()} == {
        "StartWorkflow:StackCheckWorkflow": "caller",
        "RunWorkflow:StackCheckWorkflow": "StartWorkflow:StackCheckWorkflow",
        "StartActivity:echo": "StartWorkflow:StackCheckWorkflow",
        "RunActivity:echo": "StartActivity:echo",
    }

    after = scrape(port)
    assert after[completed] - before.get(completed, 0) == 1
    assert after[timed] - before.get(timed, 0) == 1

    # The history, with the tracing header in it, replays under both interceptors: no
    # nondeterminism, and no second count or span for the run that already ended.
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    spans.clear()
    replayer = Replayer(
        workflows=list(served(task_queue).workflows),
        data_converter=data_converter(settings),
        workflow_runner=served(task_queue).workflow_runner,
        interceptors=[*temporal_interceptors(settings), WorkerMetrics()],
    )
    replayed = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert replayed.replay_failure is None
    assert scrape(port)[completed] == after[completed]
    assert not spans.get_finished_spans()


HISTORIES = {
    path.stem: path.read_text()
    for path in sorted((Path(__file__).parents[2] / "workflows" / "histories").glob("*.json"))
}


def workflows_completed() -> float:
    return sum(
        sample.value
        for family in REGISTRY.collect()
        if family.name == "lifeevents_workflows_completed"
        for sample in family.samples
        if sample.name == "lifeevents_workflows_completed_total"
    )


@pytest.mark.parametrize("name", HISTORIES)
async def test_histories_from_before_tracing_replay_under_the_interceptors(
    name: str, spans: InMemorySpanExporter
) -> None:
    """Workflows started before traces were turned on (no tracing header in their history)
    still replay on a worker that traces and counts, and a replay neither traces nor counts."""
    before = workflows_completed()
    replayer = Replayer(
        workflows=list(WORKFLOWS),
        data_converter=pydantic_data_converter,
        workflow_runner=served("replay").workflow_runner,
        interceptors=[TracingInterceptor(tracer()), WorkerMetrics()],
    )
    history = WorkflowHistory.from_json(name, json.loads(HISTORIES[name]))
    replayed = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert replayed.replay_failure is None
    assert not spans.get_finished_spans()
    assert workflows_completed() == before
