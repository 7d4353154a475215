"""The portal's sign-in codes (deploy/portal.py `MessagedCodes`) through the notification
service's real channels to the real local catcher: by e-mail, by text message, and refused
when the resident has no such contact or the channel refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from contracts.residents import ContactPlan
from deploy.portal import CodeNotSent, MessagedCodes
from services.notifications.catcher import Catcher, running
from services.notifications.mail import SmtpSender
from services.notifications.settings import MailCatcherSettings
from services.notifications.sms import HttpSmsProvider
from services.portal.settings import PortalSettings

RESIDENT = "res_person000000000001"
EMAIL, PHONE = "rowan.testworth@example.org", "+447700900982"
EXPECTED = (
    "Your code to sign in to Exampleshire Council Life events is 123456. It works once, for "
    "10 minutes. If you did not ask for it, you can ignore this message."
)


@pytest.fixture
async def catcher(tmp_path: Path, free_port: Callable[[], int]) -> AsyncIterator[Catcher]:
    settings = MailCatcherSettings(
        var_dir=tmp_path, mail_catcher_smtp_port=free_port(), mail_catcher_http_port=free_port()
    )
    async with running(settings) as serving:
        yield serving


@pytest.fixture
async def codes(catcher: Catcher, tmp_path: Path) -> AsyncIterator[MessagedCodes]:
    async with httpx.AsyncClient() as http:
        yield MessagedCodes(
            SmtpSender(host="127.0.0.1", port=catcher.smtp_port, sender="council@example.org"),
            HttpSmsProvider(http, f"{catcher.url}/sms"),
            PortalSettings(var_dir=tmp_path, portal_council_name="Exampleshire Council"),
        )


def plan(**contact: str) -> ContactPlan:
    return ContactPlan(resident=RESIDENT, deceased=False, channels=("portal",), **contact)


async def test_a_code_by_email_arrives_with_the_code_and_nothing_else(
    codes: MessagedCodes, catcher: Catcher
) -> None:
    await codes.send_code(plan(email=EMAIL, phone=PHONE), "email", "123456")

    [mail] = await catcher.store.everything()
    assert (mail.kind, mail.to) == ("email", EMAIL)
    assert mail.subject == "Your sign-in code for Exampleshire Council Life events"
    assert mail.body.strip() == EXPECTED


async def test_a_code_by_text_message_reaches_the_sink(
    codes: MessagedCodes, catcher: Catcher
) -> None:
    await codes.send_code(plan(email=EMAIL, phone=PHONE), "sms", "123456")

    [text] = await catcher.store.everything()
    assert (text.kind, text.to, text.body) == ("sms", PHONE, EXPECTED)


async def test_no_such_contact_or_a_refusal_is_code_not_sent(
    codes: MessagedCodes, catcher: Catcher
) -> None:
    with pytest.raises(CodeNotSent, match="no_contact_for_channel"):
        await codes.send_code(plan(email=EMAIL), "sms", "123456")
    with pytest.raises(CodeNotSent):
        await codes.send_code(plan(email="someone@bounce.invalid"), "email", "123456")
    assert await catcher.store.everything() == []
