"""Identifiers and codes that cross processes: one definition of each.

None of them carries personal data. Residents are named by a pseudonymous key everywhere
outside the resident index; workflow IDs are digests of an event's source and id; steps,
purposes, services and reasons are codes we chose.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

__all__ = [
    "RESIDENT_KEY_PATTERN",
    "Code",
    "DataHash",
    "Direction",
    "ReasonCode",
    "ResidentKey",
    "StepName",
    "WorkflowId",
]

# `res_` + 128 random bits, URL-safe (22 characters) as the index issues them; up to 64.
RESIDENT_KEY_PATTERN = r"^res_[A-Za-z0-9_-]{16,64}$"

ResidentKey = Annotated[
    str,
    StringConstraints(pattern=RESIDENT_KEY_PATTERN),
    Field(description="A resident's pseudonymous key, `res_` and a random URL-safe token."),
]
WorkflowId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    Field(description="The Temporal workflow ID; with a step name, an idempotency key."),
]
StepName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"),
    Field(description="A step of a workflow, e.g. `council-tax` or `match-0`."),
]
Code = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_-]{1,63}$"),
    Field(description="A machine code: a service, purpose or controller identifier."),
]
ReasonCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$"),
    Field(description="Why something happened, as a code; never free text."),
]
DataHash = Annotated[
    str,
    StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$"),
    Field(description="SHA-256 of the canonical JSON of the data to share: `sha256:<hex>`."),
]

Direction = Literal["into", "within", "out_of"]
"""A move into the council area, within it, or out of it."""
