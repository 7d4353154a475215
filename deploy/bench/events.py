"""Synthetic life events for the benchmark: every resident made up, one per index.

- A move: one synthetic adult, or (every third) an adult couple, moving within the area.
  No child of school age moves, so no resident confirmation is awaited.
- A death: the i-th household's member dies (a valid NHS number from the 999 test range; no
  National Insurance number, as no range of them is reserved for tests) at an address of
  their own, with one surviving spouse under 75 (so no caseworker triage, which would wait
  for a person), an executor (told the summary), and dwp, hmrc, hm_passport_office and dvla
  told. One adult remains, so the `council-tax-discount` step waits for the survivor's
  answer, which the benchmark gives. Before the deaths, untimed, each household moves into
  its address a year before (`moves_in`), so the council tax account the death acts on exists.
- A birth: a synthetic child (born ten days back) of one parent new to the index, at an
  address of their own. The library card waits for the family's answer, which the benchmark
  gives; the workflow then continues as new to wait for the child's dated steps.
- The same fact from another source (`from_other_source`): the same data with a new id and
  another source's name, as a second back-office system would report it; the pipeline
  recognises it (`recognise`) and merges it into the first.
- An invalid event (`invalid_record`, `invalid_document`): a move whose date is not a date,
  which the orchestrator sends to the dead-letter topic and the intake refuses.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from contracts import CloudEvent, KafkaRecord, from_structured, to_binary, to_structured
from contracts.identifiers import is_valid_nhs_number
from contracts.shares import ADULT_AGE, age_on
from workflows.bereavement import LIVES_ALONE_AT

__all__ = [
    "ANSWERED",
    "OTHER_SOURCE",
    "SOURCES",
    "SOURCE_TYPES",
    "birth",
    "death",
    "from_other_source",
    "invalid_document",
    "invalid_record",
    "move",
    "move_in",
    "nhs_number",
]

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"
_MOVE = json.loads((EXAMPLES / "address-changed-household.json").read_text())
_DEATH = json.loads((EXAMPLES / "death-registered.json").read_text())
_BIRTH = json.loads((EXAMPLES / "birth-registered.json").read_text())
_TOLD = ["dwp", "hmrc", "hm_passport_office", "dvla"]

# The step each kind waits on for the resident's answer, which the benchmark gives (accept).
ANSWERED: Final = {
    "death": "council-tax-discount",
    "birth": "library-card",
}
# Each kind's source system, and every source's event types (an intake key each).
SOURCES: Final = {"move": _MOVE["source"], "death": _DEATH["source"], "birth": _BIRTH["source"]}
# Who else reports the same fact: housing for a move, the hospital for a death.
OTHER_SOURCE: Final = {
    _MOVE["type"]: "/housing/exampleshire",
    _DEATH["type"]: "/hospital/exampleshire",
}
SOURCE_TYPES: Final = {
    _MOVE["source"]: [_MOVE["type"]],
    _DEATH["source"]: [_DEATH["type"], _BIRTH["type"]],
    **{source: [event_type] for event_type, source in OTHER_SOURCE.items()},
}
# Per-kind bases in the 999 test range, far apart so that no two kinds share a number.
_NHS_BASE = {"death": 999_100_000, "birth": 999_500_000}


def nhs_number(kind: str, i: int) -> str:
    """The i-th valid NHS number of the test range (999…) kept for `kind`. Of two stems
    next to each other at most one has no check digit (their weighted sums differ by 2)."""
    for stem in (_NHS_BASE[kind] + 2 * i, _NHS_BASE[kind] + 2 * i + 1):
        total = sum(int(d) * w for d, w in zip(str(stem), range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        number = f"{stem}{check}"
        if check != 10 and is_valid_nhs_number(number):
            return number
    raise AssertionError("two neighbouring stems without a check digit")  # pragma: no cover


def _date_of_death() -> date:
    # Recent deaths, published now, as a register office sends them.
    return date.today() - timedelta(days=5)


def _adult(given: str, family: str, i: int) -> dict[str, Any]:
    return {
        "name": {"given_names": given, "family_name": family},
        "date_of_birth": f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
    }


def move(i: int) -> CloudEvent[Any]:
    family = f"Person{i:06d}"
    movers = [_adult("Bench", family, i)]
    if i % 3 == 0:  # a couple moving together
        movers.append(_adult("Partner", family, i + 1))
    return from_structured(
        {**_MOVE, "id": str(uuid.uuid4()), "data": {**_MOVE["data"], "movers": movers}}
    )


def _household(i: int) -> dict[str, Any]:
    """The i-th death's household: the one who dies, their spouse, their address."""
    family = f"Household{i:06d}"
    spouse_born = f"19{56 + i % 10}-0{1 + i % 9}-2{i % 9}"
    age = age_on(date.fromisoformat(spouse_born), _date_of_death())
    assert ADULT_AGE <= age < LIVES_ALONE_AT  # one adult left, and no caseworker triage
    return {
        "family": family,
        "deceased": {
            "name": {"given_names": "Bench", "family_name": family},
            "date_of_birth": f"19{40 + i % 10}-0{1 + i % 9}-1{i % 9}",
            "nhs_number": nhs_number("death", i),
        },
        "spouse": {
            "name": {"given_names": "Survivor", "family_name": family},
            "date_of_birth": spouse_born,
        },
        "address": {
            "lines": [f"{i + 1} Benchmark Terrace"],
            "town": "Exampletown",
            "postcode": "AB4 6LN",
            "uprn": f"99901{i:07d}",
        },
    }


