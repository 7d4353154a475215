from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from services.notifications.activities import NotificationActivities
from services.notifications.catcher import Catcher, running
from services.notifications.channels import Channels
from services.notifications.content import Letterhead
from services.notifications.letters import PrintQueue
from services.notifications.mail import SmtpSender
from services.notifications.settings import MailCatcherSettings
from services.notifications.sms import HttpSmsProvider
from services.notifications.store import NotificationStore
from tests.support.council import sqlite_store

COUNCIL = "Exampletown Council"
PORTAL = "http://portal.exampletown.example"
SENDER = "Exampletown Council <notifications@exampletown.example>"
MAX_ATTEMPTS = 3


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[NotificationStore]:
    async with sqlite_store(NotificationStore, tmp_path) as opened:
        yield opened


def catcher_settings(folder: Path, smtp_port: int, http_port: int) -> MailCatcherSettings:
    return MailCatcherSettings(
        var_dir=folder,
        mail_catcher_smtp_port=smtp_port,
        mail_catcher_http_port=http_port,
    )


@pytest.fixture
async def catcher(tmp_path: Path, free_port: Callable[[], int]) -> AsyncIterator[Catcher]:
    """The real local catcher, SMTP and HTTP, on free ports, in this test's folder."""
    settings = catcher_settings(tmp_path / "catcher", free_port(), free_port())
    async with running(settings) as serving:
        yield serving


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def print_queue(tmp_path: Path) -> Path:
    return tmp_path / "print-queue"


def wired(smtp_port: int, sms_url: str, client: httpx.AsyncClient, print_queue: Path) -> Channels:
    return Channels(
        email=SmtpSender(host="127.0.0.1", port=smtp_port, sender=SENDER, timeout=5.0),
        sms=HttpSmsProvider(client, sms_url, timeout=5.0),
        letters=PrintQueue(print_queue),
        letterhead=Letterhead(COUNCIL, PORTAL),
    )


@pytest.fixture
def channels(catcher: Catcher, http_client: httpx.AsyncClient, print_queue: Path) -> Channels:
    """Every channel, delivering to the catcher and the test's print queue."""
    return wired(catcher.smtp_port, f"{catcher.url}/sms", http_client, print_queue)


@pytest.fixture
def service(store: NotificationStore, channels: Channels) -> NotificationActivities:
    return NotificationActivities(store, channels, max_attempts=MAX_ATTEMPTS)
