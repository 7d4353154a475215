"""JSON Schema (draft 2020-12) for each event type and shape, as published to other languages.

Two documents per event type: the payload (``data``, the Kafka value in binary mode) and the
whole structured-mode event; one per shape (``contracts.shapes``). They describe structure,
formats and canonical forms, and every model rule that JSON Schema can state (see
``contracts.rules``); the rules it cannot (the clock, check digits, comparing two fields'
values) are checked by the models and listed in each schema's description.
"""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import TypeAdapter

from contracts.cloudevents import event_model
from contracts.registry import EVENT_TYPES, payload_model, schema_uri
from contracts.rules import MODEL_ONLY_RULES
from contracts.shapes import SHAPES, shape, shape_schema_uri

__all__ = [
    "DIALECT",
    "envelope_schema",
    "envelope_schema_uri",
    "payload_schema",
    "schema_files",
    "shape_schema",
]

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


# What each model-only rule a shape's model checks says, for the shape's description.
_CHECKS = {
    "date_in_future": "no date of birth or of death in the future",
    "nhs_number_check_digit": "NHS numbers pass the modulus 11 check",
    "email": "e-mail addresses valid",
    "phone": "phone numbers valid (normalised to E.164)",
    "name_characters": "names free of unassigned characters and of private use beyond the "
    "basic plane",
    "resident_repeated": "each resident has one share (the schema says only that no two "
    "shares are equal)",
    "consent_expiry": "expires_at after given_at",
    "given_in_future": "given_at not in the future (up to 5 minutes of clock skew taken)",
}


def shape_schema(name: str) -> dict[str, Any]:
    registered = shape(name)
    body = TypeAdapter(registered.type).json_schema(mode="validation")
    # One paragraph, as the events' descriptions are.
    description = " ".join(inspect.cleandoc(registered.type.__doc__ or "").split("\n"))
    checks = []
    for code in registered.model_only:
        if code not in MODEL_ONLY_RULES:
            raise ValueError(f"{name}: {code} is not a model-only rule")
        checks.append(_CHECKS[code])
    if checks:
        description += " Checked by the model beyond this schema: " + "; ".join(checks) + "."
    return {
        "$schema": DIALECT,
        "$id": shape_schema_uri(name),
        **body,
        "title": name,
        "description": description.strip(),
    }


def schema_files() -> dict[str, dict[str, Any]]:
    """File name (under contracts/schemas/) → schema, for every event type and shape."""
    files: dict[str, dict[str, Any]] = {}
    for event_type in sorted(EVENT_TYPES):
        files[f"{event_type}.json"] = payload_schema(event_type)
        files[f"{event_type}.cloudevent.json"] = envelope_schema(event_type)
    for name in sorted(SHAPES):
        files[f"{name}.json"] = shape_schema(name)
    return files
