"""The council registers after a death: each register's activity against its own SQLite
store, each outcome, nothing held, a repeat, and refusals (a token for another register's
purpose among them: each register is its own purpose).

Tokens are made here with the recipient and purposes the service catalogue names, spelled
out, not taken from the code under test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from contracts.actions import ActionOutcome, ServiceAction
from services.registers.activities import RegistersActivities
from services.registers.seed import seed_registers
from services.registers.store import (
    AssistedCollection,
    BlueBadge,
    LibraryCard,
    ParkingPermit,
    RegistersStore,
)
from tests.support.council import (
    REFUSALS,
    Refusal,
    action_of,
    address,
    assert_refused_untouched,
    snapshot,
)

RECIPIENT = "council-registers"
DIED = "2025-08-07"
DIED_ON = date(2025, 8, 7)
HOME = address("12 Hypothetical Road", "AB4 6LN", uprn="999000000012")
HOME_KEY = "uprn:999000000012"
ELSEWHERE_KEY = "uprn:999000000099"

# Resident keys chosen so their order is known: the first adult by key gets a permit.
DECEASED = "res_deceased0000000000"
ADULT_A = "res_survivorA000000000"
ADULT_B = "res_survivorB000000000"
CHILD = "res_0child000000000000"  # sorts before both adults
SOMEONE_ELSE = "res_neighbour000000000"


@dataclass(frozen=True)
class Register:
    """What a token for one register's step is for, as the catalogue and policy say."""

    purpose: str
    recipient: str = RECIPIENT


BLUE_BADGE = Register("blue-badge-administration")
LIBRARY = Register("library-membership")
PARKING = Register("parking-permit-administration")
COLLECTION = Register("waste-collection")


def deceased_data(last_address: dict[str, Any] = HOME) -> dict[str, Any]:
    return {
        "identity": {
            "name": {"given_names": "Imaginary Albert", "family_name": "Testworth"},
            "date_of_birth": "1938-02-14",
        },
        "death": {"date_of_death": DIED, "last_address": last_address},
    }


def survivor_data(**household: Any) -> dict[str, Any]:
    return {
        "identity": {"name": {"given_names": "Madeup Mary", "family_name": "Testworth"}},
        "household": household,
    }


def death(
    register: Register,
    *survivors: tuple[str, dict[str, Any]],
    deceased: str = DECEASED,
    workflow_id: str | None = None,
    step: str = "step",
) -> ServiceAction:
    """The action of a register's step: the deceased's share (token stamped `deceased`, as
    the gate stamps it), then each survivor's."""
    return action_of(
        register,  # type: ignore[arg-type]  # what a token is for: recipient and purpose
        [(deceased, deceased_data()), *survivors],
        deceased={deceased},
        workflow_id=workflow_id,
        step=step,
    )


Perform = Callable[[ServiceAction], Awaitable[ActionOutcome]]


def activity_of(service: RegistersActivities, register: Register) -> Perform:
    return {
        BLUE_BADGE: service.end_blue_badge,
        LIBRARY: service.end_library_card,
        PARKING: service.end_parking_permit,
        COLLECTION: service.end_assisted_collection,
    }[register]


# --- blue badge -------------------------------------------------------------------------------


async def test_the_deceaseds_valid_badges_are_cancelled_from_the_date_of_death(
    service: RegistersActivities, store: RegistersStore
) -> None:
    await store.add(
        [
            BlueBadge("BB-TEST000002", DECEASED, expires_on=date(2026, 5, 31)),
            BlueBadge("BB-TEST000001", DECEASED, expires_on=date(2027, 1, 31)),
            BlueBadge("BB-EXPIRED001", DECEASED, expires_on=date(2024, 1, 31)),
            BlueBadge("BB-NEIGHBOUR1", SOMEONE_ELSE, expires_on=date(2027, 1, 31)),
        ]
    )
    outcome = await service.end_blue_badge(death(BLUE_BADGE))
    assert outcome == ActionOutcome(
        outcome="done",
        code="badge_cancelled",
        references={
            "badge": "BB-TEST000001,BB-TEST000002",
            "cancelled_on": "2025-08-07",
            "return_requested": "yes",
        },
    )
    assert await store.all_entries() == [
        BlueBadge("BB-EXPIRED001", DECEASED, date(2024, 1, 31)),
        BlueBadge("BB-NEIGHBOUR1", SOMEONE_ELSE, date(2027, 1, 31)),
        BlueBadge("BB-TEST000001", DECEASED, date(2027, 1, 31), DIED_ON, return_requested=True),
        BlueBadge("BB-TEST000002", DECEASED, date(2026, 5, 31), DIED_ON, return_requested=True),
    ]


