"""Metrics: what each process counts, served for Prometheus when `LIFEEVENTS_METRICS_PORT` is set.

Every metric is declared here, once, so the names and labels are one list to read. Labels are
closed sets of words the code itself spells (reason codes, workflow and activity names,
purposes, channels, outcomes): never a resident's key, an id, or anything a resident wrote.

- intake: `lifeevents_intake_accepted_total{event_type}`, `lifeevents_intake_rejected_total{reason}`
- orchestrator: `lifeevents_events_received_total{outcome}`,
  `lifeevents_events_dead_lettered_total{reason}`,
  `lifeevents_workflows_started_total{workflow,result}`
- workflow worker: `lifeevents_workflows_completed_total{workflow,outcome}`
- every worker: `lifeevents_activity_duration_seconds{activity,outcome}` (a histogram)
- consent: `lifeevents_share_decisions_total{purpose,decision}`
- notifications: `lifeevents_messages_sent_total{channel}`
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from prometheus_client import Counter, Histogram, start_http_server
from temporalio import activity, workflow
from temporalio.exceptions import FailureError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from services.common.settings import Settings

__all__ = [
    "ACTIVITY_SECONDS",
    "EVENTS_DEAD_LETTERED",
    "EVENTS_RECEIVED",
    "INTAKE_ACCEPTED",
    "INTAKE_REJECTED",
    "MESSAGES_SENT",
    "SHARE_DECISIONS",
    "WORKFLOWS_COMPLETED",
    "WORKFLOWS_STARTED",
    "WorkerMetrics",
    "serve_metrics",
]

log = structlog.get_logger(__name__)

INTAKE_ACCEPTED = Counter(
    "lifeevents_intake_accepted",
    "Events the intake API put on Kafka, by event type.",
    ["event_type"],
)
INTAKE_REJECTED = Counter(
    "lifeevents_intake_rejected",
    "Events the intake API refused for what they are (invalid, not the key's to send), by "
    "the error code it answered.",
    ["reason"],
)
EVENTS_RECEIVED = Counter(
    "lifeevents_events_received",
    "Life-event records the orchestrator answered, by what became of them.",
    ["outcome"],
)
EVENTS_DEAD_LETTERED = Counter(
    "lifeevents_events_dead_lettered",
    "Life-event records sent to the dead-letter topic, by reason code.",
    ["reason"],
)
WORKFLOWS_STARTED = Counter(
    "lifeevents_workflows_started",
    "Workflow starts the orchestrator asked of Temporal, by workflow type and answer.",
    ["workflow", "result"],
)
WORKFLOWS_COMPLETED = Counter(
    "lifeevents_workflows_completed",
    "Workflow runs this worker closed, by workflow type and outcome.",
    ["workflow", "outcome"],
)
ACTIVITY_SECONDS = Histogram(
    "lifeevents_activity_duration_seconds",
    "How long each activity attempt ran in this worker, by activity name and outcome.",
    ["activity", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
SHARE_DECISIONS = Counter(
    "lifeevents_share_decisions",
    "The consent gate's decisions, by purpose and decision (allow, deny, needs_consent).",
    ["purpose", "decision"],
)
MESSAGES_SENT = Counter(
    "lifeevents_messages_sent",
    "Notifications a channel took (the portal inbox when no other could), by channel.",
    ["channel"],
)


def serve_metrics(settings: Settings) -> int | None:
    """Serve /metrics from a thread of this process, if the settings give a port; the port
    it listens on (port 0 asks the system for one), or None.

    A port that cannot be had is said in the log and the process goes on without metrics:
    a service that would not start for want of its metrics would be the worse outage."""
    if settings.metrics_port is None:
        return None
    try:
        server, _ = start_http_server(settings.metrics_port, addr=settings.metrics_host)
    except OSError as error:
        log.error(
            "metrics.unavailable",
            host=settings.metrics_host,
            port=settings.metrics_port,
            error=error.strerror or type(error).__name__,
        )
        return None
    return int(server.server_port)


class WorkerMetrics(Interceptor):
    """On every worker: each activity attempt's duration, and each workflow run's outcome."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _TimedActivities(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _CountedWorkflows


class _TimedActivities(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        name = activity.info().activity_type
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = await super().execute_activity(input)
            outcome = "completed"
            return result
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            ACTIVITY_SECONDS.labels(activity=name, outcome=outcome).observe(
                time.perf_counter() - started
            )


class _CountedWorkflows(WorkflowInboundInterceptor):
    # Runs inside the workflow sandbox but was defined outside it, so the counters it reaches
    # are the process's own. A run's end is counted only when it happens, never on replay.
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        outcome: str | None = None
        try:
            result = await super().execute_workflow(input)
            outcome = "completed"
            return result
        except workflow.ContinueAsNewError:
            outcome = "continued_as_new"
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except FailureError:
            outcome = "failed"
            raise
        # Anything else fails the workflow task, not the run (Temporal retries the task), or
        # evicts the run from this worker's cache: the run has not ended, so nothing is counted.
        finally:
            if outcome is not None and not workflow.unsafe.is_replaying():
                WORKFLOWS_COMPLETED.labels(
                    workflow=workflow.info().workflow_type, outcome=outcome
                ).inc()
