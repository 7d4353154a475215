"""Plain English for the platform's codes: every step of the service catalogue has a title,
every reason its conditions give has words, and an unknown code reads as a neutral sentence,
never as the code alone."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from contracts.timeline import StepStatus
from services.portal import phrases

CATALOGUE = Path(__file__).resolve().parents[3] / "workflows" / "catalogue.toml"
POLICY = Path(__file__).resolve().parents[3] / "services" / "consent" / "policy.toml"
FALLBACK = "We cannot show more detail about this here."


def _steps() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = tomllib.loads(CATALOGUE.read_text())["step"]
    return steps


def _condition_reasons(step: dict[str, Any]) -> list[str]:
    """The codes `workflows.catalogue.unmet` gives for a step whose `when` is not met."""
    if "skipped_because" in step:
        return [step["skipped_because"]]
    reasons = []
    for fact, condition in step.get("when", {}).items():
        if condition is True:
            reasons.append(f"no_{fact}")
        elif condition is False:
            reasons.append(fact)
        else:
            reasons.append(fact)
    return reasons


@pytest.mark.parametrize("step", _steps(), ids=lambda s: f"{s['event_type']}:{s['name']}")
def test_every_catalogue_step_has_a_title(step: dict[str, Any]) -> None:
    assert phrases.step_title(step["name"], step["event_type"]) != "Another step"


@pytest.mark.parametrize("step", _steps(), ids=lambda s: f"{s['event_type']}:{s['name']}")
def test_every_reason_a_catalogue_condition_gives_has_words(step: dict[str, Any]) -> None:
    for reason in _condition_reasons(step):
        assert not phrases.reason_text(reason).startswith(FALLBACK), reason


def test_every_recipient_and_purpose_of_the_policy_has_words() -> None:
    shares = tomllib.loads(POLICY.read_text())["share"]
    for share in shares:
        assert phrases.recipient_text(share["recipient"]) != "Another council service"
        assert phrases.purpose_text(share["purpose"]) != "another council purpose"


def test_the_consents_offered_are_the_policys_consent_based_purposes_but_tell_us_once() -> None:
    shares = tomllib.loads(POLICY.read_text())["share"]
    consent_based = {
        (s["purpose"], s["recipient"])
        for s in shares
        if s["basis"] == "consent" and s["purpose"] != "tell-us-once"
    }

    assert {(o.purpose, o.recipient) for o in phrases.OFFERED_CONSENTS} == consent_based


def test_an_unknown_reason_is_a_sentence_with_the_code_as_a_reference() -> None:
    said = phrases.reason_text("brand_new_code")

    assert said == (
        "We cannot show more detail about this here. If you need to know, contact us and "
        "quote this reference: brand_new_code."
    )


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("declined_by_resident", "You said no."),
        ("consent_withdrawn", "You withdrew your consent."),
        (
            "already_handled",
            "We already dealt with this under an earlier report of the same event.",
        ),
        ("invalid_data:address.postcode", "The service could not use the information it was sent."),
        ("", ""),
    ],
)
def test_known_reasons(reason: str, said: str) -> None:
    assert phrases.reason_text(reason) == said


def test_every_step_status_has_a_tag() -> None:
    tags = {status: phrases.status_tag(status).text for status in StepStatus}

    assert tags == {
        StepStatus.WAITING: "Not started yet",
        StepStatus.WAITING_FOR_RESIDENT: "Waiting for you",
        StepStatus.DONE: "Done",
        StepStatus.SKIPPED: "Not done",
        StepStatus.NEEDS_PERSON: "With a member of staff",
    }
    assert phrases.status_tag("something_new").text == "In progress"


def test_unknown_steps_and_undo_steps() -> None:
    assert phrases.step_title("undo-council-tax") == "Undoing: Council tax"
    assert phrases.step_title("match-2") == "Checking who is who in our records"
    assert phrases.step_title("brand-new-step") == "Another step"


def test_categories_read_as_a_list() -> None:
    assert phrases.categories_text(["identity"]) == "Your name and date of birth"
    assert phrases.categories_text(["identity", "address", "death"]) == (
        "Your name and date of birth, your address and a death"
    )
    assert phrases.categories_text([]) == "no information"


def test_references_only_those_a_resident_may_read_with_dates_in_words() -> None:
    lines = phrases.reference_lines(
        {"account": "CT-12AB34", "final_bill_date": "2026-02-28", "internal_note": "x"}
    )

    assert lines == [("Council tax account", "CT-12AB34"), ("Final bill date", "28 February 2026")]


def test_ledger_outcomes() -> None:
    assert phrases.ledger_outcome("decision", "deny", "consent_withdrawn") == (
        "Refused. You withdrew your consent."
    )
    assert phrases.ledger_outcome("share", "completed", "share_recorded") == (
        "Shared. The service received it."
    )
    assert phrases.ledger_outcome("mystery", "odd", "") == "Recorded."


def test_a_caseworkers_action_on_the_ledger() -> None:
    assert phrases.ledger_who("caseworker", "cwk_" + "1" * 32) == (
        "A member of staff (staff reference cwk_11111111111111111111111111111111)"
    )
    assert phrases.ledger_outcome("caseworker", "linked", "identity_match") == (
        "Matched the person to our records. We needed to check who is who in our records."
    )
    assert phrases.purpose_text("caseworker-task") == (
        "a member of staff dealing with your life event"
    )
