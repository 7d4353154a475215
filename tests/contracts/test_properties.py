"""Property-based: every valid payload round-trips; junk only ever gets a contract error."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from payload_strategies import PAYLOADS, contract_settings, json_junk, typed_payloads
from pydantic import ValidationError
from tests_contracts_support import example_event

from contracts import (
    ContractError,
    ContractViolation,
    KafkaRecord,
    from_binary,
    from_record,
    from_structured,
    new_event,
    parse_payload,
    payload_model,
    to_binary,
    to_structured,
)

EVENT_TYPES = sorted(PAYLOADS)
subjects = st.from_regex(r"case-[a-z0-9]{8,20}", fullmatch=True)


@contract_settings
@given(typed=typed_payloads, subject=subjects)
def test_valid_payloads_round_trip_through_both_modes(
    typed: tuple[str, dict[str, Any]], subject: str
) -> None:
    event_type, data = typed
    payload = parse_payload(event_type, data)
    model = payload_model(event_type)
    assert model.model_validate_json(payload.model_dump_json()) == payload
    event = new_event(
        payload, source="/test/hypothesis", subject=subject, time=datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert from_binary(to_binary(event)) == event
    assert from_structured(to_structured(event)) == event


@contract_settings
@given(event_type=st.sampled_from(EVENT_TYPES), junk=json_junk)
def test_junk_payloads_get_a_violation(event_type: str, junk: Any) -> None:
    with contextlib.suppress(ContractViolation):
        parse_payload(event_type, junk)


@contract_settings
@given(event_type=st.sampled_from(EVENT_TYPES), junk=json_junk)
def test_junk_payloads_never_escape_pydantic(event_type: str, junk: Any) -> None:
    with contextlib.suppress(ValidationError):
        payload_model(event_type).model_validate(junk)


def _mutate(data: Any, path: list[int], replacement: Any) -> Any:
    """Replace one node, chosen by ``path`` of indexes, in a JSON-like tree."""
    if not path or not isinstance(data, dict | list) or not data:
        return replacement
    keys = list(data) if isinstance(data, dict) else list(range(len(data)))
    key = keys[path[0] % len(keys)]
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[key] = _mutate(data[key], path[1:], replacement)
    return copy


@contract_settings
@given(
    typed=typed_payloads,
    path=st.lists(st.integers(0, 50), min_size=1, max_size=6),
    replacement=json_junk,
)
def test_mutated_payloads_are_valid_or_a_safe_violation(
    typed: tuple[str, dict[str, Any]], path: list[int], replacement: Any
) -> None:
    event_type, data = typed
    secret = "Zqxjmarker Secretname"
    if isinstance(replacement, str):
        replacement = f"{secret}{replacement}"
    mutated = _mutate(data, path, replacement)
    try:
        parse_payload(event_type, mutated)
    except ContractViolation as exc:
        error = exc
    else:
        return
    assert "Zqxjmarker" not in str(error)
    assert all("Zqxjmarker" not in str(v) for v in error.violations)


@contract_settings
@given(
    value=st.binary(max_size=200) | json_junk.map(lambda j: json.dumps(j).encode()),
    headers=st.lists(
        st.tuples(
            st.sampled_from(
                ["ce_id", "ce_type", "ce_source", "ce_time", "ce_subject", "content-type", "x"]
            )
            | st.text(max_size=12),
            st.binary(max_size=40),
        ),
        max_size=8,
    ),
    key=st.none() | st.binary(max_size=20),
)
def test_junk_records_only_raise_contract_errors(
    value: bytes, headers: list[tuple[str, bytes]], key: bytes | None
) -> None:
    record = KafkaRecord(key=key, value=value, headers=headers)
    for parse in (from_binary, from_record):
        with contextlib.suppress(ContractError):
            parse(record)


@contract_settings
@given(
    attribute=st.sampled_from(["id", "source", "type", "time", "subject", "specversion"]),
    value=json_junk,
)
def test_junk_envelope_attributes_only_raise_contract_errors(attribute: str, value: Any) -> None:
    event = example_event("death-registered")
    event[attribute] = value
    with contextlib.suppress(ContractError):
        from_structured(event)
    with contextlib.suppress(ContractError):
        from_structured(json.dumps(event))
