"""Helpers every council service's tests share (council tax, electoral services, school
admissions, benefits, notifications): share tokens made as the consent gate makes them, the
data categories in the shapes the workflows send, and the refusal cases.

Synthetic people only; resident keys are random.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from contracts.actions import ActionOutcome, ResidentShare, ServiceAction
from contracts.shares import data_hash
from services.common.council import CouncilActivities, CouncilStore, ShareKeySource
from services.common.sharetokens import ShareTokenIssuer

__all__ = [
    "GATE_KEY",
    "MOVE_DATE",
    "NEW",
    "OLD",
    "OTHER_KEY",
    "REFUSALS",
    "CallService",
    "Refusal",
    "action",
    "address",
    "age",
    "assert_refused_untouched",
    "crashing_after_commit",
    "keys",
    "move",
    "new_resident",
    "per_resident",
    "share",
    "snapshot",
    "sqlite_store",
    "through_temporal",
    "token",
]

GATE_KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
MOVE_DATE = "2025-10-18"


def keys() -> ShareKeySource:
    return ShareKeySource(GATE_KEY.public_key())


def new_resident() -> str:
    return "res_" + secrets.token_urlsafe(12)


def address(lines: str, postcode: str, uprn: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"lines": [lines], "town": "Exampletown", "postcode": postcode}
    if uprn is not None:
        found["uprn"] = uprn
    return found


OLD = address("3 Sample Close", "AB1 3DE")
NEW = address("44 Fictitious Avenue", "AB2 4FG", uprn="999000000044")


def move(
    direction: str = "within",
    old: dict[str, Any] | None = OLD,
    new: dict[str, Any] | None = NEW,
    move_date: str = MOVE_DATE,
) -> dict[str, Any]:
    """The `address` category of a change of address."""
    return {
        "direction": direction,
        "move_date": move_date,
        "old_address": old if direction != "into" else None,
        "new_address": new,
    }


def token(
    data: dict[str, Any],
    *,
    recipient: str,
    purpose: str,
    resident: str,
    key: Ed25519PrivateKey = GATE_KEY,
    now: datetime | None = None,
    categories: list[str] | None = None,
    deceased: bool = False,
) -> str:
    issuer = ShareTokenIssuer(key, ttl=timedelta(minutes=5))
    issued, _ = issuer.issue(
        decision_id=f"dec_{uuid.uuid4().hex}",
        resident=resident,
        recipient=recipient,
        purpose=purpose,
        categories=categories if categories is not None else sorted(data),
        basis="public_task",
        consent_id=None,
        data_hash=data_hash(data),
        now=now or datetime.now(UTC),
        deceased=deceased,
    )
    return issued


def per_resident(data: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Each resident's own data from a household's: `identity` and `birth` list one entry per
    resident, `household` has one of its `members` per resident and `other_adults`, and the
    other categories (the move's addresses) are every resident's alike."""
    people: list[dict[str, Any]] = []
    for index in range(count):
        own: dict[str, Any] = {}
        for category, value in data.items():
            if category in ("identity", "birth"):
                own[category] = value[index]
            elif category == "household":
                place = dict(value["members"][index])
                place["other_adults"] = value.get("other_adults", 0)
                own[category] = place
            else:
                own[category] = value
        people.append(own)
    return people


def share(
    service: CouncilActivities | type[CouncilActivities],
    resident: str,
    data: dict[str, Any],
    *,
    deceased: bool = False,
) -> ResidentShare:
    """One resident's share with a good token for `service` (stamped `deceased` as the gate
    stamps it for a resident it knows to have died)."""
    issued = token(
        data,
        recipient=service.recipient,
        purpose=service.purpose,
        resident=resident,
        deceased=deceased,
    )
    return ResidentShare(resident=resident, share_token=issued, data=data)


def action_of(
    service: CouncilActivities | type[CouncilActivities],
    people: Sequence[tuple[str, dict[str, Any]]],
    *,
    deceased: Collection[str] = (),
    workflow_id: str | None = None,
    step: str = "step-1",
    event_type: str = "lifeevents.death.registered.v1",
) -> ServiceAction:
    """A `ServiceAction` with each (resident, data) as its own share, each with a good token
    for `service`; the residents in `deceased` have tokens stamped as the gate stamps them
    after a death."""
    return ServiceAction(
        workflow_id=workflow_id or f"death-{uuid.uuid4().hex}",
        step=step,
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        shares=tuple(
            share(service, resident, data, deceased=resident in deceased)
            for resident, data in people
        ),
    )


def action(
    service: CouncilActivities | type[CouncilActivities],
    data: dict[str, Any],
    residents: tuple[str, ...],
    *,
    workflow_id: str | None = None,
    step: str = "step-1",
    share_token: str | None = None,
) -> ServiceAction:
    """A `ServiceAction` sharing each resident's part of the household's `data`, each with a
    good token for `service` (the first resident's is `share_token` when given)."""
    shares = [
        share(service, resident, own)
        for resident, own in zip(residents, per_resident(data, len(residents)), strict=True)
    ]
    if share_token is not None:
        shares[0] = shares[0].model_copy(update={"share_token": share_token})
    return ServiceAction(
        workflow_id=workflow_id or f"move-{uuid.uuid4().hex}",
        step=step,
        event_id=str(uuid.uuid4()),
        event_type="lifeevents.address.changed.v1",
        shares=tuple(shares),
    )


Refusal = Callable[[CouncilActivities, ServiceAction], ServiceAction]


