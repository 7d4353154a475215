"""notifications.send through Temporal: a retry after a crash past the commit sends once;
a channel down for the first attempt is tried again by Temporal's retry, and sends once."""

from __future__ import annotations

import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from contracts.notifications import Notification
from contracts.temporal import Activity
from services.notifications.activities import NotificationActivities
from services.notifications.catcher import Catcher
from services.notifications.channels import Channels
from services.notifications.store import NotificationStore
from tests.support.council import (
    crashing_after_commit,
    new_resident,
    sqlite_store,
    through_temporal,
)


async def test_a_retry_after_a_crash_past_the_commit_sends_once(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path, channels: Channels, catcher: Catcher
) -> None:
    async with sqlite_store(NotificationStore, tmp_path) as store:
        service = NotificationActivities(store, channels)
        attempts: list[int] = []
        crashing = crashing_after_commit(
            service.send, Notification, Activity.NOTIFICATIONS_SEND, attempts
        )
        sent = Notification(
            resident=new_resident(),
            template="move.benefits",
            references={"claims": "HB-1", "effective_from": "2025-10-18"},
            workflow_id=f"move-{uuid.uuid4().hex}",
            step="benefits",
            channels=("sms", "letter"),
            phone="+447700900123",
        )

        outcome = await through_temporal(
            time_skipping_env, [crashing], Activity.NOTIFICATIONS_SEND, sent
        )

        assert attempts == [1, 2]
        assert outcome.code == "notified_by_sms"
        assert len(await store.inbox(sent.resident)) == 1
        assert len(await store.outbox()) == 1
        # The second attempt found the text delivered, and did not send it again.
        [text] = await catcher.store.everything()
        assert (text.kind, text.to, text.reference) == (
            "sms",
            "+447700900123",
            outcome.references["notification"],
        )
