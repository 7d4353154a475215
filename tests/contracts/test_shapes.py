"""The shapes that cross processes besides the events: registered, named, published, valid.

Every model that crosses a process boundary (an activity's input or result, a workflow's
query, update or result, a consent API body, a `consent.v1` record) is a registered shape
with a JSON Schema, or a part published inside one, or says why it is neither. Each shape's
example is valid for both its schema (an independent validator, jsonschema) and its model,
and what the model sends is valid for the schema too.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import TypeAdapter, ValidationError
from shape_examples import EXAMPLES, example

from contracts.base import ContractModel
from contracts.generate import PUBLISHED_DIR, SCHEMAS_DIR
from contracts.registry import EVENT_TYPES
from contracts.rules import MODEL_ONLY_RULES
from contracts.shapes import (
    NOT_SHAPES,
    PARTS,
    RETIRED,
    SHAPE_NAME_PATTERN,
    SHAPES,
    shape,
    shape_name,
    shape_schema_uri,
)
from contracts.shares import DataCategory

# The modules whose models cross processes besides the events'.
SHAPE_MODULES = [
    "contracts.consent",
    "contracts.actions",
    "contracts.shares",
    "contracts.residents",
    "contracts.notifications",
    "contracts.plan",
    "contracts.timeline",
    "contracts.partners",
]
NAMES = sorted(SHAPES)


def schema_of(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS_DIR / f"{name}.json").read_text("utf-8"))
    return schema


def validator(name: str) -> Draft202012Validator:
    schema = schema_of(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _models(module_name: str) -> dict[str, type[ContractModel]]:
    """The contract models a module defines (its own, not the ones it imports)."""
    module = importlib.import_module(module_name)
    return {
        name: value
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, ContractModel)
        and value.__module__ == module_name
    }


# --- registered -------------------------------------------------------------------------


@pytest.mark.parametrize("module_name", SHAPE_MODULES)
def test_every_model_that_crosses_a_process_is_registered(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = {
        name
        for name in module.__all__
        if inspect.isclass(value := getattr(module, name)) and issubclass(value, ContractModel)
    }
    # None is kept out of __all__ (and so out of this test) by accident.
    assert set(_models(module_name)) <= exported
    registered = {s.type for s in SHAPES.values()}
    for name in sorted(exported):
        model = getattr(module, name)
        assert (model in registered) + (model in PARTS) + (model in NOT_SHAPES) == 1, (
            f"{module_name}.{name} crosses a process: register it in contracts.shapes "
            "(or say in PARTS what carries it, or in NOT_SHAPES why it crosses nothing)"
        )


@pytest.mark.parametrize("part", list(PARTS), ids=lambda m: m.__name__)
def test_a_part_is_published_in_the_shape_that_carries_it(part: type[ContractModel]) -> None:
    carrier = schema_of(PARTS[part])
    assert carrier["$defs"][part.__name__]["title"] == part.__name__
    assert carrier["$defs"][part.__name__]["properties"].keys() == part.model_fields.keys()


def test_the_exclusions_say_why() -> None:
    assert all(len(why) > 20 for why in NOT_SHAPES.values())


def test_data_categories_are_a_shape() -> None:
    assert shape_name(DataCategory) == "lifeevents.share.data-category.v1"
    assert schema_of("lifeevents.share.data-category.v1")["enum"] == [c.value for c in DataCategory]


# --- named ------------------------------------------------------------------------------


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


@pytest.mark.parametrize("name", NAMES)
def test_names_follow_the_convention(name: str) -> None:
    assert re.fullmatch(SHAPE_NAME_PATTERN, name)
    assert name not in EVENT_TYPES
    _, group, part, version = name.split(".")
    if version != "v1":  # a later version only where it replaced the one before, retired
        assert RETIRED[f"lifeevents.{group}.{part}.v{int(version[1:]) - 1}"] == name
    # Groups are ours; none is the first word of a life-event type.
    assert group in {
        "consent",
        "action",
        "share",
        "residents",
        "notifications",
        "workflow",
        "partner",
    }
    assert group not in {event_type.split(".")[1] for event_type in EVENT_TYPES}
    model = shape(name).type
    if group == "share" and model is not DataCategory:
        # The data of one category, named by it: the key it has in ResidentShare.data; a
        # category with a second form is named by the form too (`home-address`).
        category = part.rsplit("-", 1)[-1]
        assert category in {c.value for c in DataCategory}
        assert inspect.getdoc(model).startswith(f"`{category}`")  # type: ignore[union-attr]
    else:
        # The model's name, without the group's word where the name starts with it.
        assert part == _kebab(model.__name__).removeprefix(f"{group}-")


def test_one_name_per_model() -> None:
    models = [s.type for s in SHAPES.values()]
    assert len(models) == len(set(models))
    assert all(shape_name(s.type) == name for name, s in SHAPES.items())


def test_an_unknown_shape_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        shape("lifeevents.consent.share-request.v9")
    with pytest.raises(KeyError):
        shape_schema_uri("lifeevents.birth.registered.v1")


# --- published --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_shape_has_a_schema_and_a_published_snapshot(name: str) -> None:
    schema = schema_of(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == shape_schema_uri(name) == f"urn:lifeevents:schema:{name}"
    assert schema["title"] == name
    assert schema["description"]
    assert (PUBLISHED_DIR / f"{name}.json").exists()


@pytest.mark.parametrize("name", NAMES)
def test_the_model_only_rules_are_listed_in_the_description(name: str) -> None:
    registered = shape(name)
    assert set(registered.model_only) <= MODEL_ONLY_RULES.keys()
    schema = schema_of(name)
    defs = schema.get("$defs", {})
    fields = _fields(schema)
    # The building blocks bring their own model-only rules with them.
    expected = set()
    if "PersonName" in defs:
        expected.add("name_characters")
    if "ContactDetails" in defs:
        expected |= {"email", "phone"}
    if "nhs_number" in fields:
        expected.add("nhs_number_check_digit")
    if any("not in the future" in json.dumps(field) for field in fields.values()):
        expected.add("date_in_future")
    assert expected <= set(registered.model_only)
    if registered.model_only:
        assert "Checked by the model beyond this schema: " in schema["description"]


def _fields(node: Any) -> dict[str, Any]:
    """Every property schema anywhere in a schema, by the property's name."""
    found: dict[str, Any] = {}
    if isinstance(node, list):
        for item in node:
            found |= _fields(item)
    elif isinstance(node, dict):
        properties = node.get("properties", {})
        for value in node.values():
            found |= _fields(value)
        found |= properties
    return found


# --- valid ------------------------------------------------------------------------------


def test_every_shape_has_an_example() -> None:
    assert set(EXAMPLES) == set(SHAPES)


@pytest.mark.parametrize("name", NAMES)
def test_the_example_is_valid_for_schema_and_model(name: str) -> None:
    data = example(name)
    validator(name).validate(data)
    adapter: TypeAdapter[Any] = TypeAdapter(shape(name).type)
    value = adapter.validate_json(json.dumps(data))
    # What the model sends (a Temporal payload, an HTTP answer, a Kafka value) is valid too.
    validator(name).validate(json.loads(adapter.dump_json(value)))


@pytest.mark.parametrize("name", [n for n in NAMES if isinstance(EXAMPLES[n], dict)])
def test_an_unknown_field_is_refused_by_both(name: str) -> None:
    data = {**example(name), "surplus": "x"}
    assert not validator(name).is_valid(data)
    with pytest.raises(ValidationError):
        TypeAdapter(shape(name).type).validate_json(json.dumps(data))
