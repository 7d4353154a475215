"""Which council to contact about an address outside this council's area: council tax names
it to a resident moving away, school admissions to a family whose child lives elsewhere.

A tiny static table of synthetic postcode areas (none of them is a real UK postcode area),
enough for tests and the demo; a deployment would look the postcode up in the ONS Postcode
Directory instead.
"""

from __future__ import annotations

import re

__all__ = ["COUNCILS", "UNKNOWN", "council_for"]

UNKNOWN = "unknown"

COUNCILS: dict[str, str] = {
    "CD": "Caddenham District Council",
    "EF": "Efferby Borough Council",
    "GH": "Ghyllside Council",
    "JK": "Jexford City Council",
    "LM": "Lowmarsh Unitary Council",
}


def council_for(postcode: str | None) -> str:
    """The council for a postcode's area (its leading letters), or `unknown`."""
    if postcode is None:
        return UNKNOWN
    area = re.match(r"[A-Z]+", postcode.upper())
    return COUNCILS.get(area.group(), UNKNOWN) if area else UNKNOWN