async def test_no_valid_badge_is_no_action(
    service: RegistersActivities, store: RegistersStore
) -> None:
    await store.add(
        [
            BlueBadge("BB-EXPIRED001", DECEASED, expires_on=date(2024, 1, 31)),
            BlueBadge("BB-CANCELLED1", DECEASED, date(2027, 1, 31), date(2025, 1, 2), True),
            BlueBadge("BB-NEIGHBOUR1", SOMEONE_ELSE, expires_on=date(2027, 1, 31)),
        ]
    )
    before = await snapshot(store)
    outcome = await service.end_blue_badge(death(BLUE_BADGE))
    assert outcome == ActionOutcome(outcome="no_action", code="no_badge")
    after = await snapshot(store)
    assert {k: v for k, v in after.items() if k != "reg_actions"} == {
        k: v for k, v in before.items() if k != "reg_actions"
    }


# --- library card -----------------------------------------------------------------------------


@pytest.mark.parametrize(("owed", "waived"), [(240, "£2.40"), (1205, "£12.05"), (0, "none")])
async def test_the_membership_is_closed_and_its_charges_waived(
    service: RegistersActivities, store: RegistersStore, owed: int, waived: str
) -> None:
    await store.add(
        [
            LibraryCard("LIB-TEST00001", DECEASED, charges_pence=owed),
            LibraryCard("LIB-NEIGHBOUR", SOMEONE_ELSE, charges_pence=90),
        ]
    )
    outcome = await service.end_library_card(death(LIBRARY))
    assert outcome == ActionOutcome(
        outcome="done",
        code="membership_closed",
        references={"card": "LIB-TEST00001", "closed_on": "2025-08-07", "charges_waived": waived},
    )
    assert await store.all_entries() == [
        LibraryCard("LIB-NEIGHBOUR", SOMEONE_ELSE, charges_pence=90),
        LibraryCard("LIB-TEST00001", DECEASED, 0, DIED_ON, waived_pence=owed),
    ]


async def test_every_open_membership_is_closed_and_all_charges_waived(
    service: RegistersActivities, store: RegistersStore
) -> None:
    await store.add(
        [
            LibraryCard("LIB-TEST00001", DECEASED, charges_pence=150),
            LibraryCard("LIB-TEST00002", DECEASED, charges_pence=75),
        ]
    )
    outcome = await service.end_library_card(death(LIBRARY))
    assert outcome.references["card"] == "LIB-TEST00001,LIB-TEST00002"
    assert outcome.references["charges_waived"] == "£2.25"


async def test_no_open_membership_is_no_action(
    service: RegistersActivities, store: RegistersStore
) -> None:
    await store.add(
        [
            LibraryCard("LIB-CLOSED001", DECEASED, 0, date(2020, 3, 1), 0),
            LibraryCard("LIB-NEIGHBOUR", SOMEONE_ELSE),
        ]
    )
    outcome = await service.end_library_card(death(LIBRARY))
    assert outcome == ActionOutcome(outcome="no_action", code="no_membership")
    assert LibraryCard("LIB-NEIGHBOUR", SOMEONE_ELSE) in await store.all_entries()


# --- parking permit ---------------------------------------------------------------------------


