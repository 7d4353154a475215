"""Withdrawals and corrections: a source takes back or puts right a life event it sent, and
only its own; a correction carries a payload of the type it names."""

from __future__ import annotations

from typing import Any

import pytest
from tests_contracts_support import changed, example_event, schema_file, validator

from contracts import from_structured
from contracts.errors import ContractViolation
from contracts.events import AddressChangedV1, EventCorrectedV1, EventWithdrawnV1

WITHDRAWN = "lifeevents.event.withdrawn.v1"
CORRECTED = "lifeevents.event.corrected.v1"
EVENTS = {t: validator(schema_file(f"{t}.cloudevent.json")) for t in (WITHDRAWN, CORRECTED)}


def rules(document: dict[str, Any]) -> set[str]:
    with pytest.raises(ContractViolation) as raised:
        from_structured(document)
    return {v.rule for v in raised.value.violations}


def test_the_examples_name_the_event_they_amend() -> None:
    withdrawal = from_structured(example_event("event-withdrawn")).data
    assert isinstance(withdrawal, EventWithdrawnV1)
    assert (withdrawal.withdraws.source, withdrawal.reason) == (
        "/register-office/exampleshire",
        "entered_in_error",
    )
    correction = from_structured(example_event("event-corrected")).data
    assert isinstance(correction, EventCorrectedV1)
    assert isinstance(correction.corrected.data, AddressChangedV1)
    assert correction.corrected.data.move_date.isoformat() == "2025-10-11"


@pytest.mark.parametrize(
    ("example", "field"), [("event-withdrawn", "withdraws"), ("event-corrected", "corrects")]
)
def test_a_source_amends_only_its_own_events(example: str, field: str) -> None:
    document = changed(example_event(example), {f"data.{field}.source": "/housing/exampleshire"})
    # Two values compared: the schema cannot say it, the model refuses it.
    assert EVENTS[document["type"]].is_valid(document)
    assert rules(document) == {"amends_another_source"}


def test_a_correction_carries_a_payload_of_the_type_it_names() -> None:
    document = changed(
        example_event("event-corrected"), {"data.corrected.type": "lifeevents.death.registered.v1"}
    )
    assert not EVENTS[CORRECTED].is_valid(document)
    assert rules(document)


@pytest.mark.parametrize("reason", ["typo", "ENTERED_IN_ERROR", ""])
def test_a_reason_is_one_of_the_codes(reason: str) -> None:
    document = changed(example_event("event-withdrawn"), {"data.reason": reason})
    assert not EVENTS[WITHDRAWN].is_valid(document)
    assert rules(document) == {"literal_error"}


def test_only_a_life_event_is_withdrawn() -> None:
    document = changed(
        example_event("event-withdrawn"), {"data.withdrawn_type": "lifeevents.event.withdrawn.v1"}
    )
    assert not EVENTS[WITHDRAWN].is_valid(document)
    assert rules(document) == {"literal_error"}
