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
from datetime import date

__all__ = ["FOOTER", "PHRASES", "TEMPLATES", "Message", "UnknownTemplate", "render"]

PHRASES: dict[str, str] = {
    "unknown": "the council for your new address",
    "award_reassessed": "We will reassess your award from that date.",
    "award_ends": "Your award ends on that date: please claim from the council for your new "
    "address.",
    "none": "none",
    # after a death: the steps, as the summary names them
    "council-tax": "Council tax",
    "council-tax-discount": "Single person discount",
    "benefits": "Housing benefit and council tax reduction",
    "electoral-register": "Electoral register",
    "blue-badge": "Blue badge",
    "library-card": "Library card",
    "parking-permit": "Resident parking permit",
    "assisted-collection": "Assisted bin collection",
    "tell-dwp": "Department for Work and Pensions",
    "tell-hmrc": "HM Revenue and Customs",
    "tell-hm-passport-office": "HM Passport Office",
    "tell-dvla": "DVLA",
    # ...what was done, why not, and on whom it waits
    "class_f": "Class F (the estate of someone who has died, while nobody lives there)",
    "not_chosen_by_informant": "not told, as the informant chose",
    "adults_remaining": "does not apply to this household",
    "declined_by_resident": "declined",
    "survivor": "an answer from the person who lives there",
    "caseworker": "a caseworker, who will be in touch",
    # after a birth: the funded early education an offer names
    "two_year_old_funding": "funded early education for two-year-olds (for families who "
    "meet the criteria)",
    "three_year_old_entitlement": "the funded early education every three-year-old is entitled to",
    # why a life event was taken back
    "entered_in_error": "entered in error",
    "wrong_person": "about someone else",
    "sent_twice": "sent to us twice",
    # the steps that wait for a resident's answer, as a question names them
    "school-admissions": "an in-year school place for your child",
    "benefits-review": "a review of your housing benefit or council tax reduction",
}