async def test_the_permit_passes_to_the_first_adult_survivor_by_resident_key(
    service: RegistersActivities, store: RegistersStore
) -> None:
    await store.add(
        [
            ParkingPermit("PP-TEST000001", DECEASED, HOME_KEY),
            ParkingPermit("PP-NEIGHBOUR1", SOMEONE_ELSE, HOME_KEY),
        ]
    )
    outcome = await service.end_parking_permit(
        death(
            PARKING,
            # In no particular order: the child sorts first but cannot hold a permit.
            (ADULT_B, survivor_data(adult=True)),
            (CHILD, survivor_data(age=12)),
            (ADULT_A, survivor_data(age=79, other_adults=1)),
        )
    )
    assert outcome == ActionOutcome(
        outcome="done",
        code="permit_transferred",
        references={"permit": "PP-TEST000001", "transferred_on": "2025-08-07"},
    )
    assert await store.all_entries() == [
        ParkingPermit("PP-NEIGHBOUR1", SOMEONE_ELSE, HOME_KEY),
        ParkingPermit(
            "PP-TEST000001",
            ADULT_A,
            HOME_KEY,
            "active",
            transferred_from=DECEASED,
            transferred_on=DIED_ON,
        ),
    ]


@pytest.mark.parametrize(
    "survivors",
    [[], [(CHILD, survivor_data(age=17))], [(CHILD, survivor_data(adult=False))]],
    ids=["nobody", "a_child_of_17", "a_child"],
)
async def test_with_no_adult_left_the_permit_is_cancelled(
    service: RegistersActivities,
    store: RegistersStore,
    survivors: list[tuple[str, dict[str, Any]]],
) -> None:
    await store.add(
        [
            ParkingPermit("PP-TEST000001", DECEASED, HOME_KEY),
            ParkingPermit("PP-TEST000002", DECEASED, HOME_KEY),
        ]
    )
    outcome = await service.end_parking_permit(death(PARKING, *survivors))
    assert outcome == ActionOutcome(
        outcome="done",
        code="permit_cancelled",
        references={"permit": "PP-TEST000001,PP-TEST000002", "cancelled_on": "2025-08-07"},
    )
    assert await store.all_entries() == [
        ParkingPermit("PP-TEST000001", DECEASED, HOME_KEY, "cancelled", DIED_ON),
        ParkingPermit("PP-TEST000002", DECEASED, HOME_KEY, "cancelled", DIED_ON),
    ]


async def test_no_permit_at_the_address_is_no_action(
    service: RegistersActivities, store: RegistersStore
) -> None:
    held = [
        ParkingPermit("PP-ELSEWHERE1", DECEASED, ELSEWHERE_KEY),
        ParkingPermit("PP-CANCELLED1", DECEASED, HOME_KEY, "cancelled", date(2025, 1, 1)),
        ParkingPermit("PP-NEIGHBOUR1", SOMEONE_ELSE, HOME_KEY),
    ]
    await store.add(held)
    outcome = await service.end_parking_permit(death(PARKING, (ADULT_A, survivor_data(age=80))))
    assert outcome == ActionOutcome(outcome="no_action", code="no_permit")
    assert sorted(await store.all_entries(), key=str) == sorted(held, key=str)


async def test_a_permit_is_found_by_postcode_and_lines_when_there_is_no_uprn(
    service: RegistersActivities, store: RegistersStore
) -> None:
    await store.add([ParkingPermit("PP-TEST000001", DECEASED, "AB4 6LN|12 hypothetical road")])
    no_uprn = address("12  Hypothetical ROAD", "AB4 6LN")
    action = action_of(
        PARKING,  # type: ignore[arg-type]
        [(DECEASED, deceased_data(no_uprn))],
        deceased={DECEASED},
    )
    outcome = await service.end_parking_permit(action)
    assert outcome.code == "permit_cancelled"


# --- assisted collection ----------------------------------------------------------------------


