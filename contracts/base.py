"""The one model configuration every contract model shares."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ContractModel"]


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
