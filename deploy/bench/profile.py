"""Where a workflow's time goes, read from its history: for each activity, how long it
waited on its task queue (scheduled → started: a worker free to take it) and how long it
ran (started → completed: the service's own work, its store included). Summed over a phase
by activity, this is the profile that says which component a slow run is waiting on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from deploy.bench.figures import percentile

__all__ = ["ActivityTime", "activity_times", "profile_table"]


@dataclass(frozen=True)
class ActivityTime:
    activity: str
    waited: float  # seconds on the task queue, for the attempt that completed
    ran: float  # seconds from that attempt's start to its completion


def activity_times(events: Sequence[HistoryEvent]) -> list[ActivityTime]:
    """Each completed activity of one run, with its time queued and its time running."""
    scheduled: dict[int, tuple[str, float]] = {}
    started: dict[int, float] = {}
    times: list[ActivityTime] = []
    for event in events:
        at = event.event_time.ToDatetime().timestamp()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = (name, at)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started[event.activity_task_started_event_attributes.scheduled_event_id] = at
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            key = event.activity_task_completed_event_attributes.scheduled_event_id
            name, queued = scheduled[key]
            begun = started.get(key, queued)
            times.append(ActivityTime(name, begun - queued, at - begun))
    return times


def profile_table(phase: str, times: Iterable[ActivityTime]) -> str:
    """Per activity, slowest total first: how many, and p50/p95 of waiting and running."""
    by_activity: dict[str, list[ActivityTime]] = defaultdict(list)
    for time in times:
        by_activity[time.activity].append(time)
    lines = [
        f"| {phase}: activity | n | queued p50 s | queued p95 s | ran p50 s | ran p95 s |"
        " total s (queued + ran) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, each in sorted(
        by_activity.items(), key=lambda item: -sum(t.waited + t.ran for t in item[1])
    ):
        waited, ran = [t.waited for t in each], [t.ran for t in each]
        lines.append(
            f"| {name} | {len(each)} | {percentile(waited, 50):.3f} | {percentile(waited, 95):.3f}"
            f" | {percentile(ran, 50):.3f} | {percentile(ran, 95):.3f}"
            f" | {sum(waited):.1f} + {sum(ran):.1f} |"
        )
    return "\n".join(lines)
