"""The committed JSON Schemas and the models agree on every rule the schemas state.

For each rule: an event that keeps it is valid for both, and one that breaks it is refused
by both: by the model with that rule's code, by the schema because of that rule (without
the rule's ``allOf`` entry the schema would take it; a pattern fails on that very field).
Every rule of the event contracts is either stated or model-only. A property test then
breaks the stated cross-field rules at random in generated valid payloads, and the schema
and the model must still agree on every one. The rules no JSON Schema can state are
``contracts.rules.MODEL_ONLY_RULES``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from payload_strategies import contract_settings, typed_payloads
from tests_contracts_support import (
    DELETE,
    changed,
    example_data,
    example_event,
    schema_file,
    stated_rules,
    validator,
    without_rule,
)

from contracts import ContractViolation, from_structured, parse_payload, to_structured
from contracts.generate import CONTRACTS_DIR
from contracts.registry import EVENT_TYPES, schema_uri
from contracts.rules import MODEL_ONLY_RULES

BIRTH = "lifeevents.birth.registered.v1"
MOVE = "lifeevents.address.changed.v1"
DEATH = "lifeevents.death.registered.v1"


PAYLOAD_SCHEMAS = {t: schema_file(f"{t}.json") for t in EVENT_TYPES}
PAYLOADS = {t: validator(s) for t, s in PAYLOAD_SCHEMAS.items()}
EVENTS = {t: validator(schema_file(f"{t}.cloudevent.json")) for t in EVENT_TYPES}

# The modules whose models make up the events' schemas, besides contracts/events/.
EVENT_MODULES = ["people.py", "addresses.py", "dates.py", "identifiers.py", "cloudevents.py"]


def _model_rules(event_type: str, data: dict[str, Any]) -> set[str]:
    """The rule codes the model refuses ``data`` for (empty when it takes it)."""
    try:
        parse_payload(event_type, data)
    except ContractViolation as violation:
        return {v.rule for v in violation.violations}
    return set()


# --- the rules stated as allOf entries ---------------------------------------------------

# (rule code, event type, example, changes that keep the rule, changes that break it)
STATED = [
    (
        "name_required",
        DEATH,
        "death-registered",
        {"deceased.name": {"family_name": "Testworth"}},
        {"deceased.name": {}},
    ),
    (
        "name_required",
        DEATH,
        "death-registered",
        {"deceased.name": {"given_names": "Imaginary", "family_name": None}},
        {"deceased.name": {"given_names": None, "family_name": None}},
    ),
    (
        "contact_required",
        DEATH,
        "death-registered",
        {"informant.contact": {"phone": "+442079460007"}},
        {"informant.contact": {}},
    ),
    (
        "contact_required",
        DEATH,
        "death-registered",
        {"informant.contact": {"email": None, "phone": "+442079460007"}},
        {"informant.contact": {"email": None, "phone": None}},
    ),
    (
        "parent_or_informant_required",
        BIRTH,
        "birth-registered",
        {"parents": []},
        {"parents": [], "informant": DELETE},
    ),
    (
        "parent_or_informant_required",
        BIRTH,
        "birth-registered",
        {"informant": None},
        {"parents": DELETE, "informant": None},
    ),
    (
        "old_address_required",
        MOVE,
        "address-changed-household",
        {"direction": "into", "old_address": DELETE},
        {"direction": "within", "old_address": DELETE},
    ),
    (
        "old_address_required",
        MOVE,
        "address-changed-household",
        {"direction": "into", "old_address": None},
        {"direction": "out_of", "old_address": None},
    ),
    (
        "new_address_required",
        MOVE,
        "address-changed-household",
        {"direction": "out_of", "new_address": DELETE},
        {"direction": "into", "new_address": DELETE},
    ),
    (
        "new_address_required",
        MOVE,
        "address-changed-out-of-area",
        {"new_address": None},
        {"direction": "within", "new_address": None},
    ),
    (
        "duplicate_organisation",
        DEATH,
        "death-registered",
        {"organisations_to_tell": ["dwp", "hmrc"]},
        {"organisations_to_tell": ["dwp", "hmrc", "dwp"]},
    ),
]


@pytest.mark.parametrize(
    ("code", "event_type", "example", "keeps", "breaks"),
    STATED,
    ids=[f"{case[0]}-{i}" for i, case in enumerate(STATED)],
)
def test_a_stated_rule_is_kept_and_broken_alike(
    code: str, event_type: str, example: str, keeps: dict[str, Any], breaks: dict[str, Any]
) -> None:
    schema = PAYLOADS[event_type]
    kept = changed(example_data(example), keeps)
    assert schema.is_valid(kept), [e.message for e in schema.iter_errors(kept)]
    assert _model_rules(event_type, kept) == set()

    broken = changed(example_data(example), breaks)
    assert not schema.is_valid(broken)
    assert _model_rules(event_type, broken) == {code}
    # ... and it is that rule which refuses it in the schema.
    assert validator(without_rule(PAYLOAD_SCHEMAS[event_type], code)).is_valid(broken)


def test_every_stated_rule_is_tested_here_and_none_is_model_only() -> None:
    stated = stated_rules(list(PAYLOAD_SCHEMAS.values()))
    assert stated == {case[0] for case in STATED}
    assert not stated & MODEL_ONLY_RULES.keys()


# Rules on one value, stated where the value's schema is: a pattern or a const.
STATED_ON_THE_VALUE = {
    "postcode": "the postcode pattern",
    "nhs_number_format": "the NHS number pattern",
    "ni_number_format": "the NI number pattern",
    "ni_number_prefix": "the NI number pattern",
    "date_of_birth_too_early": "the date of birth pattern",
    "type_mismatch": "type is a const per event type, data that type's payload",
    "dataschema_mismatch": "dataschema is that type's URN (or null)",
}
_EVENT_CONTRACTS = [
    *(CONTRACTS_DIR / name for name in EVENT_MODULES),
    *sorted((CONTRACTS_DIR / "events").glob("*.py")),
]


def test_every_rule_of_the_event_contracts_is_stated_or_model_only() -> None:
    raised = set()
    for module in _EVENT_CONTRACTS:
        raised |= set(re.findall(r'rule_error\(\s*"([a-z_]+)"', module.read_text("utf-8")))
    stated = stated_rules(list(PAYLOAD_SCHEMAS.values()))
    unclassified = raised - stated - STATED_ON_THE_VALUE.keys() - MODEL_ONLY_RULES.keys()
    assert not unclassified, "state these rules in the schema, or say why they cannot be"
    assert not STATED_ON_THE_VALUE.keys() & MODEL_ONLY_RULES.keys()


# --- the rules stated as patterns -------------------------------------------------------

# (path in a death event, a value both take, a value both refuse, the model's rule)
PATTERNS = [
    # Names: no control characters, not white space only.
    ("deceased.name.given_names", "Zoë\u200c", "Zo\x00e", "name_characters"),
    ("deceased.name.given_names", " Ann ", "An\u2028n", "name_characters"),
    ("deceased.name.family_name", "O'Neil", "\ue000", "name_characters"),
    ("deceased.name.family_name", "\u3000Li", " \u3000 ", "too_short"),
    # Every other required string is stripped, so white space only is empty.
    ("deceased.last_address.town", " Exampletown ", "  ", "string_too_short"),
    ("informant.relationship", "daughter", "\t\n", "string_too_short"),
    ("registration.district", "Exampletown", "\u00a0", "string_too_short"),
    # Nobody is born before 1880.
    ("deceased.date_of_birth", "1880-01-01", "1879-12-31", "date_of_birth_too_early"),
]


@pytest.mark.parametrize(
    ("path", "good", "bad", "rule"), PATTERNS, ids=[f"{p[0]}-{p[3]}" for p in PATTERNS]
)
def test_a_stated_pattern_is_kept_and_broken_alike(
    path: str, good: str, bad: str, rule: str
) -> None:
    schema = PAYLOADS[DEATH]
    kept = changed(example_data("death-registered"), {path: good})
    assert schema.is_valid(kept), [e.message for e in schema.iter_errors(kept)]
    assert _model_rules(DEATH, kept) == set()

    broken = changed(example_data("death-registered"), {path: bad})
    errors = list(schema.iter_errors(broken))
    assert [".".join(map(str, e.absolute_path)) for e in errors] == [path]
    # Optional fields are "X or null": the string branch fails on its pattern.
    leaves = errors + [inner for e in errors for inner in e.context or ()]
    assert "pattern" in {e.validator for e in leaves}
    assert _model_rules(DEATH, broken) == {rule}


@pytest.mark.parametrize("unassigned", ["\u0378", "\U000e0080", "\U000f0000"])
def test_what_a_name_pattern_cannot_say_is_the_models_alone(unassigned: str) -> None:
    # Unassigned code points and private use beyond the basic plane: the schema takes them,
    # the model does not (MODEL_ONLY_RULES says why).
    data = changed(example_data("death-registered"), {"deceased.name.given_names": unassigned})
    assert PAYLOADS[DEATH].is_valid(data)
    assert _model_rules(DEATH, data) == {"name_characters"}
    assert "name_characters" in MODEL_ONLY_RULES


# --- dataschema: null is absent ---------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_a_null_dataschema_is_an_absent_one_for_both(event_type: str) -> None:
    example = {
        BIRTH: "birth-registered",
        MOVE: "address-changed-household",
        DEATH: "death-registered",
        "lifeevents.event.withdrawn.v1": "event-withdrawn",
        "lifeevents.event.corrected.v1": "event-corrected",
    }[event_type]
    event = example_event(example)
    for changes in ({"dataschema": None}, {"dataschema": DELETE}):
        document = changed(event, changes)
        assert EVENTS[event_type].is_valid(document)
        parsed = from_structured(document)
        assert parsed.dataschema is None
        # Sent on without it: CloudEvents attributes are absent rather than null.
        assert "dataschema" not in json.loads(to_structured(parsed))
    given = from_structured(changed(event, {"dataschema": schema_uri(event_type)}))
    assert given.dataschema == schema_uri(event_type)


@pytest.mark.parametrize("value", ["", "urn:lifeevents:schema:other.v1", 1])
def test_any_other_dataschema_is_refused_by_both(value: object) -> None:
    document = changed(example_event("death-registered"), {"dataschema": value})
    assert not EVENTS[DEATH].is_valid(document)
    with pytest.raises(ContractViolation) as refused:
        from_structured(document)
    assert [v.loc for v in refused.value.violations] in (["dataschema"], ["<root>"])


# --- the same, at random ----------------------------------------------------------------

_GONE = st.sampled_from(["keep", "drop", "null"])
NAME_PARTS = frozenset({"given_names", "family_name"})
CONTACT_WAYS = frozenset({"email", "phone"})


def _knock(draw: st.DrawFn, node: dict[str, Any], key: str) -> None:
    how = draw(_GONE)
    if how == "drop":
        node.pop(key, None)
    elif how == "null":
        node[key] = None


@st.composite
def _rules_at_risk(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A valid payload with some of the stated cross-field rules put at risk: name parts,
    contact ways, parents, informant and addresses dropped or nulled, directions changed,
    organisations repeated. Nothing else is touched, so only stated rules can break."""
    event_type, data = draw(typed_payloads)
    # One family of rules at a time too, so that one break is not always hidden by another.
    at_risk = draw(st.sets(st.sampled_from(["names", "contacts", "event"]), min_size=1))

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
            return
        if not isinstance(node, dict):
            return
        for value in list(node.values()):
            visit(value)
        for family, keys in (("names", NAME_PARTS), ("contacts", CONTACT_WAYS)):
            if family in at_risk and keys & node.keys() and draw(st.booleans()):
                for key in sorted(keys):
                    _knock(draw, node, key)

    visit(data)
    if "event" not in at_risk:
        return event_type, data
    if event_type == BIRTH:
        parents = draw(st.sampled_from(["keep", "empty", "drop"]))
        if parents == "empty":
            data["parents"] = []
        elif parents == "drop":
            data.pop("parents", None)
        _knock(draw, data, "informant")
    elif event_type == MOVE:
        data["direction"] = draw(st.sampled_from(["into", "within", "out_of"]))
        _knock(draw, data, "old_address")
        _knock(draw, data, "new_address")
    elif event_type == DEATH and data["organisations_to_tell"] and draw(st.booleans()):
        data["organisations_to_tell"].append(data["organisations_to_tell"][0])
    return event_type, data


@contract_settings
@given(typed=_rules_at_risk())
def test_schema_and_model_agree_on_thestated_rules(typed: tuple[str, dict[str, Any]]) -> None:
    event_type, data = typed
    refused_by_model = _model_rules(event_type, data)
    errors = [e.message for e in PAYLOADS[event_type].iter_errors(data)]
    assert bool(errors) == bool(refused_by_model), (refused_by_model, errors)
    assert not refused_by_model & MODEL_ONLY_RULES.keys()