def _with(good: ServiceAction, **changes: Any) -> ServiceAction:
    """`good` with its last resident's share changed: one bad share refuses them all."""
    last = good.shares[-1].model_copy(update=changes)
    return good.model_copy(update={"shares": (*good.shares[:-1], last)})


def _token(service: CouncilActivities, good: ServiceAction, **overrides: Any) -> str:
    last = good.shares[-1]
    arguments: dict[str, Any] = {
        "recipient": service.recipient,
        "purpose": service.purpose,
        "resident": last.resident,
    }
    arguments.update(overrides)
    return token(last.data, **arguments)


def _altered(good: ServiceAction) -> dict[str, Any]:
    data = dict(good.shares[-1].data)
    data["address"] = dict(data["address"], move_date="2025-10-19")
    return data


def _categories(good: ServiceAction) -> list[str]:
    return sorted(good.shares[-1].data)[1:]


# (problem code, how a good action is spoilt)
REFUSALS: list[tuple[str, Refusal]] = [
    ("missing", lambda s, good: _with(good, share_token="")),
    ("malformed", lambda s, good: _with(good, share_token="not-a-token")),
    ("bad_signature", lambda s, good: _with(good, share_token=_token(s, good, key=OTHER_KEY))),
    (
        "expired",
        lambda s, good: _with(
            good, share_token=_token(s, good, now=datetime.now(UTC) - timedelta(minutes=6))
        ),
    ),
    (
        "wrong_recipient",
        lambda s, good: _with(good, share_token=_token(s, good, recipient="libraries")),
    ),
    (
        "wrong_purpose",
        lambda s, good: _with(
            good, share_token=_token(s, good, purpose="library-membership-offer")
        ),
    ),
    ("data_altered", lambda s, good: _with(good, data=_altered(good))),
    (
        "wrong_resident",
        lambda s, good: _with(good, share_token=_token(s, good, resident=new_resident())),
    ),
    (
        "wrong_resident",
        # Another resident of the same action: their token does not cover this one.
        lambda s, good: (
            _with(good, share_token=_token(s, good, resident=good.shares[0].resident))
            if len(good.shares) > 1
            else _with(good, share_token=_token(s, good, resident=new_resident()))
        ),
    ),
    (
        "category_not_shared",
        lambda s, good: _with(good, share_token=_token(s, good, categories=_categories(good))),
    ),
]


async def assert_refused_untouched(
    perform: Callable[[ServiceAction], Awaitable[ActionOutcome]],
    spoilt: ServiceAction,
    problem: str,
    store: CouncilStore,
) -> None:
    """The action is refused with `problem`, and not one row of the store changed."""
    before = await snapshot(store)
    with pytest.raises(ApplicationError) as refused:
        await perform(spoilt)
    assert refused.value.type == "ShareRefused"
    assert refused.value.non_retryable
    assert refused.value.message == problem
    assert await snapshot(store) == before


async def snapshot(store: CouncilStore) -> dict[str, list[Any]]:
    """Every row of every table of the store."""
    found: dict[str, list[Any]] = {}
    async with store.engine.connect() as conn:
        for table in store.metadata.sorted_tables:
            found[table.name] = [tuple(row) for row in await conn.execute(table.select())]
    return found


def age(years: int, on: str = MOVE_DATE) -> str:
    """A date of birth `years` before `on` (a day earlier, so the birthday has passed)."""
    moved = date.fromisoformat(on)
    return (moved.replace(year=moved.year - years) - timedelta(days=1)).isoformat()


StoreT = TypeVar("StoreT", bound=CouncilStore)


@asynccontextmanager
async def sqlite_store(store_type: type[StoreT], folder: Path) -> AsyncIterator[StoreT]:
    async with await store_type.open(f"sqlite+aiosqlite:///{folder / 'store.db'}") as opened:
        yield opened


# --- through Temporal -------------------------------------------------------------------------


@workflow.defn(name="CouncilServiceTest")
class CallService:
    """Calls one service activity by name on the service's queue, as the life-event
    workflows do, retrying quickly."""

    @workflow.run
    async def run(self, name: str, queue: str, argument: dict[str, Any]) -> ActionOutcome:
        outcome: ActionOutcome = await workflow.execute_activity(
            name,
            argument,
            task_queue=queue,
            result_type=ActionOutcome,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=50), maximum_attempts=3
            ),
        )
        return outcome


M = TypeVar("M", bound=BaseModel)


def crashing_after_commit(
    perform: Callable[[M], Awaitable[ActionOutcome]], model: type[M], name: str, attempts: list[int]
) -> Callable[..., Awaitable[ActionOutcome]]:
    """The activity `name`, whose first attempt crashes just after its change committed."""

    @activity.defn(name=name)
    async def crashing(argument: dict[str, Any]) -> ActionOutcome:
        attempts.append(activity.info().attempt)
        outcome = await perform(model.model_validate(argument))
        if activity.info().attempt == 1:
            raise RuntimeError("the worker crashed after the commit")
        return outcome

    return crashing


async def through_temporal(
    env: WorkflowEnvironment,
    activities: Sequence[Callable[..., Any]],
    name: str,
    argument: BaseModel,
) -> ActionOutcome:
    """Run `name` with `argument` through a workflow and a worker serving `activities`."""
    queue = f"council-test-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[CallService],
        activities=activities,
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        return await env.client.execute_workflow(
            CallService.run,
            args=[name, queue, argument.model_dump(mode="json")],
            id=f"council-test-{uuid.uuid4().hex}",
            task_queue=queue,
        )
