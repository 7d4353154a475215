"""electoral.record_death: the deceased's entry on the register is marked removed from the
date of death; `not_registered` when there is none; idempotent; one test through a real
Temporal worker."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from contracts.addresses import UkAddress
from contracts.people import PersonName
from contracts.temporal import Activity
from services.electoral.activities import ElectoralActivities
from services.electoral.store import ElectoralStore, Entry
from tests.support.council import action_of, address, new_resident, snapshot, through_temporal

LAST = address("12 Hypothetical Road", "AB4 6LN", uprn="999000000012")
ALBERT = {"given_names": "Imaginary Albert", "family_name": "Testworth"}
MARY = {"given_names": "Madeup Mary", "family_name": "Testworth"}
ENTERED = date(1990, 9, 1)


def deceased(died: str = "2025-08-07") -> dict[str, Any]:
    return {
        "identity": {"name": ALBERT, "date_of_birth": "1938-02-14"},
        "death": {"date_of_death": died, "last_address": LAST},
    }


async def registered(store: ElectoralStore, *people: tuple[str, str]) -> None:
    """(reference, resident) for each entry at LAST."""
    where = UkAddress.model_validate(LAST)
    added = await store.add_entries(
        [(ref, resident, PersonName(**ALBERT), where, ENTERED) for ref, resident in people]
    )
    assert added == len(people)


async def test_the_deceaseds_entry_is_removed_from_the_date_of_death(
    service: ElectoralActivities, store: ElectoralStore
) -> None:
    dead, spouse = new_resident(), new_resident()
    await registered(store, ("EL-TEST000001", dead), ("EL-TEST000002", spouse))

    outcome = await service.record_death(action_of(service, [(dead, deceased())], deceased={dead}))

    assert outcome.outcome == "done"
    assert outcome.code == "entry_removed"
    assert outcome.references == {"removed_on": "2025-08-07", "entries": "EL-TEST000001"}
    assert await store.entries() == [
        Entry("EL-TEST000001", dead, ENTERED, date(2025, 8, 7), "deceased"),
        Entry("EL-TEST000002", spouse, ENTERED, None, None),  # the spouse stays registered
    ]


async def test_not_registered_is_no_action(
    service: ElectoralActivities, store: ElectoralStore
) -> None:
    dead, someone = new_resident(), new_resident()
    await registered(store, ("EL-TEST000003", someone))
    before = await snapshot(store)

    outcome = await service.record_death(action_of(service, [(dead, deceased())], deceased={dead}))

    assert outcome.outcome == "no_action"
    assert outcome.code == "not_registered"
    assert outcome.references == {}
    after = await snapshot(store)
    assert after["electoral_register"] == before["electoral_register"]


async def test_the_same_step_twice_changes_once_and_answers_the_same(
    service: ElectoralActivities, store: ElectoralStore
) -> None:
    dead = new_resident()
    await registered(store, ("EL-TEST000004", dead))
    first_action = action_of(service, [(dead, deceased())], deceased={dead})
    first = await service.record_death(first_action)
    after_first = await snapshot(store)

    again = await service.record_death(first_action)

    assert again == first
    assert await snapshot(store) == after_first


async def test_a_second_workflow_about_the_same_death_changes_nothing(
    service: ElectoralActivities, store: ElectoralStore
) -> None:
    dead = new_resident()
    await registered(store, ("EL-TEST000005", dead))
    await service.record_death(action_of(service, [(dead, deceased())], deceased={dead}))
    after_first = await snapshot(store)

    outcome = await service.record_death(
        action_of(service, [(dead, deceased("2025-08-08"))], deceased={dead})
    )

    assert outcome.outcome == "no_action"
    assert outcome.code == "already_removed"
    assert outcome.references == {"removed_on": "2025-08-07", "entries": "EL-TEST000005"}
    assert (await snapshot(store))["electoral_register"] == after_first["electoral_register"]


@pytest.mark.parametrize(
    ("people", "code"),
    [
        pytest.param(
            lambda d, o: [(d, deceased()), (o, deceased())],
            "invalid_data:deceased_repeated",
            id="two",
        ),
        pytest.param(
            lambda d, o: [(d, {"identity": deceased()["identity"]})],
            "invalid_data:death",
            id="no_death",
        ),
    ],
)
async def test_shares_that_are_not_one_deceased_are_invalid_data(
    service: ElectoralActivities, store: ElectoralStore, people: Any, code: str
) -> None:
    dead, other = new_resident(), new_resident()
    await registered(store, ("EL-TEST000006", dead))
    before = await snapshot(store)

    with pytest.raises(ApplicationError) as refused:
        await service.record_death(action_of(service, people(dead, other), deceased={dead, other}))

    assert refused.value.type == "ShareDataInvalid"
    assert refused.value.message == code
    assert await snapshot(store) == before


async def test_record_death_through_a_temporal_worker(
    service: ElectoralActivities, store: ElectoralStore, time_skipping_env: WorkflowEnvironment
) -> None:
    dead = new_resident()
    await registered(store, ("EL-TEST000007", dead))

    outcome = await through_temporal(
        time_skipping_env,
        service.all,
        Activity.ELECTORAL_RECORD_DEATH,
        action_of(service, [(dead, deceased())], deceased={dead}),
    )

    assert outcome.code == "entry_removed"
    assert outcome.references == {"removed_on": "2025-08-07", "entries": "EL-TEST000007"}
