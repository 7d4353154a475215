"""The custom search attributes ops engineers filter on in the Temporal UI.

Declared once here: workflows upsert them, and the embedded dev server registers them at start.
None may ever carry personal data: event IDs and codes only.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

__all__ = [
    "ALL",
    "COUNCIL_AREA",
    "LIFE_EVENT_ID",
    "LIFE_EVENT_TYPE",
    "NEEDS_PERSON",
    "STAGE",
    "cli_declarations",
]

LIFE_EVENT_TYPE = SearchAttributeKey.for_keyword("LifeEventType")
LIFE_EVENT_ID = SearchAttributeKey.for_keyword("LifeEventId")
STAGE = SearchAttributeKey.for_keyword("LifeEventStage")
NEEDS_PERSON = SearchAttributeKey.for_bool("NeedsPerson")
COUNCIL_AREA = SearchAttributeKey.for_keyword("CouncilArea")

ALL = (LIFE_EVENT_TYPE, LIFE_EVENT_ID, STAGE, NEEDS_PERSON, COUNCIL_AREA)

# The names the Temporal CLI takes for `--search-attribute Name=Type`.
_CLI_TYPE_NAMES = {"KEYWORD": "Keyword", "BOOL": "Bool"}


def cli_declarations() -> list[str]:
    return [f"{key.name}={_CLI_TYPE_NAMES[key.indexed_value_type.name]}" for key in ALL]
