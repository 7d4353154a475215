"""Undoing a notifications step (a life event withdrawn as entered in error): after a
notification sent by e-mail, the inbox is exactly as it was before the step, and the record
of what the channel took stays (undo restores the store, it cannot recall a message); after
a death recorded, the store is exactly as it was; a retry of the step does not do it again.
The step is keyed on the resident too (one notification per resident per step).

`notifications.undo_death`, asked by a withdrawal, finds the workflow's `record_death` steps
in the record of steps and undoes them, so the resident is written to again; its other
steps (what was sent) stand. Once; nothing to undo when the workflow recorded no death.
On SQLite and PostgreSQL, and once through a worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog
from temporalio.testing import WorkflowEnvironment

from contracts.actions import ActionOutcome, UndoRequest
from contracts.temporal import Activity
from services.common.council import ActionKey
from services.notifications.activities import NotificationActivities
from services.notifications.channels import Channels
from services.notifications.store import NotificationStore
from tests.services.notifications.test_deaths import death_record
from tests.services.notifications.test_send import notification
from tests.support.council import new_resident, snapshot, sqlite_store, through_temporal
from tests.support.postgres import fresh_postgres_url
from tests.support.undo import assert_undone_exactly, dump


async def seeded(service: NotificationActivities) -> None:
    await service.send(notification(channels=("letter",)))
    await service.record_death(death_record(new_resident()))


async def test_undoing_a_notification_takes_it_out_of_the_inbox_not_off_the_record(
    service: NotificationActivities, store: NotificationStore
) -> None:
    await seeded(service)
    before = await dump(store)
    sent = notification()
    outcome = await service.send(sent)
    assert outcome.code == "notified_by_email"
    reference = outcome.references["notification"]
    sent_record = [(m.reference, m.channel, m.status) for m in await store.messages(sent.resident)]
    assert sent_record == [(reference, "email", "sent")]

    undone = await store.undo(ActionKey(sent.workflow_id, sent.step, sent.resident))

    assert undone.restored == 1  # the inbox message
    after = await dump(store)
    assert after["notification_inbox"] == before["notification_inbox"]
    assert {t: rows for t, rows in after.items() if t != "notification_messages"} == {
        t: rows for t, rows in before.items() if t != "notification_messages"
    }
    # What the channel took stays on record.
    assert [
        (m.reference, m.channel, m.status) for m in await store.messages(sent.resident)
    ] == sent_record
    assert (await store.undo(ActionKey(sent.workflow_id, sent.step, sent.resident))).already_undone

    assert await service.send(sent) == outcome
    assert await dump(store) == after


async def test_undoing_a_recorded_death_forgets_it(
    service: NotificationActivities, store: NotificationStore
) -> None:
    await seeded(service)
    before = await dump(store)
    death = death_record(new_resident())
    outcome = await service.record_death(death)
    assert outcome.code == "deceased_recorded"

    await assert_undone_exactly(
        store, ActionKey(death.workflow_id, death.step, death.resident), before
    )

    assert await service.record_death(death) == outcome
    assert await dump(store) == before


# --- notifications.undo_death ------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
async def either_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[NotificationStore]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}"
    else:
        url = await fresh_postgres_url(request.getfixturevalue("postgres_socket_dir"))
    async with await NotificationStore.open(url) as opened:
        yield opened


def undo(workflow_id: str) -> UndoRequest:
    return UndoRequest(workflow_id=workflow_id, undone_by=f"lifeevent-{uuid.uuid4().hex}")


async def test_a_withdrawn_death_is_forgotten_and_the_resident_written_to_again(
    either_store: NotificationStore, channels: Channels
) -> None:
    service = NotificationActivities(either_store, channels)
    await seeded(service)
    resident = new_resident()
    before = await dump(either_store)
    death = death_record(resident)
    await service.record_death(death)
    # The same workflow told someone else something: that stays told.
    told = await service.send(notification(workflow_id=death.workflow_id, step="told"))
    after_telling = await dump(either_store)
    assert (await service.send(notification(resident=resident))).code == "deceased"

    with structlog.testing.capture_logs() as logs:
        outcome = await service.undo_death(undo(death.workflow_id))

    assert outcome == ActionOutcome(outcome="done", code="undone", references={"restored": "1"})
    assert (await dump(either_store))["notification_deceased"] == before["notification_deceased"]
    assert (await dump(either_store))["notification_inbox"] == after_telling["notification_inbox"]
    assert told.code == "notified_by_email"
    assert (await service.send(notification(resident=resident))).code == "notified_by_email"
    again = await service.undo_death(undo(death.workflow_id))
    assert again == ActionOutcome(outcome="no_action", code="already_undone")
    # A late retry of the step returns its first outcome and records nothing again.
    assert (await service.record_death(death)).code == "deceased_recorded"
    assert not await _deceased(either_store, resident)
    assert [line["code"] for line in logs if line["event"] == "notification.death_undone"] == [
        "undone"
    ]


async def test_a_workflow_that_recorded_no_death_here_has_nothing_to_undo(
    service: NotificationActivities, store: NotificationStore
) -> None:
    resident = new_resident()
    await service.record_death(death_record(resident))
    # The same death from another workflow: the first record stands, this one wrote nothing.
    second = death_record(resident)
    assert (await service.record_death(second)).code == "already_recorded"
    sent = notification()
    await service.send(sent)
    before = await snapshot(store)

    for nothing in (second.workflow_id, sent.workflow_id, f"lifeevent-{uuid.uuid4().hex}"):
        assert await service.undo_death(undo(nothing)) == ActionOutcome(
            outcome="no_action", code="nothing_to_undo"
        )
    assert await snapshot(store) == before
    assert await _deceased(store, resident)


async def test_through_temporal_the_worker_undoes_a_death(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with sqlite_store(NotificationStore, tmp_path) as store:
        service = NotificationActivities(store)
        death = death_record(new_resident())
        await service.record_death(death)

        outcome = await through_temporal(
            time_skipping_env,
            service.all,
            Activity.NOTIFICATIONS_UNDO_DEATH,
            undo(death.workflow_id),
        )

    assert outcome.code == "undone"


async def _deceased(store: NotificationStore, resident: str) -> bool:
    async with store.engine.connect() as conn:
        return await store.is_deceased(conn, resident)
