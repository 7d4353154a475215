"""Withdrawals: a source takes back a life event it sent, and only its own."""

from __future__ import annotations

from typing import Any

import pytest
from tests_contracts_support import changed, example_event, schema_file, validator

from contracts import from_structured
from contracts.errors import ContractViolation
from contracts.events import EventWithdrawnV1

WITHDRAWN = "lifeevents.event.withdrawn.v1"
EVENTS = {t: validator(schema_file(f"{t}.cloudevent.json")) for t in (WITHDRAWN,)}


def rules(document: dict[str, Any]) -> set[str]:
    with pytest.raises(ContractViolation) as raised:
        from_structured(document)
    return {v.rule for v in raised.value.violations}


def test_the_example_names_the_event_it_withdraws() -> None:
    withdrawal = from_structured(example_event("event-withdrawn")).data
    assert isinstance(withdrawal, EventWithdrawnV1)
    assert (withdrawal.withdraws.source, withdrawal.reason) == (
        "/register-office/exampleshire",
        "entered_in_error",
    )


def test_a_source_withdraws_only_its_own_events() -> None:
    document = changed(
        example_event("event-withdrawn"), {"data.withdraws.source": "/housing/exampleshire"}
    )
    # Two values compared: the schema cannot say it, the model refuses it.
    assert EVENTS[document["type"]].is_valid(document)
    assert rules(document) == {"amends_another_source"}


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
