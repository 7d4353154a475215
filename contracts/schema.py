"""JSON Schema (draft 2020-12) for each event type, as published to other languages.

Two documents per type: the payload (``data``, the Kafka value in binary mode) and the
whole structured-mode event. They describe structure, formats and canonical forms, and every
model rule that JSON Schema can state (see ``contracts.rules``); the rules it cannot (the
clock, check digits, comparing two fields' values) are checked by the models and listed in
each schema's description.
"""

from __future__ import annotations

from typing import Any

from contracts.cloudevents import event_model
from contracts.registry import EVENT_TYPES, payload_model, schema_uri

__all__ = ["DIALECT", "envelope_schema", "envelope_schema_uri", "payload_schema", "schema_files"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def payload_schema(event_type: str) -> dict[str, Any]:
    model = payload_model(event_type)
    body = model.model_json_schema(mode="validation")
    return {
        "$schema": DIALECT,
        "$id": schema_uri(event_type),
        **body,
        "title": event_type,
        "description": (model.__doc__ or "").strip()
        + " Checked by the models beyond this schema: "
        + _model_rules(model.__module__),
    }


def envelope_schema_uri(event_type: str) -> str:
    return f"{schema_uri(event_type)}:cloudevent"


def envelope_schema(event_type: str) -> dict[str, Any]:
    body = event_model(event_type).model_json_schema(mode="validation")
    properties = body["properties"]
    # Pin the attributes that a generic envelope leaves open to this one type.
    properties["type"] = {"const": event_type, "title": "Type"}
    # The CloudEvents JSON format (1.0.2, section 2.2) reads a null attribute as an absent
    # one, and so does the model: the schema says so.
    properties["dataschema"] = {
        "anyOf": [{"const": schema_uri(event_type)}, {"type": "null"}],
        "title": "Dataschema",
        "description": properties["dataschema"].get("description", ""),
    }
    return {
        "$schema": DIALECT,
        "$id": envelope_schema_uri(event_type),
        **body,
        "title": f"{event_type} (CloudEvents 1.0, structured mode)",
    }


_COMMON_RULES = (
    "dates of birth, registration and event dates not in the future; e-mail and phone "
    "numbers valid (phone normalised to E.164); NHS numbers pass the modulus 11 check; "
    "names free of unassigned characters and of private use beyond the basic plane"
)
_RULES = {
    "contracts.events.birth": "parents born before the child; registered on or after the birth",
    "contracts.events.move": "move_date within the last 6 years and at most 180 days "
    "ahead; old and new address differ; movers born on or before move_date",
    "contracts.events.death": "date_of_death on or after date_of_birth; registered on or "
    "after the death",
}


def _model_rules(module: str) -> str:
    return f"{_RULES.get(module, '')}; {_COMMON_RULES}."


def schema_files() -> dict[str, dict[str, Any]]:
    """File name (under contracts/schemas/) → schema, for every registered type."""
    files: dict[str, dict[str, Any]] = {}
    for event_type in sorted(EVENT_TYPES):
        files[f"{event_type}.json"] = payload_schema(event_type)
        files[f"{event_type}.cloudevent.json"] = envelope_schema(event_type)
    return files
