"""Traces: one OpenTelemetry tracer provider per process, set up from settings.

Off unless asked for. `LIFEEVENTS_TRACES_DIR` writes every span this process ends, one JSON
object a line, to `<traces_dir>/<service>.jsonl` (for a collector that reads files, or a test);
`LIFEEVENTS_OTLP_ENDPOINT` (`http://collector:4318`) sends them to an OpenTelemetry collector
over OTLP/HTTP. A trace crosses processes three ways:

- HTTP: FastAPI's own telemetry (`fastapi.telemetry`, on once a tracer provider is set)
  makes the server span of every request, continuing a caller's W3C `traceparent` header.
- Kafka: the intake puts `traceparent` (and `tracestate`) in the record headers it publishes
  (CloudEvents ignores non-`ce_` headers), and the orchestrator continues from them.
- Temporal: the SDK's `TracingInterceptor`, on every client and so on every worker built from
  one, carries the context in workflow and activity headers.

Span names and attributes hold opaque ids, event types, topics and step names only: never
personal data.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from temporalio.contrib.opentelemetry import TracingInterceptor

from services.common.settings import Settings

__all__ = [
    "JsonLinesSpanExporter",
    "configure_tracing",
    "consumed_span",
    "context_from_headers",
    "published_span",
    "temporal_interceptors",
    "tracer",
    "tracer_provider",
    "tracing_enabled",
    "with_trace_headers",
]

# W3C trace context only: baggage would carry whatever a caller put in it, into every record.
_PROPAGATOR = TraceContextTextMapPropagator()
_TRACE_HEADERS = frozenset(_PROPAGATOR.fields)

KafkaHeaders = Sequence[tuple[str, bytes]]


class JsonLinesSpanExporter(SpanExporter):
    """Appends each span as one line of JSON: OpenTelemetry's own span encoding, unindented."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(span.to_json(indent=None) + "\n" for span in spans)
        with self._lock:
            if self._file.closed:
                return SpanExportResult.FAILURE
            self._file.write(lines)
            self._file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()


class _QueryStringsDropped(SpanProcessor):
    """FastAPI's server spans keep a request's query string, which is whatever the caller
    typed (a name, say); no route of ours reads one, so none is kept."""

    def on_start(self, span: SdkSpan, parent_context: Context | None = None) -> None:
        if span.attributes and "url.query" in span.attributes:
            span.set_attribute("url.query", "[dropped]")


def tracing_enabled(settings: Settings) -> bool:
    return settings.traces_dir is not None or settings.otlp_endpoint is not None


def tracer_provider(settings: Settings, service: str) -> TracerProvider | None:
    """The provider the settings ask for: spans to a file, to an OTLP collector, or both."""
    if not tracing_enabled(settings):
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(_QueryStringsDropped())
    exporters: list[SpanExporter] = []
    if settings.traces_dir is not None:
        exporters.append(JsonLinesSpanExporter(settings.traces_dir / f"{service}.jsonl"))
    if settings.otlp_endpoint is not None:
        # OTLP over HTTP; headers (a collector's API key, say) come from the exporter's own
        # OTEL_EXPORTER_OTLP_HEADERS, so that no secret needs a setting of ours.
        endpoint = f"{settings.otlp_endpoint.rstrip('/')}/v1/traces"
        exporters.append(OTLPSpanExporter(endpoint=endpoint))
    for exporter in exporters:
        # Sent from a background thread, so a slow disk or collector never holds up the event
        # loop; a second between batches keeps a trace readable soon after the work is done.
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1000))
    return provider


def configure_tracing(settings: Settings, service: str) -> TracerProvider | None:
    """Install this process's tracer provider, if the settings ask for traces. The provider
    flushes and closes its exporters when the process exits."""
    provider = tracer_provider(settings, service)
    if provider is not None:
        trace.set_tracer_provider(provider)
    return provider


def tracer() -> trace.Tracer:
    return trace.get_tracer("lifeevents")


def temporal_interceptors(settings: Settings) -> list[TracingInterceptor]:
    """The SDK's tracing interceptor when traces are on. On a client it carries the caller's
    span into workflow starts; every worker built from that client adds the workflow and
    activity spans. Off, nothing is added to what Temporal stores."""
    return [TracingInterceptor(tracer())] if tracing_enabled(settings) else []


def with_trace_headers(headers: KafkaHeaders) -> list[tuple[str, bytes]]:
    """The record's headers plus the current span's W3C trace context (none if no span)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return [*headers, *((name, value.encode()) for name, value in carrier.items())]


def context_from_headers(headers: KafkaHeaders) -> Context:
    """The trace context a producer put in a record's headers (an empty one if none)."""
    carrier = {
        name.lower(): value.decode(errors="replace")
        for name, value in headers
        if name.lower() in _TRACE_HEADERS
    }
    return _PROPAGATOR.extract(carrier)


@contextmanager
def consumed_span(topic: str, headers: KafkaHeaders) -> Iterator[Span]:
    """A consumer span for one record, continuing the producer's trace."""
    with tracer().start_as_current_span(
        f"{topic} process",
        context=context_from_headers(headers),
        kind=SpanKind.CONSUMER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": topic},
    ) as span:
        yield span


@contextmanager
def published_span(topic: str, event_type: str) -> Iterator[Span]:
    """A producer span for one record; `with_trace_headers` inside it links the consumer."""
    with tracer().start_as_current_span(
        f"{topic} publish",
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.destination.name": topic,
            "cloudevents.event_type": event_type,
        },
    ) as span:
        yield span
