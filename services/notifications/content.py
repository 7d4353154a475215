"""One rendered template (`templates.render`: a template code and the step's references, as
GOV.UK Notify takes a template id and personalisation) laid out for each channel.

- e-mail: the subject, a plain-text body and a simple HTML alternative, both signed with the
  council's name and the message reference, with the portal's address;
- SMS: no subject, the council's name first, the lines run together and cut at a word to
  fit `SMS_MAX_CHARACTERS` (two concatenated texts), then the portal's address;
- letter: what `letters.PrintQueue` lays out on A4 (`LetterContent`).

Nothing here knows who the message is for: the channel adds the address.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from services.notifications.templates import FOOTER, Message

__all__ = [
    "SMS_MAX_CHARACTERS",
    "EmailContent",
    "LetterContent",
    "Letterhead",
    "email_content",
    "letter_content",
    "sms_text",
]

# Two concatenated GSM-7 texts are 2 x 153 characters: long enough for a notice, short
# enough to read on a phone; the whole message is in the inbox the text points to.
SMS_MAX_CHARACTERS = 306


@dataclass(frozen=True)
class Letterhead:
    """Who the messages are from and where residents read them online."""

    council_name: str = "Exampleshire Council"
    portal_url: str | None = None

    @property
    def online(self) -> str:
        """The footer, with the portal's address when there is one."""
        if self.portal_url is None:
            return FOOTER
        return f"{FOOTER} Sign in at {self.portal_url}"


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class LetterContent:
    council_name: str
    reference: str
    subject: str
    paragraphs: tuple[str, ...]
    online: str  # where to read it, and everything else the council did, online


def _paragraphs(message: Message) -> tuple[str, ...]:
    # A message rendered before `lines` existed has only its body: its lines are the
    # body's, up to the footer.
    if message.lines:
        return message.lines
    return tuple(line for line in message.body.removesuffix(FOOTER).splitlines() if line)


def email_content(message: Message, reference: str, letterhead: Letterhead) -> EmailContent:
    paragraphs = _paragraphs(message)
    signature = f"{letterhead.council_name}\nReference: {reference}"
    text = "\n\n".join((*paragraphs, letterhead.online, signature)) + "\n"
    return EmailContent(
        message.subject, text, _html(message.subject, paragraphs, letterhead, reference)
    )


def _html(subject: str, paragraphs: tuple[str, ...], letterhead: Letterhead, reference: str) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(subject)}</title></head>",
        '<body style="font-family: Arial, sans-serif; font-size: 19px; line-height: 1.4; '
        'color: #0b0c0c; max-width: 640px;">',
        f'<h1 style="font-size: 27px;">{e(subject)}</h1>',
    ]
    items: list[str] = []
    for paragraph in (*paragraphs, None):
        if paragraph is not None and paragraph.startswith("- "):
            items.append(f"<li>{e(paragraph[2:])}</li>")
            continue
        if items:  # a run of "- " lines is a list
            parts.append(f"<ul>{''.join(items)}</ul>")
            items = []
        if paragraph is not None:
            parts.append(f"<p>{e(paragraph)}</p>")
    if letterhead.portal_url is None:
        parts.append(f"<p>{e(FOOTER)}</p>")
    else:
        url = e(letterhead.portal_url)
        parts.append(f'<p>{e(FOOTER)} <a href="{url}">Sign in at {url}</a></p>')
    parts.append(f"<p>{e(letterhead.council_name)}<br>Reference: {e(reference)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def sms_text(message: Message, letterhead: Letterhead) -> str:
    prefix = f"{letterhead.council_name}: "
    suffix = "" if letterhead.portal_url is None else f" More: {letterhead.portal_url}"
    text = " ".join(_paragraphs(message))
    room = SMS_MAX_CHARACTERS - len(prefix) - len(suffix)
    if len(text) > room:
        cut = text[: room - 3]
        # At a word, unless that would leave almost nothing.
        if " " in cut[room // 2 :]:
            cut = cut[: cut.rindex(" ")]
        text = cut.rstrip(" ,;:") + "..."
    return f"{prefix}{text}{suffix}"


def letter_content(message: Message, reference: str, letterhead: Letterhead) -> LetterContent:
    return LetterContent(
        council_name=letterhead.council_name,
        reference=reference,
        subject=message.subject,
        paragraphs=_paragraphs(message),
        online=letterhead.online,
    )
