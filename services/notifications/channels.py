"""The channels a message leaves by, as the activities see them: what each takes, and the
three answers a channel gives.

- `Accepted`: the channel took the message (`sent`: an SMTP server answered 250 to DATA,
  the print queue holds the PDF, an SMS provider queued it) or says it reached the resident
  (`delivered`: an SMS provider's delivery report). `receipt` is the channel's own name for
  it (a Message-ID, the provider's id, a file name).
- `Refused`: a permanent answer about this message (SMTP 5xx to RCPT or DATA, the SMS
  provider refusing the number): the next channel is tried.
- `Unavailable`: the channel could not answer now (connection refused, a timeout, SMTP
  4xx, an SMS provider's 5xx or 429): the activity is retried later, and after a bounded
  number of tries it counts as refused.

`code` is the channel's answer as a code (`smtp_550`, `sms_400`, `smtp_connect_failed`),
never its text: an SMTP reply may quote the address it refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from contracts.addresses import UkAddress
from services.notifications.content import EmailContent, LetterContent, Letterhead

__all__ = [
    "Accepted",
    "ChannelFailure",
    "ChannelName",
    "Channels",
    "EmailSender",
    "LetterPrinter",
    "Refused",
    "SmsProvider",
    "SmsReceipt",
    "Unavailable",
]

ChannelName = Literal["email", "sms", "letter"]


@dataclass(frozen=True)
class Accepted:
    status: Literal["sent", "delivered"]
    receipt: str


class ChannelFailure(Exception):
    """A channel did not take the message. The message is the code: never a value."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Refused(ChannelFailure):
    """Permanent: this message will not go this way."""


class Unavailable(ChannelFailure):
    """Transient: it may go this way later."""


@dataclass(frozen=True)
class SmsReceipt:
    """An SMS provider's answer: its id for the message, and its status."""

    id: str
    status: Literal["sent", "delivered"]


class EmailSender(Protocol):
    async def send(self, to: str, content: EmailContent, reference: str) -> Accepted: ...


class SmsProvider(Protocol):
    """An SMS provider (GOV.UK Notify, a gateway, the local sink): raises `Refused` or
    `Unavailable` when it does not take the message."""

    async def send(self, to: str, body: str, reference: str) -> SmsReceipt: ...


class LetterPrinter(Protocol):
    async def print(
        self, reference: str, address: UkAddress, content: LetterContent, *, large_print: bool
    ) -> Accepted: ...


@dataclass(frozen=True)
class Channels:
    """The channels wired in. One left out is never deliverable: a resident who prefers it is
    reached on their next channel (with none at all, the portal inbox only: what a test of
    another service, or a tool that must send nothing, uses)."""

    email: EmailSender | None = None
    sms: SmsProvider | None = None
    letters: LetterPrinter | None = None
    letterhead: Letterhead = field(default_factory=Letterhead)
