"""Plain-text messages from a template code and a step's references.

A template is a subject and lines. A line is kept only when every reference it names is
given, so one template covers every outcome of its step; a line naming `{…_N}` is repeated
for N = 1, 2, … while the numbered references are there. Values that are codes are put into
words (`PHRASES`). Messages name no person: the channel that carries them (inbox, e-mail,
SMS, letter) already knows who they are for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PHRASES", "TEMPLATES", "Message", "UnknownTemplate", "render"]

PHRASES: dict[str, str] = {
    "unknown": "the council for your new address",
    "award_reassessed": "We will reassess your award from that date.",
    "award_ends": "Your award ends on that date: please claim from the council for your new "
    "address.",
    "none": "none",
}

_FOOTER = "You can see what we did, and why, in your Life Events inbox."


@dataclass(frozen=True)
class Template:
    subject: str
    lines: tuple[str, ...]


TEMPLATES: dict[str, Template] = {
    "move.council-tax": Template(
        "Your council tax after your move",
        (
            "We have updated your council tax for your move.",
            "Your account {closed_account} at your old address is closed; your final bill "
            "runs to {final_bill_date}.",
            "Your new account is {account}, from {liability_start}.",
            "Single person discount: {single_person_discount}.",
            "Council tax at your new address is a matter for {contact_council}: please "
            "contact them.",
        ),
    ),
    "move.electoral-register": Template(
        "The electoral register after your move",
        (
            "We have updated the electoral register for your move, from {effective_date}.",
            "Entries removed at your old address: {removals}.",
            "Invitations to register at your new address: {invitations}. Please register "
            "to vote with the form we send, or online.",
        ),
    ),
    "move.school-admissions": Template(
        "In-year school admission",
        (
            "We have made an in-year school admission application ({applications}) for your move:",
            "- {year_group_N} at {school_N}, application {application_N}",
            "The admissions team will write to you about a start date.",
        ),
    ),
    "move.benefits": Template(
        "Your housing benefit or council tax reduction after your move",
        (
            "We have recorded your change of address on claim {claims} from {effective_from}.",
            "{reassessment}",
        ),
    ),
}

_FIELD = re.compile(r"\{([a-z0-9_]+)\}")


class UnknownTemplate(LookupError):
    pass


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def _fill(line: str, references: dict[str, str]) -> str | None:
    names = _FIELD.findall(line)
    if not all(name in references for name in names):
        return None
    return _FIELD.sub(lambda m: PHRASES.get(references[m[1]], references[m[1]]), line)


def render(code: str, references: dict[str, str]) -> Message:
    template = TEMPLATES.get(code)
    if template is None:
        raise UnknownTemplate(code)
    body: list[str] = []
    for line in template.lines:
        if "_N}" not in line:
            body.append(_fill(line, references) or "")
            continue
        number = 1
        while (filled := _fill(line.replace("_N}", f"_{number}}}"), references)) is not None:
            body.append(filled)
            number += 1
    text = "\n".join(line for line in body if line)
    return Message(template.subject, f"{text}\n\n{_FOOTER}")
