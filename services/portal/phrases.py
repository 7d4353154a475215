"""Plain English for what the platform says in codes: step names, statuses, stages, reasons,
outcomes, purposes, recipients, data categories and lawful bases.

The timeline and the ledger speak in codes (no personal data, stable across releases);
residents read sentences. Every lookup has a neutral fallback that never shows a code
alone: a code nobody has phrased yet reads "We cannot show more detail here…" with the code
as a reference to quote. The codes come from the service catalogue
(`workflows/catalogue.toml`), the pipeline and the workflows (`workflows/*.py`), the consent
gate and policy (`services/consent/`), and each council service's outcomes; a test checks
that every step in the catalogue has a title here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from contracts.timeline import StepStatus

__all__ = [
    "OFFERED_CONSENTS",
    "Offer",
    "StatusTag",
    "basis_text",
    "categories_text",
    "consent_status",
    "event_title",
    "ledger_kind",
    "ledger_outcome",
    "ledger_who",
    "outcome_text",
    "purpose_text",
    "reason_text",
    "recipient_text",
    "reference_lines",
    "stage_text",
    "status_tag",
    "step_title",
]


def _fallback(code: str) -> str:
    return (
        "We cannot show more detail about this here. If you need to know, contact us and "
        f"quote this reference: {code}."
    )


# -- life events ------------------------------------------------------------------------------

_EVENT_TITLES = {
    "lifeevents.address.changed.v1": "Your change of address",
    "lifeevents.birth.registered.v1": "The birth of your child",
    "lifeevents.death.registered.v1": "A death in your household",
    "lifeevents.event.withdrawn.v1": "A life event taken back",
    "lifeevents.event.corrected.v1": "A life event corrected",
}


def event_title(event_type: str, title: str = "") -> str:
    """The adapter's title when it gives one, else ours by the event's type."""
    return title or _EVENT_TITLES.get(event_type, "A life event")


_STAGES = {
    "received": "Received",
    "planning": "Working out what to do",
    "matching": "Checking our records",
    "acting": "In progress",
    "scheduled": "Waiting for a date",
    "waiting_for_resident": "Waiting for your answer",
    "needs_person": "A member of staff is looking at this",
    "escalated": "A member of staff is looking at this",
    "complete": "Finished",
    "merged": "Already dealt with under another report",
    "contradicted": "A member of staff is checking this",
    "withdrawn": "Taken back",
    "corrected": "Replaced by a correction",
    "stopping": "Being taken back",
    "undoing": "Being taken back",
    "held": "Taken back before it arrived",
    "unavailable": "Not available just now",
}


def stage_text(stage: str) -> str:
    return _STAGES.get(stage, "In progress")


# -- steps ------------------------------------------------------------------------------------

_STEP_TITLES = {
    # a move
    "council-tax": "Council tax",
    "electoral-register": "Electoral register",
    "school-admissions": "School place for your child",
    "benefits": "Housing benefit and council tax reduction",
    # a death
    "council-tax-discount": "Single person discount on council tax",
    "blue-badge": "Blue badge",
    "library-card": "Library card",
    "parking-permit": "Resident parking permit",
    "assisted-collection": "Assisted bin collection",
    "tell-dwp": "Telling the Department for Work and Pensions",
    "tell-hmrc": "Telling HM Revenue and Customs",
    "tell-hm-passport-office": "Telling HM Passport Office",
    "tell-dvla": "Telling the DVLA",
    # a birth
    "early-years": "Childcare and early years information",
    "benefits-review": "Adding your child to your benefit claim",
    "two-year-old-funding": "Funded early education for two-year-olds",
    "three-year-old-entitlement": "Funded early education from age 3",
    "reception-window-opens": "Reception school place applications open",
    "reception-window-closing": "Reminder: reception applications close soon",
    "school-places-elsewhere": "School places after a move away",
    # what every workflow may add
    "resident-index": "Updating our records",
    "same-event": "Checking whether we already knew",
    "informant-agreement": "Recording who you asked us to tell",
    "support-flag": "Offering support",
    "summary": "Summary of what we did",
    "apology": "Our apology",
    "letters-posted": "Letters already posted",
    "also-reported": "Checking another report",
    "held": "Taken back before it arrived",
    "already-withdrawn": "Already taken back",
    "undo-resident-index": "Putting our records back",
    "undo-death-in-gate": "Putting our records back",
    "undo-death-in-notifications": "Putting our records back",
}

# The same step name means a little more for some events.
_STEP_TITLES_BY_EVENT = {
    ("lifeevents.birth.registered.v1", "library-card"): "Library card for your child",
    ("lifeevents.death.registered.v1", "library-card"): "Library membership",
    ("lifeevents.death.registered.v1", "council-tax"): "Council tax account",
}


def step_title(step: str, event_type: str = "") -> str:
    title = _STEP_TITLES_BY_EVENT.get((event_type, step)) or _STEP_TITLES.get(step)
    if title is not None:
        return title
    if step.startswith("undo-"):
        return f"Undoing: {step_title(step.removeprefix('undo-'), event_type)}"
    if step.startswith("match-"):
        return "Checking who is who in our records"
    return "Another step"


@dataclass(frozen=True)
class StatusTag:
    text: str
    classes: str  # a GOV.UK tag colour class, "" for the default


_STATUS = {
    StepStatus.DONE: StatusTag("Done", "govuk-tag--green"),
    StepStatus.WAITING: StatusTag("Not started yet", "govuk-tag--grey"),
    StepStatus.WAITING_FOR_RESIDENT: StatusTag("Waiting for you", "govuk-tag--yellow"),
    StepStatus.SKIPPED: StatusTag("Not done", "govuk-tag--grey"),
    StepStatus.NEEDS_PERSON: StatusTag("With a member of staff", "govuk-tag--blue"),
}


def status_tag(status: StepStatus | str) -> StatusTag:
    try:
        return _STATUS[StepStatus(status)]
    except ValueError:
        return StatusTag("In progress", "govuk-tag--grey")


# -- why a step was not done, or went to a person ---------------------------------------------

_REASONS = {
    # the plan: a condition the event did not meet
    "direction": "This only applies when you move into or within our area.",
    "no_school_age_child": "Nobody who moved is of school age.",
    "school_age_child": "This only applies when nobody who moved is of school age.",
    "adults_remaining": "This only applies when one adult still lives at the address.",
    "not_chosen_by_informant": "The person who registered the death did not ask us to tell "
    "this organisation.",
    # the consent gate
    "no_policy": "Our data-sharing policy does not allow this.",
    "categories_not_allowed": "Our data-sharing policy does not allow the information this "
    "would need.",
    "objection": "You objected to your information being used for this.",
    "objection_recorded": "You objected to your information being used for this.",
    "no_consent": "This needs your consent, and we do not have it.",
    "consent_withdrawn": "You withdrew your consent.",
    "consent_expired": "Your consent has expired.",
    "consent_scope": "Your consent does not cover all the information this would need.",
    # the service refused the share
    "resident_deceased": "We have been told that the person this is about has died.",
    "death_not_recorded": "We could not confirm the death in our records.",
    "missing": "A check on the information failed, so nothing was shared.",
    "malformed": "A check on the information failed, so nothing was shared.",
    "bad_signature": "A check on the information failed, so nothing was shared.",
    "expired": "A check on the information took too long, so nothing was shared.",
    "wrong_recipient": "A check on the information failed, so nothing was shared.",
    "wrong_purpose": "A check on the information failed, so nothing was shared.",
    "data_altered": "A check on the information failed, so nothing was shared.",
    "wrong_resident": "A check on the information failed, so nothing was shared.",
    "category_not_shared": "A check on the information failed, so nothing was shared.",
    "ShareRefused": "The service could not accept the information.",
    "ShareDataInvalid": "The service could not use the information it was sent.",
    "refused": "The service could not accept the information.",
    # the workflow
    "declined_by_resident": "You said no.",
    "no_answer_in_time": "We did not get an answer in time, so a member of staff will contact you.",
    "already_handled": "We already dealt with this under an earlier report of the same event.",
    "contradicts_earlier_report": "This report does not match an earlier one, so a member of "
    "staff is checking it.",
    "reported_by_another_source": "Someone else also told us about this, so a member of "
    "staff is checking it.",
    "withdrawn": "The organisation that told us about this event took it back.",
    "corrected": "The organisation that told us about this event corrected it.",
    "not_told_deceased": "We did not write to the person this is about, as they have died.",
    "undo_refused": "We could not undo this automatically, so a member of staff will.",
    "no_undo": "This cannot be undone automatically, so a member of staff will deal with it.",
    "changed_since": "The record has changed since, so a member of staff will deal with it.",
    "cannot_undo_told_outside_council": "The organisation was already told. A member of staff "
    "will contact them.",
    "letter_already_posted": "A letter was already posted. A member of staff will follow it up.",
    "not_reachable": "We had no way to contact this person.",
    "bereaved_living_alone": "A member of staff will contact you first, to offer support.",
    # a birth
    "already_recorded": "We already had this, so nothing needed doing again.",
    "date_passed": "The date for this had already passed.",
    "new_address_unknown": "We do not know the new address yet.",
    "not_moved_away": "You did not move away, so this was not needed.",
    "child_deceased": "We have been told that the child has died.",
    # what a service found when it checked first
    "no_claim": "There is no claim this applies to.",
    "no_claims": "There is no claim this applies to.",
    "no_account": "There is no council tax account this applies to.",
    "not_only_adult": "This only applies when one adult lives at the address.",
    "no_death_recorded": "The death is not yet recorded on the council tax account.",
    "no_eligible_mover": "Nobody who moved can be on the electoral register.",
    "not_registered": "There was no entry on the electoral register.",
    "already_removed": "The entry had already been removed.",
    "no_badge": "There was no blue badge.",
    "no_membership": "There was no library membership.",
    "no_permit": "There was no parking permit.",
    "no_collection": "There was no assisted bin collection.",
    "unknown_organisation": "We could not reach that organisation.",
    "not_moving_into_the_area": "This only applies when you move into our area.",
    "outside_the_area": "The address is outside our area.",
    "no_catchment_school": "We could not find a catchment school for the address.",
    "not_yet_entitled": "Your child is not entitled to this yet.",
    "already_offered": "We had already offered this.",
    "already_member": "Your child already had a library card.",
    "already_registered": "This was already registered.",
}


def reason_text(reason: str) -> str:
    if not reason:
        return ""
    if reason in _REASONS:
        return _REASONS[reason]
    if reason.startswith("invalid_data"):
        return _REASONS["ShareDataInvalid"]
    return _fallback(reason)


# -- what a done step did ----------------------------------------------------------------------

_OUTCOMES = {
    "account_closed": "We closed the council tax account at your old address.",
    "account_opened": "We opened a council tax account at your new address.",
    "account_joined": "We added you to the council tax account at your new address.",
    "account_closed_and_opened": "We closed the council tax account at your old address and "
    "opened one at your new address.",
    "account_closed_and_joined": "We closed the council tax account at your old address and "
    "added you to the one at your new address.",
    "account_passed_to_estate": "The council tax account passed to the estate.",
    "survivor_liable": "The council tax account is now in the name of the adult who remains.",
    "account_updated": "We updated the council tax account.",
    "discount_applied": "We applied the single person discount.",
    "removed_and_invited": "We removed the old entry on the electoral register and invited you "
    "to register at your new address.",
    "invited": "We invited you to register to vote at your new address.",
    "removed": "We removed the entry on the electoral register.",
    "entry_removed": "We removed the entry on the electoral register.",
    "registered": "We registered the change.",
    "application_recorded": "We recorded the school place application.",
    "offer_made": "We sent you the offer.",
    "catchment_found": "We sent you the details of your catchment school.",
    "change_recorded": "We recorded the change on the claim.",
    "claims_ended": "We ended the claims and opened a review.",
    "reviews_opened": "We opened a review of the claims.",
    "claims_found": "We found a claim this applies to.",
    "award_reassessed": "We are reassessing the award.",
    "award_ends": "The award ends.",
    "badge_cancelled": "We cancelled the blue badge.",
    "membership_closed": "We closed the library membership and waived any charges.",
    "card_issued": "We issued the library card.",
    "permit_transferred": "We transferred the parking permit.",
    "permit_cancelled": "We cancelled the parking permit.",
    "collection_stopped": "We stopped the assisted bin collection.",
    "collection_under_review": "We are reviewing the assisted bin collection.",
    "told": "We told the organisation.",
    "unchanged": "This stands as it was done before.",
    "undone": "We undid this.",
    "already_undone": "This had already been undone.",
    "nothing_to_undo": "There was nothing to undo.",
    "summary": "We sent a summary of everything we did.",
    "withdrawn": "We wrote to apologise.",
    "withdrawn_before_it_arrived": "It was taken back before we acted on it.",
    "recorded": "We recorded this.",
    "deceased_recorded": "We recorded this.",
}


def outcome_text(outcome: str) -> str:
    """What a done step did; "" when there is nothing to add to its "Done" tag."""
    return _OUTCOMES.get(outcome, "")


# What a step's references may show, by key: the service's own reference numbers and dates,
# as in the letters. Any other key is left out (it might be meant for staff only).
_REFERENCE_LABELS = {
    "account": "Council tax account",
    "closed_account": "Closed council tax account",
    "final_bill_date": "Final bill date",
    "liability_start": "Council tax due from",
    "liability_end": "Council tax due until",
    "single_person_discount": "Single person discount",
    "effective_from": "From",
    "effective_date": "From",
    "reference": "Reference",
    "card": "Library card number",
    "primary_school": "Catchment primary school",
    "reception_starts": "Reception starts",
    "two_year_old_funding_from": "Funded hours for two-year-olds from",
    "three_year_old_entitlement_from": "Funded hours from age 3 from",
    "due": "Due on",
    "contact_council": "Council to contact",
    "review_from": "Review from",
    "reviews_from": "Reviews from",
    "ended_on": "Ended on",
    "cancelled_on": "Cancelled on",
    "removed_on": "Removed on",
}


def _maybe_date(value: str) -> str:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return value
    return f"{day.day} {day:%B %Y}"


def reference_lines(references: dict[str, str]) -> list[tuple[str, str]]:
    """(label, value) for each reference a resident may read, dates in words."""
    return [
        (label, _maybe_date(references[key]))
        for key, label in _REFERENCE_LABELS.items()
        if references.get(key) and references[key] != "none"
    ]


# -- consent and the ledger ---------------------------------------------------------------------

_PURPOSES = {
    "council-tax-liability": "working out who pays council tax",
    "electoral-register-update": "keeping the electoral register up to date",
    "school-admission-planning": "planning school places",
    "early-years-planning": "planning childcare and early education",
    "housing-benefit-review": "reviewing housing benefit and council tax reduction",
    "blue-badge-administration": "running the blue badge scheme",
    "library-membership": "running library memberships",
    "parking-permit-administration": "running resident parking permits",
    "waste-collection": "running bin collections",
    "tell-us-once": "telling government organisations about a death (Tell Us Once)",
    "child-safeguarding": "keeping children safe",
    "emergency-welfare-check": "an emergency welfare check",
    "bereavement-support-referral": "referring you to bereavement support",
    "blue-badge-renewal": "reminding you to renew your blue badge",
    "library-membership-offer": "offering you library membership",
    "caseworker-task": "a member of staff dealing with your life event",
}


def purpose_text(purpose: str) -> str:
    return _PURPOSES.get(purpose, "another council purpose")


_RECIPIENTS = {
    "council-tax": "Council tax",
    "electoral-services": "Electoral services",
    "school-admissions": "School admissions",
    "benefits": "Housing benefit and council tax reduction",
    "council-registers": "Council registers (blue badges, libraries, parking, bins)",
    "dwp": "Department for Work and Pensions",
    "hmrc": "HM Revenue and Customs",
    "hm_passport_office": "HM Passport Office",
    "dvla": "DVLA",
    "childrens-social-care": "Children's social care",
    "adult-social-care": "Adult social care",
    "bereavement-support": "Bereavement support service",
    "blue-badge": "Blue badge team",
    "libraries": "Libraries",
    "notifications": "Council messages",
    "*": "The council",
}


def recipient_text(recipient: str) -> str:
    return _RECIPIENTS.get(recipient, "Another council service")


_CATEGORIES = {
    "identity": "your name and date of birth",
    "contact": "your contact details",
    "address": "your address",
    "household": "who lives with you",
    "birth": "a birth",
    "death": "a death",
    "financial": "financial information",
    "benefits": "benefits information",
    "education": "education information",
    "health": "health information",
    "disability": "disability information",
    "ethnicity": "ethnicity",
    "religion": "religion",
}


def categories_text(categories: Iterable[str]) -> str:
    """`your name and date of birth, your address and a death`."""
    words = [_CATEGORIES.get(str(c), "other information") for c in categories]
    words = list(dict.fromkeys(words))
    if not words:
        return "no information"
    if len(words) == 1:
        return words[0][0].upper() + words[0][1:]
    text = ", ".join(words[:-1]) + " and " + words[-1]
    return text[0].upper() + text[1:]


_BASES = {
    "public_task": "Part of the council's public duties",
    "legal_obligation": "The law requires it",
    "consent": "Your consent",
    "vital_interests": "To protect someone's life",
}


def basis_text(basis: str | None) -> str:
    if basis is None:
        return "Not applicable"
    return _BASES.get(str(basis), "Another lawful basis")


_KINDS = {
    "decision": "A decision on sharing",
    "share": "Information shared",
    "consent": "A change to your consent",
    "objection": "An objection",
    "death": "A death recorded",
    "compensation": "A decision to undo a share",
    "caseworker": "A member of staff",
}


def ledger_kind(kind: str) -> str:
    return _KINDS.get(str(kind), "A record")


def ledger_who(kind: str, recipient: str) -> str:
    """Who: the service, or for a member of staff their staff reference (a pseudonymous ID
    the council can look up when a resident asks who it was)."""
    if str(kind) == "caseworker":
        return f"A member of staff (staff reference {recipient})"
    return recipient_text(recipient)


_LEDGER_OUTCOMES = {
    ("decision", "allow"): "Allowed",
    ("decision", "deny"): "Refused",
    ("decision", "needs_consent"): "Waiting for your consent",
    ("compensation", "allow"): "Allowed",
    ("compensation", "deny"): "Refused",
    ("compensation", "needs_consent"): "Waiting for your consent",
    ("share", "completed"): "Shared",
    ("share", "refused"): "Not shared",
    ("consent", "given"): "Consent given",
    ("consent", "withdrawn"): "Consent withdrawn",
    ("consent", "expired"): "Consent expired",
    ("objection", "recorded"): "Objection recorded",
    ("objection", "withdrawn"): "Objection withdrawn",
    ("death", "recorded"): "Recorded",
    ("death", "withdrawn"): "Taken back",
    ("caseworker", "claimed"): "Picked up the task",
    ("caseworker", "released"): "Handed the task back",
    ("caseworker", "linked"): "Matched the person to our records",
    ("caseworker", "created"): "Added the person to our records",
    ("caseworker", "resolved"): "Dealt with the task",
}

_LEDGER_REASONS = {
    "policy_allows": "Our data-sharing policy allows it.",
    "consent_given": "You gave your consent.",
    "share_recorded": "The service received it.",
    "death_registered": "The death was registered.",
    "death_record_withdrawn": "The report of the death was taken back.",
    "expires_at": "Its time ran out.",
    "resident_withdrew": "You withdrew it.",
    # the kind of task a member of staff acted on
    "identity_match": "We needed to check who is who in our records.",
    "resident_confirmation": "We did not get an answer in time.",
    "contradicting_report": "Two reports of the same event did not match.",
    "handed_on": "Automation could not finish this on its own.",
}


def ledger_outcome(kind: str, outcome: str, reason: str) -> str:
    """`Refused: You withdrew your consent.`"""
    said = _LEDGER_OUTCOMES.get((str(kind), outcome), "Recorded")
    why = _LEDGER_REASONS.get(reason) or (_REASONS.get(reason, "") if reason else "")
    return f"{said}. {why}".strip() if why else f"{said}."


def consent_status(status: str) -> StatusTag:
    return {
        "given": StatusTag("Given", "govuk-tag--green"),
        "withdrawn": StatusTag("Withdrawn", "govuk-tag--grey"),
        "expired": StatusTag("Expired", "govuk-tag--yellow"),
    }.get(str(status), StatusTag("Unknown", "govuk-tag--grey"))


@dataclass(frozen=True)
class Offer:
    """A consent a resident may give in one click: the policy's consent-based purposes that
    a resident gives for themselves (services/consent/policy.toml). Tell Us Once is the
    informant's, recorded at the registration of a death, never given here."""

    purpose: str
    recipient: str
    title: str
    description: str


OFFERED_CONSENTS: tuple[Offer, ...] = (
    Offer(
        "library-membership-offer",
        "libraries",
        "Library membership offers",
        "Libraries may use your name, contact details and address to offer you library membership.",
    ),
    Offer(
        "blue-badge-renewal",
        "blue-badge",
        "Blue badge renewal reminders",
        "The blue badge team may use your name, address and disability information to remind "
        "you when your badge needs renewing.",
    ),
    Offer(
        "bereavement-support-referral",
        "bereavement-support",
        "Bereavement support",
        "After a death in your household, the bereavement support service may use your name, "
        "contact details and the death to offer you support.",
    ),
)
