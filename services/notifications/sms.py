"""Texts through an SMS provider's HTTP API (`channels.SmsProvider`).

`HttpSmsProvider` posts `{to, body, reference}` as JSON to one URL, with a bearer token when
one is set, and reads back `{id, status}`. That is the API of the local sink (`POST /sms` on
the mail catcher, which answers `delivered`); a provider with another API gets its own
class beside this one.

- 2xx: the provider took it: `delivered` if it says so, else `sent`;
- 400 or 422: the provider refuses this number or text: `Refused` (`sms_400`, with the
  provider's error code when it gives a short one: `sms_400_invalid_number`);
- anything else (401/403 our key, 429, 5xx), no connection, a timeout: `Unavailable`.

Nothing here logs; httpx logs the URL and status of each request, which name nobody.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from pydantic import BaseModel, Field, ValidationError

from services.notifications.channels import Refused, SmsReceipt, Unavailable
from services.notifications.settings import NotificationSettings

__all__ = ["HttpSmsProvider", "SmsAnswer", "SmsRequest"]

_ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class SmsRequest(BaseModel):
    """What the provider is sent (the local sink takes the same)."""

    to: str = Field(min_length=1, max_length=32)
    body: str = Field(min_length=1, max_length=918)
    reference: str = Field(min_length=1, max_length=64)


class SmsAnswer(BaseModel):
    """What the provider answers when it takes a text."""

    id: str = Field(min_length=1, max_length=128)
    status: str = Field(min_length=1, max_length=32)


class HttpSmsProvider:
    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.client = client
        self.url = url
        self.api_key = api_key
        self.timeout = timeout

    @classmethod
    def from_settings(
        cls, settings: NotificationSettings, client: httpx.AsyncClient
    ) -> HttpSmsProvider:
        key = settings.sms_api_key
        return cls(
            client,
            settings.sms_url,
            api_key=None if key is None else key.get_secret_value(),
            timeout=settings.sms_timeout_seconds,
        )

    async def send(self, to: str, body: str, reference: str) -> SmsReceipt:
        request = SmsRequest(to=to, body=body, reference=reference)
        headers = {} if self.api_key is None else {"Authorization": f"Bearer {self.api_key}"}
        try:
            response = await self.client.post(
                self.url, json=request.model_dump(), headers=headers, timeout=self.timeout
            )
        except httpx.TimeoutException:
            raise Unavailable("sms_timeout") from None
        except httpx.HTTPError:
            raise Unavailable("sms_connect_failed") from None
        status = response.status_code
        if status in (400, 422):
            raise Refused(_refusal(status, response))
        if not 200 <= status < 300:
            raise Unavailable(f"sms_{status}")
        try:
            answer = SmsAnswer.model_validate_json(response.content)
        except ValidationError:
            # It took the text but said something we cannot read: do not send it again.
            return SmsReceipt(id="unknown", status="sent")
        return SmsReceipt(
            id=answer.id, status="delivered" if answer.status == "delivered" else "sent"
        )


def _refusal(status: int, response: httpx.Response) -> str:
    """`sms_<status>`, and the provider's own error code when it is a short code (never
    its message, which may quote the number)."""
    try:
        body: Any = response.json()
    except ValueError:
        return f"sms_{status}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str) and _ERROR_CODE.match(error):
        return f"sms_{status}_{error}"
    return f"sms_{status}"