async def test_with_someone_left_the_collection_is_kept_under_review(
    service: RegistersActivities, store: RegistersStore
) -> None:
    await store.add([AssistedCollection("AC-TEST000001", DECEASED, HOME_KEY)])
    # Anyone remaining, a child too: the household may still need the help.
    outcome = await service.end_assisted_collection(
        death(COLLECTION, (CHILD, survivor_data(age=15)))
    )
    assert outcome == ActionOutcome(
        outcome="done",
        code="collection_under_review",
        references={"collection": "AC-TEST000001", "review_from": "2025-08-07"},
    )
    assert await store.all_entries() == [
        AssistedCollection("AC-TEST000001", DECEASED, HOME_KEY, "under_review", DIED_ON)
    ]


async def test_with_nobody_left_the_collection_is_stopped(
    service: RegistersActivities, store: RegistersStore
) -> None:
    await store.add([AssistedCollection("AC-TEST000001", DECEASED, HOME_KEY)])
    outcome = await service.end_assisted_collection(death(COLLECTION))
    assert outcome == ActionOutcome(
        outcome="done",
        code="collection_stopped",
        references={"collection": "AC-TEST000001", "stopped_on": "2025-08-07"},
    )
    assert await store.all_entries() == [
        AssistedCollection("AC-TEST000001", DECEASED, HOME_KEY, "stopped", DIED_ON)
    ]


async def test_no_collection_for_the_deceased_there_is_no_action(
    service: RegistersActivities, store: RegistersStore
) -> None:
    held = [
        # The survivor's own assistance at the same address is theirs, not the deceased's.
        AssistedCollection("AC-SURVIVOR01", ADULT_A, HOME_KEY),
        AssistedCollection("AC-ELSEWHERE1", DECEASED, ELSEWHERE_KEY),
    ]
    await store.add(held)
    outcome = await service.end_assisted_collection(
        death(COLLECTION, (ADULT_A, survivor_data(age=80)))
    )
    assert outcome == ActionOutcome(outcome="no_action", code="no_collection")
    assert sorted(await store.all_entries(), key=str) == sorted(held, key=str)


# --- every register ---------------------------------------------------------------------------

ALL = [BLUE_BADGE, LIBRARY, PARKING, COLLECTION]
IDS = [r.purpose for r in ALL]


async def _seeded(store: RegistersStore) -> None:
    await seed_registers(store, [DECEASED])


@pytest.mark.parametrize("register", ALL, ids=IDS)
async def test_the_same_step_twice_changes_once_and_answers_the_same(
    service: RegistersActivities, store: RegistersStore, register: Register
) -> None:
    await _seeded(store)
    perform = activity_of(service, register)
    first_action = death(register, (ADULT_A, survivor_data(age=50)))
    if register in (BLUE_BADGE, LIBRARY):
        first_action = death(register)
    first = await perform(first_action)
    assert first.outcome == "done"
    after = await snapshot(store)
    assert await perform(first_action) == first
    assert await snapshot(store) == after


@pytest.mark.parametrize("register", ALL, ids=IDS)
async def test_the_seeded_deceased_is_in_every_register_at_the_example_address(
    service: RegistersActivities, store: RegistersStore, register: Register
) -> None:
    assert await seed_registers(store, [DECEASED]) == 4
    assert await seed_registers(store, [DECEASED]) == 0  # seeding again adds nothing
    outcome = await activity_of(service, register)(death(register))
    assert outcome.outcome == "done"
    expected = {
        BLUE_BADGE: ("badge_cancelled", "badge", "BB-"),
        LIBRARY: ("membership_closed", "card", "LIB-"),
        PARKING: ("permit_cancelled", "permit", "PP-"),
        COLLECTION: ("collection_stopped", "collection", "AC-"),
    }[register]
    code, key, prefix = expected
    assert outcome.code == code
    assert outcome.references[key].startswith(prefix)
    if register is LIBRARY:
        assert outcome.references["charges_waived"] == "£2.40"


def _other(register: Register) -> Register:
    return ALL[(ALL.index(register) + 1) % len(ALL)]


@pytest.mark.parametrize("register", ALL, ids=IDS)
async def test_a_token_for_another_registers_purpose_is_refused(
    service: RegistersActivities, store: RegistersStore, register: Register
) -> None:
    await _seeded(store)
    await assert_refused_untouched(
        activity_of(service, register), death(_other(register)), "wrong_purpose", store
    )