FOOTER = "You can see what we did, and why, in your Life Events inbox."


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
    "death.council-tax": Template(
        "Council tax after a death",
        (
            "We are sorry for your loss. We have updated the council tax for the address.",
            "The liability of the person who died ended on {liability_end}.",
            "You are now liable on account {account}; {adults} adult(s) live there.",
            "We will offer you the single person discount separately: {single_person_discount}.",
        ),
    ),
    "death.council-tax-discount": Template(
        "Single person discount",
        (
            "You asked for the single person discount. We have applied "
            "{single_person_discount} to account {account} from {from}.",
        ),
    ),
    "death.benefits": Template(
        "Housing benefit and council tax reduction after a death",
        (
            "We are sorry for your loss.",
            "The housing benefit and council tax reduction of the person who died end on "
            "{ended_on} ({claims}).",
            "We will review your own claim ({reviews}) for the change in your household, and "
            "write to you about it.",
        ),
    ),
    "death.electoral-register": Template(
        "The electoral register after a death",
        ("The entry of the person who died was removed from the register on {removed_on}.",),
    ),
    "death.council-registers": Template(
        "Council registers after a death",
        ("We have updated the council's registers after the death.",),
    ),
    "death.partner-told": Template(
        "Organisations told of a death",
        ("We have told {organisation}, reference {reference}.",),
    ),
    "birth.library-card": Template(
        "A library card for your child",
        (
            "Your child is now a member of the council's libraries: their junior library "
            "card is {card}. You can collect it from any of our libraries.",
        ),
    ),
    "birth.early-years": Template(
        "Childcare and early education for your child",
        (
            "Congratulations on the birth of your child. We have added your child to our "
            "early years list, which we use to plan enough childcare places in the area.",
            "{family_information_service} can tell you about childcare near you.",
            "From {two_year_old_funding_from}, your child can have 15 hours a week of funded "
            "early education if your family meets the criteria for two-year-olds.",
            "From {three_year_old_entitlement_from}, your child can have 15 hours a week of "
            "funded early education, as every three-year-old can.",
            "Your child can start school in a reception class from {reception_starts}. We "
            "will remind you when you can apply for a place.",
        ),
    ),
    "birth.benefits-review": Template(
        "Your housing benefit or council tax reduction after the birth",
        (
            "We have added your child to your household on claim {claims} from {effective_from}.",
            "{reassessment}",
        ),
    ),
    "birth.early-education": Template(
        "Funded early education for your child",
        (
            "From {from}, your child can have {entitlement}: {hours} hours a week during "
            "term time.",
            "To take up the place, ask a nursery, pre-school or childminder that offers "
            "funded places.",
        ),
    ),
    "birth.reception-window-opens": Template(
        "Apply for your child's reception school place",
        (
            "You can now apply for a reception class place for your child, to start school "
            "next September.",
            "Your catchment primary school is {primary_school}.",
            "Please apply by {applications_close}: applications made after that date are "
            "considered only after those made on time.",
        ),
    ),
    "birth.reception-window-closing": Template(
        "Two weeks left to apply for a reception school place",
        (
            "Applications for reception class places close on {applications_close}. If you "
            "have not applied for your child yet, please apply now.",
            "Your catchment primary school is {primary_school}.",
        ),
    ),
    "birth.moved-away": Template(
        "Early education and school places after your move",
        (
            "As you now live outside our area, please ask {council} about early education "
            "and a school place for your child.",
        ),
    ),
    # a life event its source took back (workflows/amendment.py)
    "withdrawn.apology": Template(
        "We are sorry: we acted on information that was wrong",
        (
            "We recently wrote to you about a change the council had been told of. We have "
            "since learnt that the information was {reason}, so we have undone what we did "
            "because of it.",
            "Your council tax, benefits, electoral registration and other council records "
            "are back as they were before. You do not need to do anything.",
            "If we wrote to you by post, please ignore that letter. A member of staff will "
            "contact you if anything else needs to be put right.",
            "We apologise for any worry or inconvenience this has caused.",
        ),
    ),
    "death.summary": Template(
        "What the council has done after the death",
        (
            "We are very sorry for your loss. This is everything the council has done since "
            "the death was registered, and what is still to do.",
            "Done: {done_step_N}, {done_outcome_N}. References: {done_references_N}.",
            "Still to do: {pending_step_N}, waiting for {pending_on_N}.",
            "Not done: {not_done_step_N}, {not_done_reason_N}.",
            "Please keep this letter: quote the references if you contact us.",
        ),
    ),
    # a step waits for the resident's answer (workflows/pipeline.py); `portal_url` is the
    # notification service's, the rest the workflow's
    "waiting.question": Template(
        "We need your answer",
        (
            "We need your answer about: {step}.",
            "Please answer by {due}.",
            "Answer in your Life Events account: {portal_url}{path}",
            "If we do not have your answer by {due}, a member of staff will contact you.",
        ),
    ),
    "waiting.reminder": Template(
        "Reminder: we need your answer",
        (
            "We are still waiting for your answer about: {step}.",
            "Please answer by {due}.",
            "Answer in your Life Events account: {portal_url}{path}",
            "If we do not have your answer by {due}, a member of staff will contact you.",
        ),
    ),
}

_FIELD = re.compile(r"\{([a-z0-9_]+)\}")


class UnknownTemplate(LookupError):
    pass


@dataclass(frozen=True)
class Message:
    """A rendered template. `body` is what the inbox shows: the lines, a blank line and the
    footer. `lines` are the filled lines alone, for a channel that lays them out itself
    (an e-mail, a text, a letter: `services.notifications.content`)."""

    subject: str
    body: str
    lines: tuple[str, ...] = ()


def _fill(line: str, references: dict[str, str]) -> str | None:
    names = _FIELD.findall(line)
    if not all(name in references for name in names):
        return None
    return _FIELD.sub(lambda m: _words(references[m[1]]), line)


def _words(value: str) -> str:
    """A code as words, and a date as people write it ("18 October 2025", not 2025-10-18)."""
    if _ISO_DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return value
        return f"{day.day} {day:%B %Y}"
    return PHRASES.get(value, value)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


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
    lines = tuple(line for line in body if line)
    text = "\n".join(lines)
    return Message(template.subject, f"{text}\n\n{FOOTER}", lines)
