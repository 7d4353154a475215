"""`python -m services.notifications.catcher`: a local mail and SMS catcher, the embedded
default's stand-in for a mail relay and an SMS provider. A developer tool: it listens on
127.0.0.1 unless `LIFEEVENTS_MAIL_CATCHER_HOST` says otherwise, and delivers nothing on.

- SMTP (aiosmtpd) on `mail_catcher_smtp_port` (1025): takes every message and keeps it,
  except that it refuses, at RCPT time with `550`, any recipient at the domain
  `bounce.invalid` (`BOUNCE_DOMAIN`): an address there is how a test or a demo makes an
  e-mail bounce for good (`.invalid` is reserved: no real address is ever there).
- HTTP (FastAPI under uvicorn) on `mail_catcher_http_port` (8025):
  - `POST /sms` `{to, body, reference}`: the SMS provider API of the local sink. It keeps
    the text and answers `201 {id, status: "delivered"}`; a `to` that is not a phone number
    (7 to 15 digits, a leading `+` allowed, spaces ignored) is refused:
    `400 {"error": "invalid_number"}`.
  - `GET /messages`: every e-mail and text caught, newest first, as JSON (`kind`, `to`,
    `subject`, `body`, `html`, `reference`, `received_at`).
  - `GET /`: the same as a plain page, mailbox and texts side by side, for a developer.

What it caught is kept in SQLite (`mail_catcher_database_url`, by default
<var_dir>/mail-catcher/mail-catcher.db), so it survives a restart. It logs counts and ports,
never an address or a message (aiosmtpd's own log, which names senders and recipients, is
kept to errors).
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, Literal

import jinja2
import structlog
import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, insert, select

from services.common.database import Store
from services.common.http import Server
from services.common.lifecycle import run_service, wait_for_shutdown_signal
from services.common.logging import configure_logging
from services.notifications.settings import MailCatcherSettings
from services.notifications.sms import SmsAnswer, SmsRequest

__all__ = ["BOUNCE_DOMAIN", "CatcherStore", "Caught", "create_app", "main", "running"]

log = structlog.get_logger(__name__)

BOUNCE_DOMAIN = "bounce.invalid"

_PHONE = re.compile(r"^\+?[0-9]{7,15}$")

metadata = MetaData()

caught = Table(
    "caught",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),  # email | sms
    Column("recipient", Text, nullable=False),
    Column("subject", Text, nullable=True),
    Column("body", Text, nullable=False),
    Column("html", Text, nullable=True),
    Column("reference", String(255), nullable=True),  # the Message-ID, the SMS reference
    Column("received_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Caught:
    id: int
    kind: Literal["email", "sms"]
    to: str
    subject: str | None
    body: str
    html: str | None
    reference: str | None
    received_at: datetime


class CatcherStore(Store):
    metadata = metadata

    async def keep(
        self,
        kind: Literal["email", "sms"],
        to: str,
        body: str,
        *,
        subject: str | None = None,
        html: str | None = None,
        reference: str | None = None,
    ) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                insert(caught).values(
                    kind=kind,
                    recipient=to,
                    subject=subject,
                    body=body,
                    html=html,
                    reference=reference,
                    received_at=datetime.now(UTC),
                )
            )
            made = result.inserted_primary_key
            assert made is not None
            return int(made[0])

    async def everything(self) -> list[Caught]:
        """Every e-mail and text, newest first."""
        c = caught.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(caught).order_by(c.id.desc()))
            return [
                Caught(
                    id=row.id,
                    kind=row.kind,
                    to=row.recipient,
                    subject=row.subject,
                    body=row.body,
                    html=row.html,
                    reference=row.reference,
                    received_at=_aware(row.received_at),
                )
                for row in rows
            ]


def _aware(moment: datetime) -> datetime:
    # SQLite gives an aware datetime back naive.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- SMTP ------------------------------------------------------------------------------------


class Mailbox:
    """The aiosmtpd handler (its hooks are named `handle_<COMMAND>`): refuses the bounce
    domain at RCPT, keeps the rest at DATA."""

    def __init__(self, store: CatcherStore) -> None:
        self.store = store

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.rpartition("@")[2].lower() == BOUNCE_DOMAIN:
            return f"550 5.1.1 Mailbox unavailable: {BOUNCE_DOMAIN} always bounces"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        message = BytesParser(policy=policy.default).parsebytes(data)
        assert isinstance(message, EmailMessage)
        await self.store.keep(
            "email",
            ", ".join(envelope.rcpt_tos),
            _part(message, "plain") or "",
            subject=message["Subject"],
            html=_part(message, "html"),
            reference=message["Message-ID"],
        )
        log.info("mail-catcher.caught", kind="email")
        return "250 2.0.0 Message accepted"


def _part(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    content: Any = part.get_content()
    return content.replace("\r\n", "\n") if isinstance(content, str) else None


# --- HTTP ------------------------------------------------------------------------------------

_PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>Mail catcher</title>
<style>
body { font-family: Arial, sans-serif; margin: 1.5em; color: #0b0c0c; }
main { display: flex; gap: 2em; align-items: flex-start; }
section { flex: 1; }
article { border-top: 1px solid #b1b4b6; padding: 0.5em 0; }
pre { white-space: pre-wrap; font-family: inherit; margin: 0.5em 0 0; }
.meta { color: #505a5f; font-size: 0.9em; }
</style>
</head>
<body>
<h1>Mail catcher</h1>
<p class="meta">What the local SMTP server and SMS sink received, newest first. Mail to
any address at {{ bounce }} is refused (550). JSON: <a href="/messages">/messages</a>.</p>
<main>
<section>
<h2>Mailbox ({{ emails | length }})</h2>
{% for m in emails %}
<article>
<h3>{{ m.subject or "(no subject)" }}</h3>
<div class="meta">To {{ m.to }} at {{ m.received_at.isoformat(timespec="seconds") }}
{%- if m.reference %}, {{ m.reference }}{% endif %}</div>
<pre>{{ m.body }}</pre>
</article>
{% else %}<p>No e-mail yet.</p>{% endfor %}
</section>
<section>
<h2>Text messages ({{ texts | length }})</h2>
{% for m in texts %}
<article>
<div class="meta">To {{ m.to }} at {{ m.received_at.isoformat(timespec="seconds") }}
{%- if m.reference %}, {{ m.reference }}{% endif %}</div>
<pre>{{ m.body }}</pre>
</article>
{% else %}<p>No text message yet.</p>{% endfor %}
</section>
</main>
</body>
</html>
"""
)


