"""The one model configuration every contract model shares, and what its schema says of it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = ["WHITE_SPACE", "ContractModel"]

# The characters a model strips from both ends of every string (Unicode White_Space, which
# is what pydantic-core trims), spelled so that every regex dialect reads them alike.
WHITE_SPACE = r"\x09-\x0d\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# A string with something other than white space in it.
_NOT_BLANK = f"[^{WHITE_SPACE}]"
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "prefixItems")


class ContractModel(BaseModel):
    """Strict, immutable, and quiet about its inputs.

    ``extra="forbid"`` so a typo or an unagreed field is an error rather than silently lost;
    ``frozen`` so an event cannot be altered after validation; ``hide_input_in_errors`` so
    that even a raw ``ValidationError`` printed by accident does not show personal data.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
        str_strip_whitespace=True,
        validate_default=True,
    )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # Whoever asks for the schema (contracts.schema, FastAPI, FastStream), it says what
        # str_strip_whitespace means: a model strips a string before checking its length,
        # so a non-empty string of white space only is refused.
        json_schema = handler(core_schema)
        _state_stripping(handler.resolve_ref_schema(json_schema))
        return json_schema


def _state_stripping(node: Any) -> None:
    """Add the not-blank pattern to this model's own non-empty strings (a string with a
    pattern of its own says it there; other models, behind ``$ref``, do their own)."""
    if not isinstance(node, dict):
        return
    if (
        node.get("type") == "string"
        and node.get("minLength") == 1
        and "pattern" not in node
        and "format" not in node
    ):
        node["pattern"] = _NOT_BLANK
    for child in node.get("properties", {}).values():
        _state_stripping(child)
    _state_stripping(node.get("items"))
    _state_stripping(node.get("additionalProperties"))
    for keyword in _SUBSCHEMA_LISTS:
        for child in node.get(keyword, ()):
            _state_stripping(child)
