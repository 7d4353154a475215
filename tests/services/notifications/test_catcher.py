"""The local mail and SMS catcher as `lifeevents run` starts it (`python -m
services.notifications.catcher`): SMTP and HTTP on this machine only, the bounce domain
refused at RCPT, texts taken through its SMS API, everything listed newest first and shown
on a page; and the notification worker's default settings delivering to it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from contracts.temporal import Activity
from services.notifications.catcher import BOUNCE_DOMAIN, running
from services.notifications.channels import Refused
from services.notifications.content import Letterhead, email_content
from services.notifications.letters import PrintQueue
from services.notifications.mail import SmtpSender
from services.notifications.settings import NotificationSettings
from services.notifications.sms import HttpSmsProvider
from services.notifications.templates import render
from services.notifications.worker import channels, serve
from tests.services.notifications.conftest import catcher_settings
from tests.services.notifications.test_send import EMAIL, PHONE, notification
from tests.support import ServiceProcess, subprocess_env
from tests.support.council import through_temporal

SENDER = "Exampleshire Council <notifications@exampleshire.example>"
CONTENT = email_content(
    render("move.benefits", {"claims": "HB-0000000001", "effective_from": "2025-10-18"}),
    "NTF-00000000AA",
    Letterhead(),
)


def listening_on(port: int) -> set[str]:
    """The IPv4 addresses something listens on at `port` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, _, hex_port = local.partition(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


async def answers(client: httpx.AsyncClient, url: str, within: float = 20.0) -> None:
    for _ in range(int(within / 0.1)):
        try:
            await client.get(url)
            return
        except httpx.TransportError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


async def test_the_catcher_process_catches_mail_and_texts_on_this_machine_only(
    tmp_path: Path, free_port: Callable[[], int], http_client: httpx.AsyncClient
) -> None:
    smtp_port, http_port = free_port(), free_port()
    var = tmp_path / "var"
    env = subprocess_env(
        LIFEEVENTS_VAR_DIR=str(var),
        LIFEEVENTS_MAIL_CATCHER_SMTP_PORT=str(smtp_port),
        LIFEEVENTS_MAIL_CATCHER_HTTP_PORT=str(http_port),
        LIFEEVENTS_LOG_FORMAT="json",
    )
    url = f"http://127.0.0.1:{http_port}"
    sender = SmtpSender(host="127.0.0.1", port=smtp_port, sender=SENDER)
    async with ServiceProcess("services.notifications.catcher", env) as process:
        await answers(http_client, f"{url}/messages")
        assert listening_on(smtp_port) == listening_on(http_port) == {"127.0.0.1"}

        mailed = await sender.send(EMAIL, CONTENT, "NTF-00000000AA")
        with pytest.raises(Refused) as bounced:
            await sender.send(f"someone@{BOUNCE_DOMAIN}", CONTENT, "NTF-00000000BB")
        texted = await http_client.post(
            f"{url}/sms",
            json={"to": PHONE, "body": "Your <b>answer</b> is due", "reference": "NTF-0000000CC"},
        )
        refused = await http_client.post(
            f"{url}/sms", json={"to": "not a phone", "body": "Hello", "reference": "NTF-1"}
        )
        listed = (await http_client.get(f"{url}/messages")).json()
        page = (await http_client.get(f"{url}/")).text

        code, output = await process.stop()

    assert (mailed.status, mailed.receipt) == ("sent", "<NTF-00000000AA@exampleshire.example>")
    assert bounced.value.code == "smtp_550"
    assert texted.status_code == 201
    assert texted.json() == {"id": texted.json()["id"], "status": "delivered"}
    assert (refused.status_code, refused.json()) == (400, {"error": "invalid_number"})
    assert [(m["kind"], m["to"], m["subject"], m["reference"]) for m in listed] == [
        ("sms", PHONE, None, "NTF-0000000CC"),
        ("email", EMAIL, CONTENT.subject, "<NTF-00000000AA@exampleshire.example>"),
    ]
    assert listed[1]["body"] == CONTENT.text
    assert listed[1]["html"] == CONTENT.html
    assert CONTENT.subject in page
    assert "Your &lt;b&gt;answer&lt;/b&gt; is due" in page  # escaped, not markup
    assert "<b>answer" not in page
    assert code == 0
    assert '"event": "mail-catcher.started"' in output
    assert '"event": "mail-catcher.stopped"' in output
    # Counts and ports in its log, never an address or a message.
    for secret in (EMAIL, PHONE, f"someone@{BOUNCE_DOMAIN}", "HB-0000000001"):
        assert secret not in output
    assert (var / "mail-catcher" / "mail-catcher.db").exists()


async def test_what_the_catcher_caught_survives_a_restart(
    tmp_path: Path, free_port: Callable[[], int], http_client: httpx.AsyncClient
) -> None:
    settings = catcher_settings(tmp_path, free_port(), free_port())
    async with running(settings) as catcher:
        await HttpSmsProvider(http_client, f"{catcher.url}/sms").send(PHONE, "Hello", "NTF-1")
    async with running(settings) as catcher:
        assert [(c.kind, c.body) for c in await catcher.store.everything()] == [("sms", "Hello")]


async def test_a_port_in_use_fails_the_catcher_at_start(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    settings = catcher_settings(tmp_path, free_port(), free_port())
    async with running(settings):
        with pytest.raises(OSError, match="already in use"):
            async with running(settings):
                pass


async def test_the_service_delivers_to_the_catcher_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, http_client: httpx.AsyncClient
) -> None:
    monkeypatch.setenv("LIFEEVENTS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("LIFEEVENTS_MAIL_CATCHER_SMTP_PORT", "21025")
    monkeypatch.setenv("LIFEEVENTS_MAIL_CATCHER_HTTP_PORT", "28025")
    by_default = NotificationSettings()
    assert (by_default.smtp_host, by_default.smtp_port_or_catcher) == ("127.0.0.1", 21025)
    assert by_default.sms_url == "http://127.0.0.1:28025/sms"
    assert by_default.print_queue == tmp_path / "print-queue"
    assert (by_default.smtp_starttls, by_default.smtp_username) == (False, None)

    monkeypatch.setenv("LIFEEVENTS_SMTP_HOST", "smtp.exampleshire.example")
    monkeypatch.setenv("LIFEEVENTS_SMTP_PORT", "587")
    monkeypatch.setenv("LIFEEVENTS_SMTP_STARTTLS", "true")
    monkeypatch.setenv("LIFEEVENTS_SMTP_USERNAME", "lifeevents")
    monkeypatch.setenv("LIFEEVENTS_SMTP_PASSWORD", "not-a-real-password")
    monkeypatch.setenv("LIFEEVENTS_SMS_API_URL", "https://sms.exampleshire.example/v2/send")
    monkeypatch.setenv("LIFEEVENTS_PRINT_QUEUE_DIR", str(tmp_path / "print-room"))
    real = NotificationSettings()
    wired = channels(real, http_client)
    assert isinstance(wired.email, SmtpSender)
    assert (wired.email.host, wired.email.port, wired.email.starttls) == (
        "smtp.exampleshire.example",
        587,
        True,
    )
    assert (wired.email.username, wired.email.password) == ("lifeevents", "not-a-real-password")
    assert isinstance(wired.sms, HttpSmsProvider)
    assert wired.sms.url == "https://sms.exampleshire.example/v2/send"
    assert isinstance(wired.letters, PrintQueue)
    assert wired.letters.folder == tmp_path / "print-room"
    assert "not-a-real-password" not in repr(real)


async def test_the_worker_as_configured_delivers_through_temporal(
    time_skipping_env: WorkflowEnvironment,
    tmp_path: Path,
    free_port: Callable[[], int],
) -> None:
    catcher_at = catcher_settings(tmp_path / "catcher", free_port(), free_port())
    settings = NotificationSettings(
        var_dir=tmp_path / "var",
        mail_catcher_smtp_port=catcher_at.mail_catcher_smtp_port,
        mail_catcher_http_port=catcher_at.mail_catcher_http_port,
    )
    sent = notification(channels=("sms", "email"), workflow_id=f"move-{uuid.uuid4().hex}")
    async with running(catcher_at) as catcher, serve(settings) as served:
        outcome = await through_temporal(
            time_skipping_env, served.activities, Activity.NOTIFICATIONS_SEND, sent
        )
        caught = await catcher.store.everything()

    assert served.task_queue == "notifications"
    assert outcome.code == "notified_by_sms"
    assert outcome.references["status"] == "delivered"
    [text] = caught
    assert text.to == PHONE
    assert text.body.startswith("Exampleshire Council: We have updated your council tax")
    assert text.body.endswith("More: http://localhost:8030")
    assert (tmp_path / "var" / "notifications" / "notifications.db").exists()