@pytest.mark.parametrize("register", ALL, ids=IDS)
async def test_a_repeat_with_a_token_for_another_purpose_is_refused(
    service: RegistersActivities, store: RegistersStore, register: Register
) -> None:
    # A repeat answers what was done the first time, but only to tokens good for it.
    await _seeded(store)
    done = death(register)
    await activity_of(service, register)(done)
    stranger = death(_other(register), workflow_id=done.workflow_id, step=done.step)
    await assert_refused_untouched(activity_of(service, register), stranger, "wrong_purpose", store)


def _deceased_altered(good: ServiceAction) -> ServiceAction:
    first = good.shares[0]
    data = {**first.data, "death": {**first.data["death"], "date_of_death": "2025-08-06"}}
    return good.model_copy(
        update={"shares": (first.model_copy(update={"data": data}), *good.shares[1:])}
    )


# REFUSALS but the one that alters a move's address (these shares have none), and that case
# for a death: the deceased's date of death altered after the token was issued.
DEATH_REFUSALS: list[tuple[str, Refusal]] = [
    *[(problem, spoil) for problem, spoil in REFUSALS if problem != "data_altered"],
    ("data_altered", lambda _s, good: _deceased_altered(good)),
]


@pytest.mark.parametrize("register", [BLUE_BADGE, PARKING], ids=["blue-badge", "parking"])
@pytest.mark.parametrize(("problem", "spoil"), DEATH_REFUSALS, ids=[p for p, _ in DEATH_REFUSALS])
async def test_a_bad_token_is_refused_and_nothing_changes(
    service: RegistersActivities,
    store: RegistersStore,
    register: Register,
    problem: str,
    spoil: Refusal,
) -> None:
    await _seeded(store)
    survivors = [(ADULT_A, survivor_data(age=40))] if register is PARKING else []
    good = death(register, *survivors)
    await assert_refused_untouched(
        activity_of(service, register),
        spoil(register, good),  # type: ignore[arg-type]
        problem,
        store,
    )


# --- data that is not one death ---------------------------------------------------------------


def _shares(register: Register, *people: tuple[str, dict[str, Any]]) -> ServiceAction:
    # Every share that says `death` as the gate stamps it once the death is recorded.
    dead = {resident for resident, data in people if "death" in data}
    return action_of(register, list(people), deceased=dead)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("register", "people", "code"),
    [
        (
            PARKING,
            [(ADULT_A, survivor_data(age=40)), (ADULT_B, survivor_data(age=41))],
            "invalid_data:no_deceased",
        ),
        (
            COLLECTION,
            [(DECEASED, deceased_data()), (ADULT_A, deceased_data())],
            "invalid_data:deceased_repeated",
        ),
        (
            COLLECTION,
            [(DECEASED, deceased_data()), (ADULT_A, {"identity": survivor_data()["identity"]})],
            "invalid_data:household",
        ),
        (
            BLUE_BADGE,
            [(DECEASED, deceased_data()), (ADULT_A, survivor_data(age=40))],
            "invalid_data:death",
        ),
        (
            LIBRARY,
            [(DECEASED, {**deceased_data(), "household": {"age": 87}})],
            "invalid_data:<extra>",
        ),
    ],
    ids=["no_deceased", "two_deceased", "survivor_without_household", "badge_survivor", "extra"],
)
async def test_shares_that_are_not_one_death_are_refused_as_invalid(
    service: RegistersActivities,
    store: RegistersStore,
    register: Register,
    people: list[tuple[str, dict[str, Any]]],
    code: str,
) -> None:
    await _seeded(store)
    before = await snapshot(store)
    with pytest.raises(ApplicationError) as refused:
        await activity_of(service, register)(_shares(register, *people))
    assert refused.value.type == "ShareDataInvalid"
    assert refused.value.non_retryable
    assert refused.value.message == code
    assert await snapshot(store) == before
