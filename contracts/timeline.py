"""What a life-event workflow shows and takes while it runs, and what it returns.

The timeline is the answer to the workflow's `timeline` query: the same view for ops, the
resident (portal) and the caseworker. Confirmations and caseworker decisions are the
workflow's updates. None of it carries personal data: steps, services and reasons are
codes, people are pseudonymous resident keys.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from urllib.parse import quote

from pydantic import Field

from contracts.base import ContractModel
from contracts.events.common import EventReference
from contracts.keys import ResidentKey, StepName, WorkflowId

__all__ = [
    "AlsoReported",
    "Amended",
    "CallbackRequest",
    "Confirmation",
    "DoneStep",
    "EventRecord",
    "MatchDecision",
    "Outcome",
    "PersonStatus",
    "Receipt",
    "StepStatus",
    "Timeline",
    "TimelineEntry",
    "Told",
    "answer_path",
]


class StepStatus(StrEnum):
    WAITING = "waiting"
    WAITING_FOR_RESIDENT = "waiting_for_resident"
    DONE = "done"
    SKIPPED = "skipped"
    NEEDS_PERSON = "needs_person"


class PersonStatus(ContractModel):
    """What a step did with one resident's data: shared and acted on, or why not."""

    resident: ResidentKey
    status: Literal[StepStatus.DONE, StepStatus.SKIPPED]
    reason: str = Field(default="", description="Why not, as a code: `objection_recorded`, …")


class TimelineEntry(ContractModel):
    step: str
    service: str
    status: StepStatus
    reason: str = ""
    outcome: str = ""
    references: dict[str, str] = Field(
        default_factory=dict,
        description="The service's own references for what it did (account, claim, notice "
        "numbers and dates), as in the letters; never personal data.",
    )
    people: tuple[PersonStatus, ...] = Field(
        default=(), description="Per resident, once the consent gate has decided about each."
    )


class AlsoReported(ContractModel):
    """Signal `also_reported` to the workflow of a life event's first report: another source
    reported it too (`workflow_id`, with the residents it added, who were acted on there)."""

    event: EventReference
    workflow_id: str
    added: tuple[ResidentKey, ...] = ()


class Timeline(ContractModel):
    """The `timeline` query's answer: the stage, whether a person is needed, one entry per
    step, and the open caseworker tasks."""

    event_id: str
    stage: str
    needs_person: bool
    entries: list[TimelineEntry]
    caseworker_tasks: list[str]
    also_reported: list[AlsoReported] = Field(
        default_factory=list,
        description="Other reports of this life event, from other sources, merged into it.",
    )


class Confirmation(ContractModel):
    """The resident's answer to a step that waits for them."""

    step: str
    accept: bool


def answer_path(workflow_id: str, step: str) -> str:
    """Where in the resident portal a resident answers a step that waits for them:
    `/events/<workflow_id>/steps/<step>`, each part one path segment (a corrected run's ID,
    `<id>/corrected-<n>`, has its slash escaped). No personal data: a workflow ID names an
    event, a step is a code. The notification that asks them links here."""
    return f"/events/{quote(workflow_id, safe='')}/steps/{quote(step, safe='')}"


class Receipt(ContractModel):
    """An update's answer: a fixed acknowledgement, never personal data."""

    message: str


class MatchDecision(ContractModel):
    """A caseworker's decision on a doubtful match: the person at `mover` (their place in
    the event), linked to an existing resident or created anew."""

    mover: int = Field(ge=0)
    decision: str = Field(description="`link` or `create`.")
    resident: str | None = None


class Outcome(ContractModel):
    """What a life-event workflow reports when it ends: identifiers and a stage only."""

    type: str
    id: str
    stage: str
    merged_into: EventReference | None = Field(
        default=None,
        description="The event this one was another report of (stage `merged`), or the one "
        "it contradicted (stage `contradicted`, decided by a caseworker).",
    )


class Amended(ContractModel):
    """Signal `amended` to a life event's workflow: its source withdrew or corrected the
    event. The workflow starts nothing more and stops waiting, ends (stage `withdrawn` or
    `corrected`), and the amending workflow (`workflow_id`) undoes what it did."""

    kind: Literal["withdrawn", "corrected"]
    by: EventReference
    workflow_id: str


class Told(ContractModel):
    """A resident told of a step, and how (`portal`, `email`, `sms`, `letter`): a letter
    posted cannot be taken back."""

    step: str
    resident: ResidentKey
    channel: str


class DoneStep(ContractModel):
    """A step the service acted on, and each share it received: what a compensation
    reverses, through the gate as the action went."""

    step: str
    workflow_id: str = Field(
        description="The workflow the service acted for (with `step`, the action's key): this "
        "one, or one it superseded whose action still stands."
    )
    service: str
    purpose: str
    recipient: str
    categories: tuple[str, ...]
    shared: dict[ResidentKey, str] = Field(
        description="Each resident whose data was shared, with the hash of exactly that data."
    )


class EventRecord(ContractModel):
    """The `record` query's answer: what a life-event workflow did that an amendment of its
    event would have to undo. No personal data: keys, codes and hashes."""

    event_id: str
    event_type: str
    stage: str
    about: tuple[ResidentKey, ...] = Field(
        default=(), description="Whom the event is about: the movers, the deceased, the child."
    )
    done: tuple[DoneStep, ...]
    told: tuple[Told, ...]
    answers: dict[str, bool] = Field(
        default_factory=dict, description="The residents' answers, by step: accepted or not."
    )
    decisions: dict[str, MatchDecision] = Field(
        default_factory=dict,
        description="Caseworkers' decisions on doubtful matches, by the hash of the details "
        "of the person decided about (`contracts.shares.data_hash`), so that the same person "
        "in a correction is not a caseworker's question twice.",
    )
    also_reported: tuple[AlsoReported, ...] = Field(
        default=(), description="Other reports of the life event, merged into this one."
    )
    workflows: tuple[str, ...] = Field(
        default=(),
        description="Every workflow whose records with the platform (the resident index, the "
        "gate's and the notification service's record of a death) are this event's: this one "
        "and those it superseded (a correction's redo supersedes the event's first run).",
    )
    amended: Amended | None = None


class CallbackRequest(ContractModel):
    """Start of a `CallbackWorkflow`: a resident asked, in the portal, for a person to call
    them. It carries no contact details: the caseworker looks the resident up in the resident
    index (how to reach them, and whether they are known to have died), so none of it lives
    in Temporal history."""

    resident: ResidentKey
    regarding: WorkflowId | None = Field(
        default=None,
        description="The life event's workflow the resident was looking at when they asked, "
        "if any: the caseworker opens its timeline.",
    )
    step: StepName | None = Field(
        default=None,
        description="The step of `regarding` they asked about (one waiting for their "
        "answer, say), if any.",
    )