def move_in(i: int) -> CloudEvent[Any]:
    """The i-th death's household moving into its address a year before (setup, untimed):
    the council tax account the death acts on, and the index's residents at the address."""
    home = _household(i)
    return from_structured(
        {
            **_MOVE,
            "id": str(uuid.uuid4()),
            "data": {
                "movers": [home["deceased"], home["spouse"]],
                "new_address": home["address"],
                "move_date": (_date_of_death() - timedelta(days=365)).isoformat(),
                "direction": "into",
                "tenure": "owner_occupier",
                "source_reference": f"BENCH-M-{i:06d}",
            },
        }
    )


def death(i: int) -> CloudEvent[Any]:
    home = _household(i)
    family = home["family"]
    died = _date_of_death()
    return from_structured(
        {
            **_DEATH,
            "id": str(uuid.uuid4()),
            "time": datetime.now(UTC).isoformat(),
            "data": {
                **_DEATH["data"],
                "deceased": {
                    **home["deceased"],
                    "date_of_death": died.isoformat(),
                    "last_address": home["address"],
                },
                "informant": {
                    "name": {"given_names": "Informant", "family_name": family},
                    "relationship": "daughter",
                    "address": {
                        "lines": [f"{i + 1} Example Way"],
                        "town": "Sampleford",
                        "postcode": "YO9 8WY",
                    },
                },
                "next_of_kin": [],
                "executors": [
                    {
                        "name": {"given_names": "Executor", "family_name": family},
                        "relationship": "solicitor",
                        "address": {
                            "lines": [f"{i + 1} Law Court"],
                            "town": "Exampletown",
                            "postcode": "AB1 1AA",
                        },
                    }
                ],
                "household_members": [{**home["spouse"], "relationship": "spouse"}],
                "organisations_to_tell": _TOLD,
                "registration": {
                    **_DEATH["data"]["registration"],
                    "registered_on": (died + timedelta(days=4)).isoformat(),
                    "entry_reference": f"BENCH-D-{i:06d}",
                },
            },
        }
    )


def birth(i: int) -> CloudEvent[Any]:
    born = date.today() - timedelta(days=10)
    family = f"Newborn{i:06d}"
    home = {
        "lines": [f"{i + 1} Cradle Row"],
        "town": "Exampletown",
        "postcode": "AB1 2DF",
        "uprn": f"99902{i:07d}",
    }
    parent = {
        "role": "mother",
        "name": {"given_names": "Parent", "family_name": family},
        "date_of_birth": f"19{85 + i % 10}-0{1 + i % 9}-1{i % 9}",
        "address": home,
    }
    return from_structured(
        {
            **_BIRTH,
            "id": str(uuid.uuid4()),
            "time": datetime.now(UTC).isoformat(),
            "data": {
                **_BIRTH["data"],
                "child": {
                    **_BIRTH["data"]["child"],
                    "name": {"given_names": "Bench", "family_name": family},
                    "date_of_birth": born.isoformat(),
                    "nhs_number": nhs_number("birth", i),
                },
                "parents": [parent],
                "informant": {"capacity": "mother", "name": parent["name"], "address": home},
                "registration": {
                    **_BIRTH["data"]["registration"],
                    "registered_on": (born + timedelta(days=5)).isoformat(),
                    "entry_reference": f"BENCH-B-{i:06d}",
                },
            },
        }
    )


def from_other_source(event: CloudEvent[Any]) -> CloudEvent[Any]:
    """The same fact as a second system reports it: its own source, a new id."""
    return event.model_copy(update={"source": OTHER_SOURCE[event.type], "id": str(uuid.uuid4())})


def invalid_document(i: int) -> dict[str, Any]:
    """A structured-mode move whose date is not a date: valid JSON, not a valid event."""
    document = json.loads(to_structured(move(i)))
    document["data"]["move_date"] = "not-a-date"
    return dict(document)


def invalid_record(i: int) -> KafkaRecord:
    """A binary-mode move record whose date is not a date: the orchestrator dead-letters it."""
    record = to_binary(move(i))
    data = json.loads(record.value)
    data["move_date"] = "not-a-date"
    return replace(record, value=json.dumps(data).encode())
