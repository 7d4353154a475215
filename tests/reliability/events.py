"""The reliability suite's events: synthetic movers (each a different person), and poison.

Every mover is made up: the family names `Faultsim…` and the address lines `… Chaos Lane`
exist nowhere else, so the personal-data scan finds them only where they were carried.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from contracts import CloudEvent, KafkaRecord, from_structured, to_binary
from tests.deploy.local.running import REPO_ROOT

__all__ = ["POISON_KINDS", "Person", "move", "person", "poison"]

HOUSEHOLD = json.loads(
    (REPO_ROOT / "contracts/examples/address-changed-household.json").read_text()
)
# NI prefixes that no real number has been issued with are not reserved as such, so these
# are merely well-formed: prefix CE as in the project's own death example.
_NI_PREFIX = "CE"


@dataclass(frozen=True)
class Person:
    """One synthetic resident, and the strings that identify them."""

    index: int
    family_name: str
    date_of_birth: str
    email: str
    ni_number: str

    def mover(self) -> dict[str, Any]:
        return {
            "name": {"given_names": "Rel", "family_name": self.family_name},
            "date_of_birth": self.date_of_birth,
            "contact": {"email": self.email},
            "national_insurance_number": self.ni_number,
        }


def person(i: int) -> Person:
    return Person(
        index=i,
        family_name=f"Faultsim{_letters(i)}",
        # Adults born 1946 to 1985, spread over days so that few people share a date.
        date_of_birth=f"{1946 + i % 40}-{1 + i % 12:02d}-{1 + (i // 12) % 28:02d}",
        email=f"faultsim.{i:05d}@example.org",
        ni_number=f"{_NI_PREFIX}{i:06d}A",
    )


def _letters(i: int) -> str:
    """A name part from the index in letters only (a name with digits looks like an ID)."""
    out = ""
    for _ in range(4):
        i, digit = divmod(i, 26)
        out = chr(ord("a") + digit) + out
    return out.capitalize()


def addresses(i: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """An old and a new home of the event's own within the area, so no two moves meet."""
    old = {"lines": [f"{i} Chaos Lane"], "town": "Exampletown", "postcode": "AB1 3DE"}
    new = {"lines": [f"{i} Recovery Road"], "town": "Exampletown", "postcode": "AB2 4FG"}
    return old, new


def move(i: int, people: list[Person]) -> CloudEvent[Any]:
    """The i-th event: a move within the area of one adult, or a household of two."""
    old, new = addresses(i)
    return from_structured(
        {
            **HOUSEHOLD,
            "id": str(uuid.uuid4()),
            "subject": f"ctax-account-reliability-{i:06d}",
            "data": {
                **HOUSEHOLD["data"],
                "movers": [p.mover() for p in people],
                "old_address": old,
                "new_address": new,
                "move_date": "2025-10-18",
                "source_reference": f"CTX/REL/{i:06d}",
            },
        }
    )


POISON_KINDS = ("junk_bytes", "invalid_cloudevent", "unknown_type", "schema_violation")


def poison(i: int) -> tuple[str, KafkaRecord]:
    """The i-th poison record, of each kind in turn, with no one's data in it."""
    kind = POISON_KINDS[i % len(POISON_KINDS)]
    good = to_binary(move(10_000_000 + i, [_nobody()]))
    headers = dict(good.headers)
    headers["ce_id"] = f"poison-{uuid.uuid4()}".encode()
    if kind == "junk_bytes":
        return kind, KafkaRecord(key=None, value=bytes(range(256)) * 2, headers=[])
    if kind == "invalid_cloudevent":
        headers.pop("ce_source")
        headers["ce_specversion"] = b"0.3"
    elif kind == "unknown_type":
        headers["ce_type"] = b"lifeevents.pet.adopted.v1"
    else:
        body = json.loads(good.value)
        body["new_address"]["postcode"] = "NOT A POSTCODE"
        return kind, KafkaRecord(
            key=good.key,
            value=json.dumps(body).encode(),
            headers=[(k, v) for k, v in headers.items()],
        )
    return kind, KafkaRecord(key=good.key, value=good.value, headers=list(headers.items()))


def _nobody() -> Person:
    """The mover of a poison record: made up, and not among the residents scanned for."""
    return Person(-1, "Nobodyxyz", "1970-01-01", "nobody@example.org", "CE999999A")
