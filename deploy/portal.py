"""The portal process: `python -m deploy.portal`, which `lifeevents run` starts.

The resident portal and the caseworker console are one web app (`services.portal`), which
imports no other service: it takes ports. This is where they are given their adapters —
the resident index and the inbox over those services' stores, life events and the
caseworker queue over Temporal, consents and the ledger over the consent API, sign-in codes
over the notification service's own SMTP and SMS channels, and a request for a call as a
`CallbackWorkflow` — so it lives in the composition root rather than in the service.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import httpx
import structlog
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

from contracts.residents import ContactPlan
from contracts.temporal import CALLBACK_WORKFLOW, callback_id
from contracts.timeline import CallbackRequest
from deploy.caseworker_adapters import caseworker_console
from deploy.portal_adapters import portal_stores
from services.common.http import serve_until_signalled
from services.common.lifecycle import run_service
from services.common.logging import configure_logging
from services.common.temporal import connect
from services.consent.keys import api_auth_key
from services.consent.settings import ConsentSettings
from services.notifications.channels import ChannelFailure
from services.notifications.content import EmailContent
from services.notifications.mail import SmtpSender
from services.notifications.settings import NotificationSettings
from services.notifications.sms import HttpSmsProvider
from services.portal.app import create_app
from services.portal.consents import ConsentApi, ConsentApiError
from services.portal.lifeevents import LifeEventUnavailable, TemporalLifeEvents
from services.portal.settings import PortalSettings
from services.portal.store import PortalStore

__all__ = ["CodeNotSent", "MessagedCodes", "WorkflowCallRequests", "main", "portal_app"]

log = structlog.get_logger(__name__)


class CodeNotSent(Exception):
    """The channel did not take the code; the message is a code, never a value."""


class MessagedCodes:
    """Sign-in codes by e-mail or text message, through the same channels as every other
    message the council sends (no inbox copy: a code is for the moment, not the record)."""

    def __init__(self, mail: SmtpSender, sms: HttpSmsProvider, settings: PortalSettings) -> None:
        self._mail = mail
        self._sms = sms
        self._settings = settings

    async def send_code(
        self, plan: ContactPlan, channel: Literal["email", "sms"], code: str
    ) -> None:
        minutes = self._settings.portal_code_minutes
        service = f"{self._settings.portal_council_name} {self._settings.portal_service_name}"
        text = (
            f"Your code to sign in to {service} is {code}. It works once, for {minutes} "
            "minutes. If you did not ask for it, you can ignore this message."
        )
        reference = f"SIGNIN-{code_reference()}"
        try:
            if channel == "email" and plan.email is not None:
                content = EmailContent(
                    subject=f"Your sign-in code for {service}", text=text, html=f"<p>{text}</p>"
                )
                await self._mail.send(plan.email, content, reference)
            elif channel == "sms" and plan.phone is not None:
                await self._sms.send(plan.phone, text, reference)
            else:
                raise CodeNotSent("no_contact_for_channel")
        except ChannelFailure as failure:
            raise CodeNotSent(failure.code) from None


def code_reference() -> str:
    # The message's reference (its Message-ID): random, so it says nothing of the code.
    return secrets.token_hex(8)


class WorkflowCallRequests:
    """ "I would like a person to call me": a `CallbackWorkflow`, which the caseworker queue
    shows like any task automation hands to a person."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue  # the workflow worker's, as the orchestrator starts on

    async def request_call(self, resident: str) -> str:
        handle = await self._client.start_workflow(
            CALLBACK_WORKFLOW,
            CallbackRequest(resident=resident),
            id=callback_id(),
            task_queue=self._task_queue,
        )
        return handle.id


@asynccontextmanager
async def portal_app(settings: PortalSettings) -> AsyncIterator[FastAPI]:
    """The whole app with its adapters, open while the block runs."""
    consent = ConsentSettings()
    consent_url = f"http://{consent.consent_http_host}:{consent.consent_http_port}"
    consent_key = api_auth_key(consent)
    notifications = NotificationSettings()
    client = await connect(settings, lazy=True)
    store = await PortalStore.open(settings.database_url("portal"))
    try:
        async with (
            portal_stores(settings) as stores,
            httpx.AsyncClient(timeout=10.0) as http,
            caseworker_console(
                settings, store.engine, consent_api_url=consent_url, consent_api_key=consent_key
            ) as console,
        ):
            yield create_app(
                settings,
                directory=stores.directory,
                inbox=stores.inbox,
                code_sender=MessagedCodes(
                    SmtpSender.from_settings(notifications),
                    HttpSmsProvider.from_settings(notifications, http),
                    settings,
                ),
                call_requests=WorkflowCallRequests(client, settings.temporal_task_queue),
                life_events=TemporalLifeEvents(client),
                consents=ConsentApi(consent_url, consent_key, http),
                letter_preferences=stores.letter_preferences,
                store=store,
                routers=[console.router],
                unavailable=(LifeEventUnavailable, ConsentApiError, *console.unavailable),
            )

    finally:
        await store.close()


async def _serve(settings: PortalSettings) -> None:
    async with portal_app(settings) as app:
        config = uvicorn.Config(
            app,
            host=settings.portal_host,
            port=settings.portal_port,
            log_config=None,
            access_log=False,  # an access log would write the paths residents open
        )
        await serve_until_signalled(config, "portal")


def main() -> None:
    settings = PortalSettings()
    configure_logging(settings.log_level, settings.log_format)
    log.info("portal.starting", host=settings.portal_host, port=settings.portal_port)
    run_service("portal", _serve(settings))


if __name__ == "__main__":
    main()
