"""The notification service's settings and the local mail catcher's, on top of the shared ones
(same `LIFEEVENTS_` prefix).

Out of the box the service delivers to the local catcher (`python -m
services.notifications.catcher`, started by `lifeevents run`): SMTP on
`mail_catcher_smtp_port`, SMS through its `POST /sms` on `mail_catcher_http_port`. Set
`LIFEEVENTS_SMTP_HOST` / `LIFEEVENTS_SMTP_PORT` (and STARTTLS, credentials) and
`LIFEEVENTS_SMS_API_URL` to deliver through real ones instead; moving a catcher port moves
the service's default with it, so one variable per port is enough for a test or a second
local stack.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from services.common.council import CouncilSettings
from services.common.settings import Settings

__all__ = ["MailCatcherSettings", "NotificationSettings"]


class MailCatcherSettings(Settings):
    """The local mail and SMS catcher, a developer tool: it listens on this machine only
    unless told otherwise."""

    mail_catcher_host: str = Field(
        default="127.0.0.1",
        description="Interface the catcher listens on. A developer tool: keep it local.",
    )
    mail_catcher_smtp_port: int = Field(default=1025, ge=1, le=65535)
    mail_catcher_http_port: int = Field(
        default=8025, ge=1, le=65535, description="Its SMS API (POST /sms) and web view."
    )
    mail_catcher_database_url: str | None = Field(
        default=None,
        description="Where the catcher keeps what it caught; unset, SQLite at "
        "<var_dir>/mail-catcher/mail-catcher.db.",
    )

    @property
    def mail_catcher_url(self) -> str:
        return self.mail_catcher_database_url or (
            f"sqlite+aiosqlite:///{self.var_dir / 'mail-catcher' / 'mail-catcher.db'}"
        )


class NotificationSettings(CouncilSettings, MailCatcherSettings):
    # The portal's own variables (services/portal/settings.py), read here too, so that one
    # setting names the council and the portal's address everywhere.
    portal_council_name: str = Field(
        default="Exampleshire Council",
        min_length=1,
        max_length=100,
        description="The council's name, as letters, e-mails and texts are signed.",
    )
    portal_public_url: str = Field(
        default="http://localhost:8030",
        description="The base URL residents reach the portal at, named in every message.",
    )

    # E-mail
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server (relay) to send by.")
    smtp_port: int | None = Field(
        default=None, ge=1, le=65535, description="Unset: the local catcher's SMTP port."
    )
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the connection with STARTTLS (port 587)."
    )
    smtp_implicit_tls: bool = Field(
        default=False, description="Connect with TLS from the start (port 465)."
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = Field(
        default="Exampleshire Council <notifications@exampleshire.example>",
        description="The From address of every e-mail; its domain names the Message-IDs.",
    )
    smtp_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Longest a whole SMTP exchange may take (well inside the activity's "
        "30 s start-to-close timeout).",
    )

    # SMS
    sms_api_url: str | None = Field(
        default=None,
        description="The SMS provider's send endpoint (POST {to, body, reference}); unset: "
        "the local catcher's /sms.",
    )
    sms_api_key: SecretStr | None = Field(
        default=None, description="Sent as a bearer token to the SMS provider, when set."
    )
    sms_timeout_seconds: float = Field(default=10.0, gt=0)

    # Letters
    print_queue_dir: Path | None = Field(
        default=None,
        description="Folder the letters are written to, as <reference>.pdf, for the print "
        "room; unset: <var_dir>/print-queue.",
    )

    notifications_max_attempts: int = Field(
        default=8,
        ge=1,
        description="Tries of one channel that failed for a while (server down, 4xx) before "
        "it counts as failed and the next channel is tried. With the workflows' retry "
        "policy (1 s doubling, at most 1 min apart) 8 tries take about two minutes.",
    )

    @property
    def smtp_port_or_catcher(self) -> int:
        return self.smtp_port or self.mail_catcher_smtp_port

    @property
    def sms_url(self) -> str:
        return self.sms_api_url or f"http://127.0.0.1:{self.mail_catcher_http_port}/sms"

    @property
    def print_queue(self) -> Path:
        return self.print_queue_dir or self.var_dir / "print-queue"
