"""The notifications process: the Temporal worker on task queue `notifications`, and the
channels it delivers through.

`python -m services.notifications` runs the shared worker process (`services.common.worker`)
with the notification settings (`settings.NotificationSettings`): SMTP, the SMS provider's
HTTP client and the print queue are made from them before the worker polls, and the HTTP
client is closed after the worker has finished the activities it holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from services.common.worker import Served, run_worker
from services.notifications.activities import NotificationActivities
from services.notifications.channels import Channels
from services.notifications.content import Letterhead
from services.notifications.letters import PrintQueue
from services.notifications.mail import SmtpSender
from services.notifications.settings import NotificationSettings
from services.notifications.sms import HttpSmsProvider
from services.notifications.store import NotificationStore

__all__ = ["channels", "main", "serve"]


def channels(settings: NotificationSettings, client: httpx.AsyncClient) -> Channels:
    """Every channel, as the settings wire it."""
    return Channels(
        email=SmtpSender.from_settings(settings),
        sms=HttpSmsProvider.from_settings(settings, client),
        letters=PrintQueue(settings.print_queue),
        letterhead=Letterhead(settings.portal_council_name, settings.portal_public_url),
    )


@asynccontextmanager
async def serve(settings: NotificationSettings) -> AsyncIterator[Served]:
    async with (
        await NotificationStore.open(settings.database_url("notifications")) as store,
        httpx.AsyncClient() as client,
    ):
        activities = NotificationActivities.serving(store, settings, channels(settings, client))
        yield Served(activities.task_queue, activities.all)


def main() -> None:
    run_worker("notifications", NotificationSettings, serve)