def create_app(store: CatcherStore) -> FastAPI:
    app = FastAPI(title="Life Events mail catcher", docs_url=None, redoc_url=None)

    @app.post("/sms", status_code=201, response_model=SmsAnswer)
    async def send_sms(request: SmsRequest) -> Any:
        number = request.to.replace(" ", "")
        if not _PHONE.match(number):
            return JSONResponse({"error": "invalid_number"}, status_code=400)
        made = await store.keep("sms", request.to, request.body, reference=request.reference)
        log.info("mail-catcher.caught", kind="sms")
        return SmsAnswer(id=f"sms-{made}", status="delivered")

    @app.get("/messages")
    async def messages() -> list[dict[str, Any]]:
        return [
            {**asdict(m), "received_at": m.received_at.isoformat()}
            for m in await store.everything()
        ]

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        everything = await store.everything()
        return _PAGE.render(
            bounce=BOUNCE_DOMAIN,
            emails=[m for m in everything if m.kind == "email"],
            texts=[m for m in everything if m.kind == "sms"],
        )

    return app


# --- the process -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Catcher:
    store: CatcherStore
    host: str
    smtp_port: int
    http_port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http_port}"


@asynccontextmanager
async def running(settings: MailCatcherSettings) -> AsyncIterator[Catcher]:
    """The catcher's SMTP and HTTP servers, serving while the block runs. Both ports are
    bound before either serves: a port in use fails here, as an `OSError`."""
    # aiosmtpd logs every sender and recipient at INFO.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    host = settings.mail_catcher_host
    http_socket = socket.create_server((host, settings.mail_catcher_http_port))
    try:
        async with await CatcherStore.open(settings.mail_catcher_url) as store:
            mailbox = Mailbox(store)
            smtp = await asyncio.get_running_loop().create_server(
                lambda: SMTP(mailbox, hostname="mail-catcher.localhost", ident="Mail catcher"),
                host=host,
                port=settings.mail_catcher_smtp_port,
            )
            http = Server(
                uvicorn.Config(
                    create_app(store),
                    log_config=None,  # the root logger is configured (and redacted) already
                    access_log=False,
                    lifespan="off",
                )
            )
            # The socket listens already: a request made before uvicorn accepts it waits.
            serving = asyncio.create_task(http.serve(sockets=[http_socket]))
            try:
                yield Catcher(
                    store, host, settings.mail_catcher_smtp_port, settings.mail_catcher_http_port
                )
            finally:
                http.should_exit = True
                await serving
                smtp.close()
                await smtp.wait_closed()
    finally:
        http_socket.close()


async def _serve(settings: MailCatcherSettings) -> None:
    async with running(settings) as catcher:
        log.info(
            "mail-catcher.started",
            host=catcher.host,
            smtp_port=catcher.smtp_port,
            http_port=catcher.http_port,
            bounce_domain=BOUNCE_DOMAIN,
        )
        received = await wait_for_shutdown_signal()
        log.info("mail-catcher.stopping", signal=received.name)
    log.info("mail-catcher.stopped")


def main() -> None:
    settings = MailCatcherSettings()
    configure_logging(settings.log_level, settings.log_format)
    run_service("mail-catcher", _serve(settings))


if __name__ == "__main__":
    main()
