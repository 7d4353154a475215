"""The compatibility checker itself, against deliberate breaking and harmless changes."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from contracts.compat import check_compatibility
from contracts.generate import PUBLISHED_DIR
from contracts.shapes import SHAPES

BIRTH = "lifeevents.birth.registered.v1.json"
MOVE = "lifeevents.address.changed.v1.json"
DEATH = "lifeevents.death.registered.v1.json"


def published(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((PUBLISHED_DIR / name).read_text("utf-8"))
    return schema


def changed(name: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    schema = copy.deepcopy(published(name))
    change(schema)
    return schema


def _remove_field(s: dict[str, Any]) -> None:
    del s["$defs"]["Child"]["properties"]["nhs_number"]


def _require_field(s: dict[str, Any]) -> None:
    s["$defs"]["Child"]["required"].append("nhs_number")


def _add_required_field(s: dict[str, Any]) -> None:
    s["$defs"]["Child"]["properties"]["weight_grams"] = {"type": "integer"}
    s["$defs"]["Child"]["required"].append("weight_grams")


def _add_optional_field(s: dict[str, Any]) -> None:
    s["$defs"]["Child"]["properties"]["weight_grams"] = {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "default": None,
    }


def _narrow_enum(s: dict[str, Any]) -> None:
    s["$defs"]["Child"]["properties"]["sex"]["enum"] = ["male", "female"]


def _widen_enum(s: dict[str, Any]) -> None:
    s["$defs"]["Child"]["properties"]["sex"]["enum"].append("unknown")


def _narrow_length(s: dict[str, Any]) -> None:
    s["$defs"]["Registration"]["properties"]["entry_reference"]["maxLength"] = 20


def _narrow_type_drop_null(s: dict[str, Any]) -> None:
    s["$defs"]["Child"]["properties"]["nhs_number"] = s["$defs"]["Child"]["properties"][
        "nhs_number"
    ]["anyOf"][0]


def _change_type(s: dict[str, Any]) -> None:
    s["$defs"]["UkAddress"]["properties"]["uprn"]["anyOf"][0] = {"type": "integer"}


def _change_pattern(s: dict[str, Any]) -> None:
    s["$defs"]["UkAddress"]["properties"]["postcode"]["pattern"] = "^[A-Z0-9 ]+$"


def _allow_extra(s: dict[str, Any]) -> None:
    s["$defs"]["PersonName"]["additionalProperties"] = True


def _raise_max_items(s: dict[str, Any]) -> None:
    s["properties"]["parents"]["maxItems"] = 3


def _state_rule(s: dict[str, Any]) -> None:
    s["$defs"]["Child"]["allOf"] = [{"title": "nhs_number_required", "required": ["nhs_number"]}]


def _unstate_rule(s: dict[str, Any]) -> None:
    del s["$defs"]["PersonName"]["allOf"]


def _change_rule(s: dict[str, Any]) -> None:
    s["$defs"]["PersonName"]["allOf"][0]["anyOf"].pop()


def _add_pattern(s: dict[str, Any]) -> None:
    s["$defs"]["ContactDetails"]["properties"]["email"]["anyOf"][0]["pattern"] = "@"


def _remove_pattern(s: dict[str, Any]) -> None:
    del s["$defs"]["Registration"]["properties"]["district"]["pattern"]


@pytest.mark.parametrize(
    ("change", "expected_path", "expected_change", "breaks"),
    [
        (_remove_field, "$.child.nhs_number", "field removed", "both"),
        (_require_field, "$.child.nhs_number", "field became required", "producers"),
        (_add_required_field, "$.child.weight_grams", "required field added", "both"),
        (_add_optional_field, "$.child.weight_grams", "optional field added", "consumers"),
        (_narrow_enum, "$.child.sex", "values removed: ['indeterminate']", "producers"),
        (_widen_enum, "$.child.sex", "values added: ['unknown']", "consumers"),
        (
            _narrow_length,
            "$.registration.entry_reference",
            "maxLength tightened from 64 to 20",
            "producers",
        ),
        (_narrow_type_drop_null, "$.child.nhs_number", "alternative 'null' removed", "producers"),
        (_change_type, "$.parents[].address.uprn", "alternative 'string' removed", "producers"),
        (_allow_extra, "$.child.name", "additionalProperties changed", "both"),
        (_raise_max_items, "$.parents", "maxItems loosened from 2 to 3", "consumers"),
        (_state_rule, "$.child", "rule 'nhs_number_required' stated", "producers"),
        (_unstate_rule, "$.child.name", "rule 'name_required' no longer stated", "consumers"),
        (_change_rule, "$.child.name", "rule 'name_required' changed", "both"),
        (_add_pattern, "$.parents[].contact.email", "pattern '@' added", "producers"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_breaking_changes_are_reported(
    change: Callable[[dict[str, Any]], None], expected_path: str, expected_change: str, breaks: str
) -> None:
    found = check_compatibility(published(BIRTH), changed(BIRTH, change))
    assert any(
        i.path == expected_path and i.change == expected_change and i.breaks == breaks
        for i in found
    ), [str(i) for i in found]


def test_pattern_removal_is_reported() -> None:
    found = check_compatibility(published(BIRTH), changed(BIRTH, _remove_pattern))
    assert [(i.path, i.breaks) for i in found] == [("$.registration.district", "consumers")]
    assert found[0].change.startswith("pattern ")
    assert found[0].change.endswith(" removed")


def test_a_const_or_null_is_compared_by_its_alternatives() -> None:
    envelope = "lifeevents.birth.registered.v1.cloudevent.json"

    def no_null(s: dict[str, Any]) -> None:
        s["properties"]["dataschema"]["anyOf"].pop()

    def other_urn(s: dict[str, Any]) -> None:
        s["properties"]["dataschema"]["anyOf"][0]["const"] = "urn:other"

    found = {str(i) for i in check_compatibility(published(envelope), changed(envelope, no_null))}
    assert found == {"$.dataschema: alternative 'null' removed (breaks existing producers)"}
    found = {str(i) for i in check_compatibility(published(envelope), changed(envelope, other_urn))}
    assert (
        "$.dataschema: values removed: ['urn:lifeevents:schema:lifeevents.birth.registered.v1']"
        " (breaks existing producers)" in found
    )


def test_pattern_change_is_reported() -> None:
    found = check_compatibility(published(BIRTH), changed(BIRTH, _change_pattern))
    assert found
    assert all("pattern changed" in i.change for i in found)


def test_moved_death_fields_are_reported() -> None:
    def rename(s: dict[str, Any]) -> None:
        props = s["$defs"]["Deceased"]["properties"]
        props["died_on"] = props.pop("date_of_death")
        s["$defs"]["Deceased"]["required"] = [
            "died_on" if r == "date_of_death" else r for r in s["$defs"]["Deceased"]["required"]
        ]

    found = {str(i) for i in check_compatibility(published(DEATH), changed(DEATH, rename))}
    assert "$.deceased.date_of_death: field removed (breaks existing both)" in found
    assert "$.deceased.died_on: required field added (breaks existing both)" in found


@pytest.mark.parametrize("name", [BIRTH, MOVE, DEATH])
def test_identical_and_reworded_schemas_are_compatible(name: str) -> None:
    assert check_compatibility(published(name), published(name)) == []

    def reword(s: dict[str, Any]) -> None:
        s["description"] = "Reworded."
        s["title"] = "Another title"
        for definition in s["$defs"].values():
            definition["description"] = "Reworded too."
            for rule in definition.get("allOf", ()):
                rule["description"] = "A rule, reworded."

    assert check_compatibility(published(name), changed(name, reword)) == []


# --- the shapes: the same check, the same promise -----------------------------------------

ACTION = "lifeevents.action.service-action.v1"
OUTCOME = "lifeevents.action.outcome.v1"
PREFERENCES = "lifeevents.residents.preference-update.v1"


def test_every_published_shape_is_compatible_with_itself_reworded() -> None:
    def reword(s: dict[str, Any]) -> None:
        s["description"] = "Reworded."
        for definition in s.get("$defs", {}).values():
            definition["description"] = "Reworded too."

    for name in SHAPES:
        assert check_compatibility(published(f"{name}.json"), changed(f"{name}.json", reword)) == []


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        (
            ACTION,
            lambda s: s["$defs"]["ResidentShare"]["properties"].pop("share_token"),
            "$.shares[].share_token: field removed (breaks existing both)",
        ),
        (
            ACTION,
            lambda s: s["properties"]["shares"].pop("uniqueItems"),
            "$.shares: uniqueItems changed from True to None (breaks existing both)",
        ),
        (
            OUTCOME,
            lambda s: s["properties"]["references"].update(
                additionalProperties={"type": "integer"}
            ),
            "$.references.*: type changed from ['string'] to ['integer'] (breaks existing both)",
        ),
        (
            OUTCOME,
            lambda s: s["properties"]["references"].update(additionalProperties=False),
            "$.references: additionalProperties changed (breaks existing both)",
        ),
        (
            PREFERENCES,
            lambda s: s.pop("allOf"),
            "$: rule 'duplicate_channel' no longer stated (breaks existing consumers)",
        ),
    ],
)
def test_breaking_a_shape_is_reported(
    name: str, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    found = check_compatibility(published(f"{name}.json"), changed(f"{name}.json", change))
    assert expected in {str(i) for i in found}, [str(i) for i in found]
