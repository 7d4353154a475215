"""Real delivery, and statuses that say what happened: an e-mail reaches the local SMTP
catcher (`sent`), a text its SMS sink (`delivered`), a letter the print queue (`sent`); a
bounced e-mail fails and becomes a letter; a mail server that is down is retried and the
message sent once it is up; a retry after success sends nothing again; a resident recorded
deceased meanwhile is not written to."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from contracts.actions import ActionOutcome
from contracts.addresses import UkAddress
from contracts.notifications import Notification
from contracts.temporal import Activity
from services.notifications.activities import NotificationActivities
from services.notifications.catcher import Catcher, running
from services.notifications.channels import Accepted, Channels
from services.notifications.content import LetterContent, Letterhead, email_content
from services.notifications.mail import SmtpSender
from services.notifications.store import NotificationStore
from services.notifications.templates import render
from tests.services.notifications.conftest import (
    COUNCIL,
    MAX_ATTEMPTS,
    PORTAL,
    catcher_settings,
    wired,
)
from tests.services.notifications.test_deaths import death_record
from tests.services.notifications.test_send import EMAIL, HOME, PHONE, notification
from tests.support.council import new_resident, sqlite_store, through_temporal

BOUNCING = "someone@bounce.invalid"
BENEFITS = {"claims": "HB-0000000001", "effective_from": "2025-10-18"}
BENEFITS_LINE = (
    "We have recorded your change of address on claim HB-0000000001 from 18 October 2025."
)
BENEFITS_SUBJECT = "Your housing benefit or council tax reduction after your move"


def benefits(**overrides: Any) -> Notification:
    return notification(template="move.benefits", references=BENEFITS, step="benefits", **overrides)


def pdfs(folder: Path) -> list[str]:
    """The letters in the print queue (no temporary file is ever left beside them)."""
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


def statuses(found: list[Any]) -> list[tuple[str, str, int, str | None]]:
    return [(m.channel, m.status, m.attempts, m.last_error) for m in found]


async def test_an_email_arrives_at_the_smtp_catcher(
    service: NotificationActivities, store: NotificationStore, catcher: Catcher
) -> None:
    sent = benefits(channels=("email", "letter"))
    outcome = await service.send(sent)

    reference = outcome.references["notification"]
    assert outcome == ActionOutcome(
        outcome="done",
        code="notified_by_email",
        references={"notification": reference, "channel": "email", "status": "sent"},
    )
    [mail] = await catcher.store.everything()
    assert mail.kind == "email"
    assert mail.to == EMAIL
    assert mail.subject == BENEFITS_SUBJECT
    assert mail.body == (
        f"{BENEFITS_LINE}\n\n"
        f"You can see what we did, and why, in your Life Events inbox. Sign in at {PORTAL}\n\n"
        f"{COUNCIL}\nReference: {reference}\n"
    )
    assert mail.html is not None
    assert f"<p>{BENEFITS_LINE}</p>" in mail.html
    # A retry of it would be recognisable: the Message-ID is the reference.
    assert mail.reference == f"<{reference}@exampletown.example>"
    assert statuses(await store.messages(sent.resident)) == [("email", "sent", 1, None)]
    assert await store.letters() == []


async def test_a_text_reaches_the_sms_sink_and_is_delivered(
    service: NotificationActivities, store: NotificationStore, catcher: Catcher
) -> None:
    sent = benefits(channels=("sms", "email"))
    outcome = await service.send(sent)

    reference = outcome.references["notification"]
    assert outcome.code == "notified_by_sms"
    assert outcome.references == {
        "notification": reference,
        "channel": "sms",
        "status": "delivered",
    }
    [text] = await catcher.store.everything()
    assert (text.kind, text.to, text.subject, text.reference) == ("sms", PHONE, None, reference)
    assert text.body == f"{COUNCIL}: {BENEFITS_LINE} More: {PORTAL}"
    assert statuses(await store.messages(sent.resident)) == [("sms", "delivered", 1, None)]


async def test_a_long_text_is_cut_at_a_word_and_keeps_the_portal_link(
    service: NotificationActivities, catcher: Catcher
) -> None:
    references = {
        "done_step_1": "council-tax",
        "done_outcome_1": "account closed",
        "done_references_1": "CT-0000000001",
        "done_step_2": "benefits",
        "done_outcome_2": "claim ended",
        "done_references_2": "HB-0000000001",
        "done_step_3": "electoral-register",
        "done_outcome_3": "entry removed",
        "done_references_3": "ER-0000000001",
        "pending_step_1": "blue-badge",
        "pending_on_1": "caseworker",
    }
    await service.send(
        notification(template="death.summary", references=references, channels=("sms",))
    )

    [text] = await catcher.store.everything()
    assert len(text.body) <= 306
    assert text.body.startswith(f"{COUNCIL}: We are very sorry for your loss.")
    assert text.body.endswith(f"... More: {PORTAL}")


async def test_a_bounced_email_fails_and_becomes_a_letter(
    service: NotificationActivities,
    store: NotificationStore,
    catcher: Catcher,
    print_queue: Path,
) -> None:
    sent = benefits(email=BOUNCING, channels=("email",))
    with structlog.testing.capture_logs() as logs:
        outcome = await service.send(sent)

    reference = outcome.references["notification"]
    assert outcome.code == "notified_by_letter"
    assert outcome.references == {"notification": reference, "channel": "letter", "status": "sent"}
    # The newest first: the letter, then the e-mail the catcher refused at RCPT.
    assert statuses(await store.messages(sent.resident)) == [
        ("letter", "sent", 1, None),
        ("email", "failed", 1, "smtp_550"),
    ]
    assert await catcher.store.everything() == []
    assert pdfs(print_queue) == [f"{reference}.pdf"]
    assert await store.letters() == [(reference, HOME)]
    # The channel's answer is a code in the logs: never the address it refused.
    refused = [line for line in logs if line["event"] == "notification.refused_by_channel"]
    assert [(line["channel"], line["code"]) for line in refused] == [("email", "smtp_550")]
    assert BOUNCING not in str(logs)
    assert HOME.postcode not in str(logs)


async def test_a_refused_number_falls_back_to_the_next_channel(
    service: NotificationActivities, store: NotificationStore, catcher: Catcher
) -> None:
    sent = benefits(phone="07700 not a number", channels=("sms", "email"))
    outcome = await service.send(sent)

    assert outcome.code == "notified_by_email"
    assert statuses(await store.messages(sent.resident)) == [
        ("email", "sent", 1, None),
        ("sms", "failed", 1, "sms_400_invalid_number"),
    ]
    assert [c.kind for c in await catcher.store.everything()] == ["email"]


async def test_no_channel_left_after_a_bounce_leaves_the_portal(
    service: NotificationActivities, store: NotificationStore, catcher: Catcher
) -> None:
    sent = benefits(email=BOUNCING, phone=None, address=None, channels=("email", "letter"))
    outcome = await service.send(sent)

    assert outcome.code == "notified_by_portal"
    assert outcome.references["status"] == "delivered"
    assert statuses(await store.messages(sent.resident)) == [("email", "failed", 1, "smtp_550")]
    assert len(await store.inbox(sent.resident)) == 1


async def test_smtp_down_is_retried_then_sent_once_when_it_is_up(
    store: NotificationStore,
    http_client: httpx.AsyncClient,
    print_queue: Path,
    tmp_path: Path,
    free_port: Callable[[], int],
) -> None:
    smtp_port, http_port = free_port(), free_port()  # nothing listens on either yet
    channels = wired(smtp_port, f"http://127.0.0.1:{http_port}/sms", http_client, print_queue)
    service = NotificationActivities(store, channels, max_attempts=MAX_ATTEMPTS)
    sent = benefits(channels=("email", "letter"))

    with pytest.raises(ApplicationError) as deferred:
        await service.send(sent)

    assert deferred.value.type == "DeliveryDeferred"
    assert deferred.value.message == "smtp_connect_failed"
    assert not deferred.value.non_retryable  # Temporal retries it, with its backoff
    assert statuses(await store.messages(sent.resident)) == [
        ("email", "queued", 1, "smtp_connect_failed")
    ]
    assert await store.letters() == []

    async with running(catcher_settings(tmp_path / "catcher", smtp_port, http_port)) as catcher:
        outcome = await service.send(sent)
        again = await service.send(sent)
        caught = await catcher.store.everything()

    assert outcome.code == "notified_by_email"
    assert outcome.references["status"] == "sent"
    assert again == outcome
    assert [(c.kind, c.to) for c in caught] == [("email", EMAIL)]
    assert statuses(await store.messages(sent.resident)) == [("email", "sent", 2, None)]
    assert len(await store.inbox(sent.resident)) == 1


async def test_after_its_tries_a_server_still_down_counts_as_failed(
    store: NotificationStore,
    catcher: Catcher,
    http_client: httpx.AsyncClient,
    print_queue: Path,
    free_port: Callable[[], int],
) -> None:
    # E-mail to a port nothing listens on; the SMS sink is up.
    channels = wired(free_port(), f"{catcher.url}/sms", http_client, print_queue)
    service = NotificationActivities(store, channels, max_attempts=2)
    sent = benefits(channels=("email", "sms"))

    with pytest.raises(ApplicationError):
        await service.send(sent)
    outcome = await service.send(sent)

    assert outcome.code == "notified_by_sms"
    assert statuses(await store.messages(sent.resident)) == [
        ("sms", "delivered", 1, None),
        ("email", "failed", 2, "smtp_connect_failed"),
    ]


async def test_a_retry_after_success_sends_nothing_again(
    service: NotificationActivities,
    store: NotificationStore,
    catcher: Catcher,
    print_queue: Path,
) -> None:
    for channels in (("email",), ("sms",), ("letter",)):
        sent = benefits(channels=channels)
        first = await service.send(sent)
        letter = print_queue / f"{first.references['notification']}.pdf"
        written = letter.stat().st_mtime_ns if letter.exists() else None

        assert await service.send(sent) == first
        assert await service.send(sent) == first

        assert (letter.stat().st_mtime_ns if letter.exists() else None) == written
        assert [(m.status, m.attempts) for m in await store.messages(sent.resident)] == [
            ("delivered" if channels == ("sms",) else "sent", 1)
        ]
    assert sorted(c.kind for c in await catcher.store.everything()) == ["email", "sms"]
    assert len(pdfs(print_queue)) == 1


async def test_a_message_queued_before_a_death_is_recorded_is_not_sent(
    store: NotificationStore,
    http_client: httpx.AsyncClient,
    print_queue: Path,
    tmp_path: Path,
    free_port: Callable[[], int],
) -> None:
    smtp_port, http_port = free_port(), free_port()
    channels = wired(smtp_port, f"http://127.0.0.1:{http_port}/sms", http_client, print_queue)
    service = NotificationActivities(store, channels)
    sent = benefits(channels=("email", "letter"))
    with pytest.raises(ApplicationError):
        await service.send(sent)  # queued: the mail server is down

    await service.record_death(death_record(sent.resident))
    async with running(catcher_settings(tmp_path / "catcher", smtp_port, http_port)) as catcher:
        outcome = await service.send(sent)
        caught = await catcher.store.everything()

    assert outcome == ActionOutcome(outcome="no_action", code="deceased")
    assert caught == []
    assert statuses(await store.messages(sent.resident)) == [
        ("email", "failed", 1, "resident_deceased")
    ]
    assert pdfs(print_queue) == []


async def test_messages_lists_a_residents_messages_newest_first(
    service: NotificationActivities, store: NotificationStore, catcher: Catcher
) -> None:
    resident = new_resident()
    before = datetime.now(UTC)
    first = await service.send(benefits(resident=resident, channels=("sms",)))
    second = await service.send(
        notification(resident=resident, channels=("email",), step="council-tax")
    )
    await service.send(benefits(channels=("email",)))  # someone else's

    found = await store.messages(resident)

    assert [(m.reference, m.channel, m.status, m.template) for m in found] == [
        (second.references["notification"], "email", "sent", "move.council-tax"),
        (first.references["notification"], "sms", "delivered", "move.benefits"),
    ]
    for message in found:
        assert (
            before
            <= message.created_at.replace(tzinfo=UTC)
            <= message.updated_at.replace(tzinfo=UTC)
        )


async def test_the_portal_address_fills_the_templates_that_ask_for_it(
    service: NotificationActivities, store: NotificationStore, catcher: Catcher
) -> None:
    asked = notification(
        template="waiting.question",
        references={"step": "school-admissions", "due": "2025-11-01", "path": "/answer/abc"},
        channels=("email",),
    )
    await service.send(asked)

    [message] = await store.inbox(asked.resident)
    assert f"Answer in your Life Events account: {PORTAL}/answer/abc" in message.body
    [mail] = await catcher.store.everything()
    assert f"Answer in your Life Events account: {PORTAL}/answer/abc" in mail.body


async def test_with_no_channel_wired_the_inbox_is_the_delivery(
    store: NotificationStore,
) -> None:
    sent = benefits()
    outcome = await NotificationActivities(store).send(sent)

    assert outcome.code == "notified_by_portal"
    assert await store.messages(sent.resident) == []
    assert len(await store.inbox(sent.resident)) == 1


async def test_through_temporal_a_mail_server_down_at_first_is_retried_and_sent_once(
    time_skipping_env: WorkflowEnvironment,
    tmp_path: Path,
    http_client: httpx.AsyncClient,
    print_queue: Path,
    free_port: Callable[[], int],
) -> None:
    smtp_port, http_port = free_port(), free_port()
    settings = catcher_settings(tmp_path / "catcher", smtp_port, http_port)
    attempts: list[int] = []
    async with sqlite_store(NotificationStore, tmp_path) as store:
        channels = wired(smtp_port, f"http://127.0.0.1:{http_port}/sms", http_client, print_queue)
        service = NotificationActivities(store, channels)
        caught: list[Any] = []

        @activity.defn(name=Activity.NOTIFICATIONS_SEND)
        async def send(argument: dict[str, Any]) -> ActionOutcome:
            attempts.append(activity.info().attempt)
            if activity.info().attempt == 1:
                return await service.send(Notification.model_validate(argument))
            # The mail server is up for the retry.
            async with running(settings) as catcher:
                outcome = await service.send(Notification.model_validate(argument))
                caught.extend(await catcher.store.everything())
                return outcome

        sent = benefits(channels=("email", "letter"), workflow_id=f"move-{uuid.uuid4().hex}")
        outcome = await through_temporal(
            time_skipping_env, [send], Activity.NOTIFICATIONS_SEND, sent
        )

        assert attempts == [1, 2]
        assert outcome.code == "notified_by_email"
        assert [(c.kind, c.to) for c in caught] == [("email", EMAIL)]
        assert statuses(await store.messages(sent.resident)) == [("email", "sent", 2, None)]


def test_the_email_is_multipart_with_a_plain_and_an_html_part() -> None:
    sender = SmtpSender(host="127.0.0.1", port=1, sender=f"{COUNCIL} <n@exampletown.example>")
    content = email_content(render("move.benefits", BENEFITS), "NTF-0000000001", Letterhead())
    message = sender.compose(EMAIL, content, "NTF-0000000001")
    parsed = BytesParser(policy=policy.default).parsebytes(bytes(message))

    assert parsed["Message-ID"] == "<NTF-0000000001@exampletown.example>"
    assert parsed["From"] == f"{COUNCIL} <n@exampletown.example>"
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]


class BrokenPrinter:
    """A print queue with a fault of our own in it (a stand-in: what matters is the error)."""

    async def print(
        self, reference: str, address: UkAddress, content: LetterContent, *, large_print: bool
    ) -> Accepted:
        raise RuntimeError("a letter that will not lay out")


async def test_a_fault_of_our_own_is_retried_then_the_next_channel_tried(
    store: NotificationStore, channels: Channels, catcher: Catcher
) -> None:
    broken = dataclasses.replace(channels, letters=BrokenPrinter())
    service = NotificationActivities(store, broken, max_attempts=2)
    sent = benefits(channels=("letter", "email"))

    with pytest.raises(ApplicationError) as deferred:
        await service.send(sent)
    assert (deferred.value.type, deferred.value.message) == (
        "DeliveryDeferred",
        "letter_RuntimeError",
    )
    assert "lay out" not in str(deferred.value)
    outcome = await service.send(sent)

    assert outcome.code == "notified_by_email"
    assert statuses(await store.messages(sent.resident)) == [
        ("email", "sent", 1, None),
        ("letter", "failed", 2, "letter_RuntimeError"),
    ]
