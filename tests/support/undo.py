"""What the council services' undo tests share: a dump of a store's own data, the check
that undoing one step brings that dump back exactly, once, and the compensation a
withdrawal sends a service for one step (`reversal`) with the ways to spoil it.

The dump leaves out the record of steps (`*_actions`) and the journal (`*_journal`) by
their names, not by asking the code under test which tables it journals.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from temporalio.exceptions import ApplicationError

from contracts.actions import ActionOutcome, ResidentShare, ServiceAction
from services.common.council import ActionKey, CouncilActivities, CouncilStore
from services.common.journal import Undone
from tests.support.council import GATE_KEY, OTHER_KEY, new_resident, snapshot, token

__all__ = [
    "REVERSAL_REFUSALS",
    "Dump",
    "Spoil",
    "assert_reversal_refused_untouched",
    "assert_reversed_exactly",
    "assert_undone_exactly",
    "dump",
    "reversal",
]

Dump = dict[str, list[tuple[Any, ...]]]


async def dump(store: CouncilStore) -> Dump:
    """Every row of every table of the store but its steps and its journal, in key order."""
    found: Dump = {}
    async with store.engine.connect() as conn:
        for table in store.metadata.sorted_tables:
            if table.name.endswith(("_actions", "_journal")):
                continue
            rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
            found[table.name] = [tuple(row) for row in rows]
    return found


async def assert_undone_exactly(store: CouncilStore, key: ActionKey, before: Dump) -> None:
    """The step `key` changed the store; undone, the store is `before` again, and the step
    is still recorded; undone again, nothing changes."""
    assert await dump(store) != before, "the step changed nothing: nothing to show undone"

    first = await store.undo(key)

    assert first.conflicts == ()
    assert not first.already_undone
    assert first.restored > 0
    assert await dump(store) == before
    assert await store.recorded(key) is not None

    assert await store.undo(key) == Undone(restored=0, already_undone=True)
    assert await dump(store) == before


# --- the compensation, as a withdrawal sends it -----------------------------------------------


def reversal(
    service: CouncilActivities,
    original: ServiceAction,
    *,
    purpose: str | None = None,
    recipient: str | None = None,
    key: Ed25519PrivateKey = GATE_KEY,
    now: datetime | None = None,
    deceased: bool = False,
) -> ServiceAction:
    """The compensation of `original`'s step: the same workflow and step, one share per
    resident of it with no data, each token as the gate issues it for a decision that
    `reverses` (the step's purpose, by default the service's; this recipient; the step's
    categories; the data hash of `{}`)."""
    shares = tuple(
        ResidentShare(
            resident=share.resident,
            share_token=token(
                {},
                recipient=recipient or service.recipient,
                purpose=purpose or service.purpose,
                resident=share.resident,
                key=key,
                now=now,
                categories=sorted(share.data),
                deceased=deceased,
            ),
            data={},
        )
        for share in original.shares
    )
    return ServiceAction(
        workflow_id=original.workflow_id,
        step=original.step,
        event_id=str(uuid.uuid4()),
        event_type="lifeevents.event.withdrawn.v1",
        shares=shares,
    )


async def assert_reversed_exactly(
    undo: Callable[[ServiceAction], Awaitable[ActionOutcome]],
    store: CouncilStore,
    compensation: ServiceAction,
    before: Dump,
) -> ActionOutcome:
    """The compensation undoes its step: the store is `before` again (`done`, `undone`,
    with the rows restored); asked again, nothing changes (`already_undone`)."""
    assert await dump(store) != before, "the step changed nothing: nothing to show undone"

    outcome = await undo(compensation)

    assert outcome.outcome == "done"
    assert outcome.code == "undone"
    assert int(outcome.references["restored"]) > 0
    assert await dump(store) == before
    again = await undo(compensation)
    assert again == ActionOutcome(outcome="no_action", code="already_undone")
    assert await dump(store) == before
    return outcome


Spoil = Callable[[CouncilActivities, ServiceAction], ServiceAction]


def _last(good: ServiceAction, **changes: Any) -> ServiceAction:
    """`good` with its last share changed: one bad share refuses them all."""
    last = good.shares[-1].model_copy(update=changes)
    return good.model_copy(update={"shares": (*good.shares[:-1], last)})


def _retoken(service: CouncilActivities, good: ServiceAction, **overrides: Any) -> ServiceAction:
    arguments: dict[str, Any] = {
        "recipient": service.recipient,
        "purpose": next(iter(sorted(service.acts_for))),
        "resident": good.shares[-1].resident,
    }
    arguments.update(overrides)
    data = arguments.pop("data", {})
    return _last(good, share_token=token(data, **arguments), data=data)


# (type, code, how a good compensation is spoilt): each refuses the whole undo, untouched.
REVERSAL_REFUSALS: list[tuple[str, str, Spoil]] = [
    ("ShareRefused", "missing", lambda s, good: _last(good, share_token="")),
    ("ShareRefused", "bad_signature", lambda s, good: _retoken(s, good, key=OTHER_KEY)),
    (
        "ShareRefused",
        "expired",
        lambda s, good: _retoken(s, good, now=datetime.now(UTC) - timedelta(minutes=6)),
    ),
    ("ShareRefused", "wrong_recipient", lambda s, good: _retoken(s, good, recipient="libraries")),
    # A purpose the service does not act for (another service's).
    ("ShareRefused", "wrong_purpose", lambda s, good: _retoken(s, good, purpose="tell-us-once")),
    ("ShareRefused", "wrong_resident", lambda s, good: _retoken(s, good, resident=new_resident())),
    # A token for data (a forward step's), handed with no data: not what it was issued for.
    (
        "ShareRefused",
        "data_altered",
        lambda s, good: _last(_retoken(s, good, data={"identity": {"x": 1}}), data={}),
    ),
    # Data in a compensation, even under a token for it: refused before any token is read.
    (
        "ShareDataInvalid",
        "invalid_data:reversal_with_data",
        lambda s, good: _retoken(s, good, data={"identity": {"x": 1}}),
    ),
]


async def assert_reversal_refused_untouched(
    undo: Callable[[ServiceAction], Awaitable[ActionOutcome]],
    spoilt: ServiceAction,
    kind: str,
    problem: str,
    store: CouncilStore,
) -> None:
    """The compensation is refused with `problem`, and not one row of the store changed
    (its journal included)."""
    before = await snapshot(store)
    with pytest.raises(ApplicationError) as refused:
        await undo(spoilt)
    assert refused.value.type == kind
    assert refused.value.non_retryable
    assert refused.value.message == problem
    assert await snapshot(store) == before
