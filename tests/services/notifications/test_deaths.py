"""notifications.record_death: once the service has recorded a death, nothing is addressed to
that resident again, whatever a notification says; the living are still sent to."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import structlog
from temporalio.testing import WorkflowEnvironment

from contracts.actions import ActionOutcome
from contracts.residents import DeathRecord
from contracts.temporal import Activity
from services.notifications.activities import NotificationActivities
from services.notifications.catcher import Catcher
from services.notifications.channels import Channels
from services.notifications.store import NotificationStore
from tests.services.notifications.test_send import EMAIL, HOME, PHONE, notification
from tests.support.council import new_resident, snapshot, sqlite_store, through_temporal

DELIVERY_TABLES = ("notification_inbox", "notification_messages")


def death_record(resident: str, *, workflow_id: str | None = None) -> DeathRecord:
    return DeathRecord(
        resident=resident,
        date_of_death=date(2025, 8, 7),
        workflow_id=workflow_id or f"lifeevent-{uuid.uuid4().hex}",
        step="notifications-record-death",
    )


async def test_a_recorded_death_refuses_every_later_notification(
    service: NotificationActivities, store: NotificationStore
) -> None:
    resident = new_resident()
    recorded = await service.record_death(death_record(resident))
    assert recorded == ActionOutcome(outcome="done", code="deceased_recorded")
    before = await snapshot(store)

    # The notification does not say so (built before the death was known): refused anyway,
    # on every channel the resident had.
    sent = notification(resident=resident, deceased=False)
    with structlog.testing.capture_logs() as logs:
        outcome = await service.send(sent)

    assert outcome == ActionOutcome(outcome="no_action", code="deceased")
    after = await snapshot(store)
    for table in DELIVERY_TABLES:
        assert after[table] == before[table] == []
    assert await store.inbox(resident) == []
    # Recorded once for the step, as any notification is: a retry returns the same.
    assert len(after["notification_actions"]) == len(before["notification_actions"]) + 1
    assert await service.send(sent) == outcome
    assert await snapshot(store) == after

    [logged] = [entry for entry in logs if entry["event"] == "notification.refused"]
    assert logged == {
        "event": "notification.refused",
        "log_level": "info",
        "workflow_id": sent.workflow_id,
        "step": sent.step,
        "resident": resident,
        "template": sent.template,
        "code": "deceased",
    }
    for value in (EMAIL, PHONE, HOME.postcode):
        assert value not in str(logs)


async def test_the_living_are_still_sent_to(
    service: NotificationActivities, store: NotificationStore
) -> None:
    await service.record_death(death_record(new_resident()))
    living = notification()
    outcome = await service.send(living)
    assert (outcome.outcome, outcome.code) == ("done", "notified_by_email")
    assert len(await store.inbox(living.resident)) == 1
    assert await store.outbox() == [("email", EMAIL, outcome.references["notification"])]


async def test_record_death_is_idempotent(
    service: NotificationActivities, store: NotificationStore
) -> None:
    resident = new_resident()
    death = death_record(resident)
    first = await service.record_death(death)
    after = await snapshot(store)
    # A retry of the step returns its first outcome and changes nothing.
    assert await service.record_death(death) == first
    assert await snapshot(store) == after
    # Another workflow's step: the first record stands.
    again = await service.record_death(death_record(resident))
    assert again == ActionOutcome(outcome="no_action", code="already_recorded")
    assert len((await snapshot(store))["notification_deceased"]) == 1


async def test_through_temporal_a_recorded_death_stops_the_notification(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path, channels: Channels, catcher: Catcher
) -> None:
    async with sqlite_store(NotificationStore, tmp_path) as store:
        service = NotificationActivities(store, channels)
        resident = new_resident()

        recorded = await through_temporal(
            time_skipping_env,
            service.all,
            Activity.NOTIFICATIONS_RECORD_DEATH,
            death_record(resident),
        )
        refused = await through_temporal(
            time_skipping_env,
            service.all,
            Activity.NOTIFICATIONS_SEND,
            notification(resident=resident),
        )

        assert recorded.code == "deceased_recorded"
        assert refused == ActionOutcome(outcome="no_action", code="deceased")
        assert await store.inbox(resident) == []
        assert await store.outbox() == []
        assert await store.letters() == []
        assert await catcher.store.everything() == []
