"""Small helpers shared by the contracts tests (imported as a plain module, see conftest)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from contracts.generate import CONTRACTS_DIR, SCHEMAS_DIR

EXAMPLES_DIR = CONTRACTS_DIR / "examples"
EXAMPLE_PATHS = sorted(EXAMPLES_DIR.glob("*.json"))


def example_event(name: str) -> dict[str, Any]:
    """A committed example as a structured-mode event (a fresh copy each call)."""
    document: dict[str, Any] = json.loads((EXAMPLES_DIR / f"{name}.json").read_text("utf-8"))
    return document


def example_data(name: str) -> dict[str, Any]:
    """Just the payload of a committed example (a fresh copy each call)."""
    data: dict[str, Any] = example_event(name)["data"]
    return data


def example_path(name: str) -> Path:
    return EXAMPLES_DIR / f"{name}.json"


# --- JSON Schemas and the rules they state ------------------------------------------------

DELETE = object()
"""A value for `changed`: take the key out."""


def schema_file(name: str) -> dict[str, Any]:
    """A committed schema under contracts/schemas/, by file name."""
    schema: dict[str, Any] = json.loads((SCHEMAS_DIR / name).read_text("utf-8"))
    return schema


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """An independent validator of the schema, formats checked."""
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def changed(document: Any, changes: dict[str, Any]) -> Any:
    """A copy with each dotted path set to its value (or deleted with `DELETE`)."""
    result = copy.deepcopy(document)
    for path, value in changes.items():
        *parents, last = path.split(".")
        target: Any = result
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is DELETE:
            target.pop(last, None)
        else:
            target[last] = value
    return result


def without_rule(node: Any, code: str) -> Any:
    """The schema with the ``allOf`` entry titled ``code`` taken out wherever it is."""
    if isinstance(node, list):
        return [without_rule(v, code) for v in node]
    if not isinstance(node, dict):
        return node
    result = {k: without_rule(v, code) for k, v in node.items()}
    if "allOf" in result:
        result["allOf"] = [e for e in result["allOf"] if e.get("title") != code]
    return result


def stated_rules(node: Any) -> set[str]:
    """Every rule code the schema states, as the titles of its ``allOf`` entries."""
    if isinstance(node, list):
        return set().union(*(stated_rules(v) for v in node))
    if not isinstance(node, dict):
        return set()
    titles = {entry["title"] for entry in node.get("allOf", ())}
    return titles.union(*(stated_rules(v) for v in node.values()))
