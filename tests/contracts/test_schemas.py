"""The committed JSON Schemas, checked by an independent validator (jsonschema)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from jsonschema import Draft202012Validator
from payload_strategies import contract_settings, typed_payloads
from tests_contracts_support import EXAMPLE_PATHS, example_event

from contracts.generate import SCHEMAS_DIR
from contracts.registry import EVENT_TYPES


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS_DIR / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


PAYLOAD_VALIDATORS = {t: validator(f"{t}.json") for t in EVENT_TYPES}
EVENT_VALIDATORS = {t: validator(f"{t}.cloudevent.json") for t in EVENT_TYPES}


def test_every_event_type_has_an_example() -> None:
    covered = {json.loads(p.read_text("utf-8"))["type"] for p in EXAMPLE_PATHS}
    assert covered == set(EVENT_TYPES)


def test_examples_valid_against_both_schemas(example: dict[str, Any]) -> None:
    EVENT_VALIDATORS[example["type"]].validate(example)
    PAYLOAD_VALIDATORS[example["type"]].validate(example["data"])


@contract_settings
@given(typed=typed_payloads)
def test_generated_valid_payloads_are_schema_valid(typed: tuple[str, dict[str, Any]]) -> None:
    event_type, data = typed
    PAYLOAD_VALIDATORS[event_type].validate(data)


def _set(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    *parents, last = path.split(".")
    target: Any = changed
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return changed


_DELETE = object()

INVALID_BIRTHS = [
    ("data.child.nickname", "x"),
    ("data.child.sex", "F"),
    ("data.child.date_of_birth", "01/09/2025"),
    ("data.child.nhs_number", "943 476 5919"),
    ("data.child.name", {"middle": "x"}),
    ("data.parents.0.address.postcode", "ZZ99 9ZZ"),
    ("data.parents.0.address.postcode", "ab1 2de"),
    ("data.parents.0.address.lines", []),
    ("data.parents.0.address.uprn", 999000000001),
    ("data.parents.0.contact.phone", "020 7946 0001"),
    ("data.parents.0.contact.email", "not-an-email"),
    ("data.parents.0.role", "guardian"),
    ("data.registration", _DELETE),
    ("data.child", _DELETE),
    ("type", "lifeevents.death.registered.v1"),
    ("specversion", "0.3"),
    ("subject", _DELETE),
    ("time", _DELETE),
    ("datacontenttype", "text/plain"),
    ("data.parents", [{}, {}, {}]),
]


@pytest.mark.parametrize(("path", "value"), INVALID_BIRTHS, ids=[p for p, _ in INVALID_BIRTHS])
def test_schema_rejects_invalid_births(path: str, value: Any) -> None:
    event = _set(example_event("birth-registered"), path, value)
    assert not EVENT_VALIDATORS["lifeevents.birth.registered.v1"].is_valid(event)


@pytest.mark.parametrize(
    ("event_type", "name", "path", "value"),
    [
        ("lifeevents.address.changed.v1", "address-changed-household", "direction", "sideways"),
        ("lifeevents.address.changed.v1", "address-changed-household", "movers", []),
        ("lifeevents.address.changed.v1", "address-changed-household", "tenure", "squat"),
        ("lifeevents.address.changed.v1", "address-changed-household", "source_reference", ""),
        ("lifeevents.death.registered.v1", "death-registered", "deceased.date_of_death", None),
        ("lifeevents.death.registered.v1", "death-registered", "organisations_to_tell", ["x"]),
        ("lifeevents.death.registered.v1", "death-registered", "informant", _DELETE),
        (
            "lifeevents.death.registered.v1",
            "death-registered",
            "deceased.national_insurance_number",
            "QQ123456C",
        ),
    ],
)
def test_schema_rejects_invalid_payloads(event_type: str, name: str, path: str, value: Any) -> None:
    data = _set(example_event(name)["data"], path, value)
    assert not PAYLOAD_VALIDATORS[event_type].is_valid(data)


def test_payload_schema_ids_match_dataschema() -> None:
    for event_type, schema_validator in PAYLOAD_VALIDATORS.items():
        assert schema_validator.schema["$id"] == f"urn:lifeevents:schema:{event_type}"
