"""E-mail over SMTP (aiosmtplib): one connection per message, plain text with an HTML
alternative.

The Message-ID is the message reference at the sender's domain (`<NTF-…@domain>`), so a
message sent again after a crash between the server's 250 and our record of it is
recognisably the same message.

What the server's answers mean (see `channels`):

- 250 to DATA: `sent`;
- 5xx to RCPT or DATA: `Refused` (`smtp_<code>`): this address or this message will not be
  taken, so the next channel is tried;
- 4xx to anything, no connection, a timeout, a dropped connection: `Unavailable`;
- 5xx to the greeting, EHLO, AUTH or MAIL FROM: `Unavailable` too. Those are about our own
  setup (credentials, sender), not the resident's address: retried, and reported in the
  logs by code, rather than sending every resident a letter instead.

Nothing here logs: the activities log the codes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import aiosmtplib

from services.notifications.channels import Accepted, Refused, Unavailable
from services.notifications.content import EmailContent
from services.notifications.settings import NotificationSettings

__all__ = ["SmtpSender"]


class SmtpSender:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        starttls: bool = False,
        implicit_tls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.username = username
        self.password = password
        self.timeout = timeout
        self.domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"

    @classmethod
    def from_settings(cls, settings: NotificationSettings) -> SmtpSender:
        password = settings.smtp_password
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port_or_catcher,
            sender=settings.smtp_sender,
            starttls=settings.smtp_starttls,
            implicit_tls=settings.smtp_implicit_tls,
            username=settings.smtp_username,
            password=None if password is None else password.get_secret_value(),
            timeout=settings.smtp_timeout_seconds,
        )

    def message_id(self, reference: str) -> str:
        return f"<{reference}@{self.domain}>"

    def compose(self, to: str, content: EmailContent, reference: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = content.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = self.message_id(reference)
        message.set_content(content.text)
        message.add_alternative(content.html, subtype="html")
        return message

    async def send(self, to: str, content: EmailContent, reference: str) -> Accepted:
        message = self.compose(to, content, reference)
        try:
            # The whole exchange within the timeout, not each command: the activity's own
            # start-to-close timeout must not run out while a slow server talks.
            async with asyncio.timeout(self.timeout):
                await aiosmtplib.send(
                    message,
                    hostname=self.host,
                    port=self.port,
                    username=self.username,
                    password=self.password,
                    use_tls=self.implicit_tls,
                    # False, not None: no STARTTLS unless asked (None would try it whenever
                    # the server offers it, and fail on a server with a bad certificate).
                    start_tls=self.starttls,
                    timeout=self.timeout,
                )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            codes = [r.code for r in refused.recipients]
            raise _answer(codes[0] if codes else 550, permanent_5xx=True) from None
        except aiosmtplib.SMTPDataError as error:
            raise _answer(error.code, permanent_5xx=True) from None
        except aiosmtplib.SMTPResponseException as error:
            # Greeting, EHLO, AUTH, MAIL FROM: our setup, not the resident's address.
            raise _answer(error.code, permanent_5xx=False) from None
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):
            raise Unavailable("smtp_timeout") from None
        except aiosmtplib.SMTPServerDisconnected:
            raise Unavailable("smtp_disconnected") from None
        except (aiosmtplib.SMTPException, OSError):
            raise Unavailable("smtp_connect_failed") from None
        return Accepted("sent", self.message_id(reference))


def _answer(code: int, *, permanent_5xx: bool) -> Refused | Unavailable:
    if permanent_5xx and 500 <= code < 600:
        return Refused(f"smtp_{code}")
    return Unavailable(f"smtp_{code}")
