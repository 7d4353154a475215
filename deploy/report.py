"""`lifeevents report`: the figures a council publishes, by life-event type and month.

- **Time to each action**: for every action a council service took for a life event, how long
  after the event itself (its CloudEvents `time`: when the birth, move or death happened or
  was registered at the source) the action was done; the median and the 90th percentile
  (`p90`, by nearest rank) over the month's events of that type. An action counts once per
  life event, at its first completion.
- **Take-up of offers**: of the offers made to residents (steps that wait for the resident's
  answer), how many were accepted, declined, or met no answer in time; `waiting` for those
  still open.

The month is the life event's own. Where the facts come from is `deploy.report_histories`;
this module only counts, so that its arithmetic can be checked by hand. No personal data:
event types, action and step names, counts and durations.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = [
    "ActionTimes",
    "Answer",
    "LifeEventFacts",
    "Report",
    "TakeUp",
    "figures",
    "render_json",
    "render_table",
]


class Answer(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    NO_ANSWER = "no_answer"
    WAITING = "waiting"


@dataclass(frozen=True)
class LifeEventFacts:
    """One life event's workflow, as the report needs it."""

    event_type: str
    occurred: datetime
    actions: dict[str, datetime] = field(default_factory=dict)  # first completion, by action
    offers: dict[str, Answer] = field(default_factory=dict)  # by step

    @property
    def month(self) -> str:
        return self.occurred.strftime("%Y-%m")


@dataclass(frozen=True)
class ActionTimes:
    event_type: str
    month: str
    action: str
    events: int
    median_seconds: float
    p90_seconds: float

    @property
    def figures(self) -> tuple[float, float]:
        return self.median_seconds, self.p90_seconds


@dataclass(frozen=True)
class TakeUp:
    event_type: str
    month: str
    offered: int
    accepted: int
    declined: int
    no_answer: int
    waiting: int

    @property
    def counts(self) -> tuple[int, ...]:
        return self.offered, self.accepted, self.declined, self.no_answer, self.waiting

    @property
    def take_up(self) -> float | None:
        """Accepted of those answered or past answering (open offers left out)."""
        settled = self.offered - self.waiting
        return self.accepted / settled if settled else None


@dataclass(frozen=True)
class Report:
    actions: list[ActionTimes]
    take_up: list[TakeUp]


def _nearest_rank(values: Sequence[float], percentile: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(percentile / 100 * len(ordered)), 1) - 1]


def figures(facts: Iterable[LifeEventFacts]) -> Report:
    delays: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    answers: dict[tuple[str, str], list[Answer]] = defaultdict(list)
    for event in facts:
        for action, done in event.actions.items():
            delays[(event.event_type, event.month, action)].append(
                (done - event.occurred).total_seconds()
            )
        answers[(event.event_type, event.month)].extend(event.offers.values())
    actions = [
        ActionTimes(
            event_type,
            month,
            action,
            events=len(seconds),
            median_seconds=float(statistics.median(seconds)),
            p90_seconds=_nearest_rank(seconds, 90),
        )
        for (event_type, month, action), seconds in sorted(delays.items())
    ]
    take_up = [
        TakeUp(
            event_type,
            month,
            offered=len(given),
            **{answer.value: given.count(answer) for answer in Answer},
        )
        for (event_type, month), given in sorted(answers.items())
        if given
    ]
    return Report(actions, take_up)


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.1f} s"


_ACTION_COLUMNS = ("event type", "month", "action", "events", "median", "p90")
_TAKE_UP_COLUMNS = (
    *("event type", "month", "offered", "accepted", "declined", "no answer", "waiting"),
    "take-up",
)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(map(len, column)) for column in zip(header, *rows, strict=True)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]


def _action_row(a: ActionTimes) -> tuple[str, ...]:
    return (a.event_type, a.month, a.action, str(a.events), *map(_duration, a.figures))


def _take_up_row(t: TakeUp) -> tuple[str, ...]:
    share = "-" if t.take_up is None else f"{t.take_up:.0%}"
    return (t.event_type, t.month, *map(str, t.counts), share)


def render_table(report: Report) -> str:
    lines = ["Time from the life event to each action"]
    lines += _table(_ACTION_COLUMNS, [_action_row(a) for a in report.actions])
    lines += ["", "Take-up of offers"]
    lines += _table(_TAKE_UP_COLUMNS, [_take_up_row(t) for t in report.take_up])
    return "\n".join(lines)


def render_json(report: Report) -> str:
    return json.dumps(
        {
            "actions": [asdict(a) for a in report.actions],
            "take_up": [asdict(t) | {"take_up": t.take_up} for t in report.take_up],
        },
        indent=2,
    )
