"""Undoing a notifications step (a life event withdrawn as entered in error): after a
notification sent by e-mail, and after a death recorded, the store is exactly as it was
before the step; a retry of the step does not do it again. The step is keyed on the resident
too (one notification per resident per step). What was e-mailed stays sent: undo restores the
store, it cannot recall a message."""

from __future__ import annotations

from services.common.council import ActionKey
from services.notifications.activities import NotificationActivities
from services.notifications.store import NotificationStore
from tests.services.notifications.test_deaths import death_record
from tests.services.notifications.test_send import notification
from tests.support.council import new_resident
from tests.support.undo import assert_undone_exactly, dump


async def seeded(service: NotificationActivities) -> None:
    await service.send(notification(channels=("letter",)))
    await service.record_death(death_record(new_resident()))


async def test_undoing_a_notification_takes_it_out_of_the_inbox_and_outbox(
    service: NotificationActivities, store: NotificationStore
) -> None:
    await seeded(service)
    before = await dump(store)
    sent = notification()
    outcome = await service.send(sent)
    assert outcome.code == "notified_by_email"

    await assert_undone_exactly(
        store, ActionKey(sent.workflow_id, sent.step, sent.resident), before
    )

    assert await service.send(sent) == outcome
    assert await dump(store) == before


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
