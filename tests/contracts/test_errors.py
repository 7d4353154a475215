"""Errors name the field and the rule, and never carry the personal data they rejected."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from tests_contracts_support import example_data, example_event

from contracts.cloudevents import KafkaRecord, from_binary, from_structured
from contracts.errors import ContractError, ContractViolation, UnknownEventType, safe_errors
from contracts.events import BirthRegisteredV1
from contracts.registry import parse_payload

BIRTH = "lifeevents.birth.registered.v1"
SECRET = "Secretina Privatesurname"


def all_text(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), repr(getattr(exc, "args", ()))]
    if isinstance(exc, ContractViolation):
        parts += [repr(v) for v in exc.violations]
    return "\n".join(parts)


def test_violation_names_field_and_rule() -> None:
    data = example_data("birth-registered")
    data["child"]["nhs_number"] = "9434765918"
    with pytest.raises(ContractViolation) as exc:
        parse_payload(BIRTH, data)
    (violation,) = exc.value.violations
    assert violation.loc == "child.nhs_number"
    assert violation.rule == "nhs_number_check_digit"
    assert violation.message == "NHS number fails the modulus 11 check"
    assert "9434765918" not in all_text(exc.value)
    assert exc.value.reason == "contract_violation"
    assert exc.value.__cause__ is None  # the ValidationError (with inputs) is not chained
    assert exc.value.__suppress_context__


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("child", "name", "given_names"), f"{SECRET}\x00"),
        (("child", "date_of_birth"), SECRET),
        (("child", "sex"), SECRET),
        (("child", "nhs_number"), SECRET),
        (("parents", 0, "address", "postcode"), SECRET),
        (("parents", 0, "contact", "email"), f"{SECRET}@@example.com"),
        (("parents", 0, "contact", "email"), "secretina@exa mple.com"),
        (("parents", 0, "contact", "phone"), f"{SECRET} 0207"),
        (("parents", 0, "address", "uprn"), SECRET),
        (("registration", "entry_reference"), SECRET),
        (("child", "name"), SECRET),
        (("parents",), SECRET),
    ],
)
def test_rejected_values_never_appear_in_errors(path: tuple[str | int, ...], value: str) -> None:
    data = example_data("birth-registered")
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ContractViolation) as exc:
        parse_payload(BIRTH, data)
    text = all_text(exc.value)
    for fragment in [SECRET, "Secretina", "Privatesurname", "exa mple", "0207"]:
        assert fragment not in text


def test_unknown_key_that_looks_like_personal_data_is_masked() -> None:
    data = example_data("birth-registered")
    data["child"][SECRET] = "x"
    with pytest.raises(ContractViolation) as exc:
        parse_payload(BIRTH, data)
    assert [v.loc for v in exc.value.violations] == ["child.<key>"]
    assert "Secretina" not in all_text(exc.value)


def test_raw_validation_error_text_hides_input_too() -> None:
    data = example_data("birth-registered")
    data["child"]["date_of_birth"] = SECRET
    with pytest.raises(ValidationError) as exc:
        BirthRegisteredV1.model_validate(data)
    assert SECRET not in str(exc.value)
    assert all(SECRET not in str(v) for v in safe_errors(exc.value))


def test_envelope_errors_are_safe() -> None:
    event = example_event("birth-registered")
    event["subject"] = "9434765919"  # an NHS number is not an opaque subject
    with pytest.raises(ContractViolation) as exc:
        from_structured(event)
    assert [(v.loc, v.rule) for v in exc.value.violations] == [("subject", "subject_not_opaque")]
    assert "9434765919" not in all_text(exc.value)


def test_unknown_event_type_is_typed_and_sanitised() -> None:
    with pytest.raises(UnknownEventType) as exc:
        parse_payload("lifeevents.marriage.registered.v1", {})
    assert exc.value.event_type == "lifeevents.marriage.registered.v1"
    assert exc.value.reason == "unknown_event_type"
    with pytest.raises(UnknownEventType) as exc:
        parse_payload(f"{SECRET}\n" * 20, {})
    assert "\n" not in str(exc.value)
    assert len(exc.value.event_type) <= 120


def test_all_contract_errors_are_value_errors() -> None:
    record = KafkaRecord(key=None, value=b"{", headers=[("content-type", b"application/json")])
    with pytest.raises(ContractError) as exc:
        from_binary(record)
    assert isinstance(exc.value, ValueError)
