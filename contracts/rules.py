"""Model rules that JSON Schema can state, declared once for the validator and the schema.

A cross-field rule (a name needs one of its parts, a move needs the old address unless it
comes into the area...) is a :class:`Rule`: its stable code and fixed message are what the
model's validator raises (``rule.error()``), and its JSON Schema is what the generated
schema states, as one titled entry of the model's ``allOf`` (``stated(...)`` as the model's
``json_schema_extra``). Consumers in other languages then refuse what the models refuse,
and a violation's ``rule`` code names the ``allOf`` entry that says why.

The Python condition and the JSON Schema are still two spellings of one rule; the tests in
tests/contracts/test_schema_rules.py (events) and test_shape_rules.py (the other shapes)
hold them together. Rules on one value are stated where the value's schema is (a pattern,
a const, uniqueItems). Rules that JSON Schema cannot state (the clock, check digits,
comparing two fields' values, items unique by one of their properties) stay in the
validators only: they are ``MODEL_ONLY_RULES``, and each schema's description lists them
in words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticCustomError

from contracts.errors import rule_error

__all__ = [
    "MODEL_ONLY_RULES",
    "Rule",
    "absent",
    "any_present",
    "contains_any",
    "equals",
    "present",
    "stated",
    "unique",
    "unless",
    "when",
]

JsonSchema = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rule:
    """One model rule: the code and message a violation carries, and its JSON Schema."""

    code: str
    message: str
    schema: JsonSchema

    def error(self) -> PydanticCustomError:
        return rule_error(self.code, self.message)

    def json_schema(self) -> JsonSchema:
        # The title is the violation's rule code, so a schema's reader can find the rule a
        # rejection names; the compatibility check matches stated rules by it too.
        return {"title": self.code, "description": self.message, **self.schema}


def present(field: str) -> JsonSchema:
    """The field is there and not null (a model field that is ``None`` counts as absent)."""
    return {"required": [field], "properties": {field: {"not": {"type": "null"}}}}


def any_present(*fields: str) -> JsonSchema:
    """At least one of the fields is there and not null."""
    return {"anyOf": [present(field) for field in fields]}


def absent(field: str) -> JsonSchema:
    """The field is not there, or null (as a model field that is ``None``)."""
    return {"properties": {field: {"type": "null"}}}


def equals(field: str, value: Any) -> JsonSchema:
    """The field is there with exactly ``value``."""
    return {"required": [field], "properties": {field: {"const": value}}}


def contains_any(field: str, values: Iterable[Any]) -> JsonSchema:
    """The field is there, a list holding at least one of ``values``."""
    return {"required": [field], "properties": {field: {"contains": {"enum": list(values)}}}}


def unique(field: str) -> JsonSchema:
    """The field, when it is a list, holds no item twice."""
    return {"properties": {field: {"uniqueItems": True}}}


def when(condition: JsonSchema, then: JsonSchema, otherwise: JsonSchema) -> JsonSchema:
    """``then`` holds where ``condition`` does, ``otherwise`` elsewhere."""
    return {"if": condition, "then": then, "else": otherwise}


def unless(field: str, value: Any, then: JsonSchema) -> JsonSchema:
    """``then`` holds unless ``field`` is there with exactly ``value``."""
    return {"if": equals(field, value), "else": then}


def stated(*rules: Rule) -> Callable[[JsonSchema], None]:
    """A model's ``json_schema_extra``: its rules, appended to the schema's ``allOf``."""

    def extend(schema: JsonSchema) -> None:
        schema.setdefault("allOf", []).extend(rule.json_schema() for rule in rules)

    return extend


# Every rule code a model raises that its JSON Schema does not (fully) state, and why not.
# An event valid by the schema can still break these, and only these.
MODEL_ONLY_RULES: Mapping[str, str] = {
    "date_in_future": "the clock: 'today' changes, a static schema does not",
    "move_date_too_old": "the clock",
    "move_date_too_far_ahead": "the clock",
    "registered_before_event": "compares two fields' values, which JSON Schema cannot",
    "parent_born_after_child": "compares two fields' values",
    "death_before_birth": "compares two fields' values",
    "mover_born_after_move": "compares two fields' values",
    "same_address": "compares two fields' values",
    "nhs_number_check_digit": "modulus 11 arithmetic (the format is in the pattern)",
    "email": "the e-mail address grammar of email-validator (format: email is looser)",
    "phone": "real numbering plans (the E.164 shape is in the pattern)",
    "subject_not_opaque": "refuses NHS numbers (modulus 11) and NI numbers written any way",
    "name_characters": "unassigned code points depend on the Unicode version, and private "
    "use beyond the basic plane needs dialect-specific escapes (the rest is in the pattern)",
    "resident_repeated": "unique by one property of the items: uniqueItems compares whole "
    "items, so the schema says only that no two shares are equal",
    "consent_expiry": "compares two fields' values",
    "given_in_future": "the clock",
    "amends_another_source": "compares two values (the envelope's source and the source of "
    "the event withdrawn or corrected)",
}
