"""council_tax.record_death and council_tax.apply_single_person_discount: the deceased's
liability ends on the date of death and the account passes to the estate (exempt, Class F),
to the one adult left (the discount offered, then applied from the day after the death) or
to the adults left; idempotent; the generic refusal of a deceased resident by an action not
about a death. Runs on SQLite and on PostgreSQL; one test through a real Temporal worker."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from contracts.actions import ServiceAction
from contracts.addresses import UkAddress
from contracts.temporal import Activity
from services.counciltax.activities import CouncilTaxActivities
from services.counciltax.store import AccountContact, CouncilTaxStore, LiabilityEnd
from tests.support.council import (
    action_of,
    address,
    move,
    new_resident,
    share,
    snapshot,
    through_temporal,
)

DIED = date(2025, 8, 7)  # a Thursday
LAST = address("12 Hypothetical Road", "AB4 6LN", uprn="999000000012")
ELSEWHERE = address("9 Nowhere Lane", "AB9 9ZZ", uprn="999000000099")

ALBERT = {"given_names": "Imaginary Albert", "family_name": "Testworth"}
MARY = {"given_names": "Madeup Mary", "family_name": "Testworth"}
SOLICITOR = {"given_names": "Notreal", "family_name": "Solicitorson"}
DAUGHTER = {"given_names": "Fictiona", "family_name": "Testworth"}


def deceased(where: dict[str, Any] = LAST, died: date = DIED) -> dict[str, Any]:
    return {
        "identity": {"name": ALBERT, "date_of_birth": "1938-02-14"},
        "death": {"date_of_death": died.isoformat(), "last_address": where},
    }


def survivor(name: dict[str, str] = MARY, **household: Any) -> dict[str, Any]:
    return {
        "identity": {"name": name},
        "household": household if household else {"age": 83, "other_adults": 0},
    }


def contact(role: str) -> dict[str, Any]:
    name, relationship = (SOLICITOR, "solicitor") if role == "executor" else (DAUGHTER, "daughter")
    return {
        "identity": {"name": name},
        "contact": {
            "role": role,
            "relationship": relationship,
            "address": address("1 Law Court", "AB1 1AA"),
            "contact": {"email": "someone@example.com"},
        },
    }


async def account_at(
    store: CouncilTaxStore, reference: str, liable: list[str], adults: int, where: dict[str, Any]
) -> None:
    people = [(r, '{"given_names":"Someone","family_name":"Testworth"}') for r in liable]
    assert await store.add_account(reference, UkAddress.model_validate(where), adults, people)


async def accounts(store: CouncilTaxStore) -> dict[str, Any]:
    return {a.reference: a for a in await store.all_accounts()}


# --- record_death ---------------------------------------------------------------------------


async def test_one_adult_left_becomes_liable_and_is_offered_the_discount(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    dead, spouse = new_resident(), new_resident()
    await account_at(store, "CT-TEST000001", [dead, spouse], 2, LAST)

    outcome = await service.record_death(
        action_of(service, [(dead, deceased()), (spouse, survivor())], deceased={dead})
    )

    assert outcome.outcome == "done"
    assert outcome.code == "survivor_liable"
    assert outcome.references == {
        "account": "CT-TEST000001",
        "liability_end": "2025-08-07",
        "adults": "1",
        "single_person_discount": "offered",
    }
    account = (await accounts(store))["CT-TEST000001"]
    assert account.liable == (spouse,)
    assert account.adults == 1
    assert account.discount_percent == 0  # offered, not given
    assert account.closed_on is None
    assert await store.liability_ends() == [
        LiabilityEnd("CT-TEST000001", dead, date(2025, 8, 7), "death")
    ]


async def test_the_one_adult_left_joins_an_account_that_listed_only_the_deceased(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    dead, spouse = new_resident(), new_resident()
    await account_at(store, "CT-TEST000002", [dead], 1, LAST)

    outcome = await service.record_death(
        action_of(service, [(dead, deceased()), (spouse, survivor())], deceased={dead})
    )

    assert outcome.code == "survivor_liable"
    assert (await accounts(store))["CT-TEST000002"].liable == (spouse,)


async def test_a_child_and_an_adult_of_unknown_age_leave_one_adult(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    dead, child, unknown = new_resident(), new_resident(), new_resident()
    await account_at(store, "CT-TEST000003", [dead], 2, LAST)

    outcome = await service.record_death(
        action_of(
            service,
            [
                (dead, deceased()),
                (child, survivor(age=10, other_adults=1)),
                (unknown, survivor(other_adults=0)),  # no age, no adult: counts as an adult
            ],
            deceased={dead},
        )
    )

    assert outcome.code == "survivor_liable"
    assert outcome.references["adults"] == "1"
    assert (await accounts(store))["CT-TEST000003"].liable == (unknown,)


async def test_several_adults_left_update_the_account_without_a_discount(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    dead, spouse, son, grandchild = (new_resident() for _ in range(4))
    await account_at(store, "CT-TEST000004", [dead, spouse], 2, LAST)

    outcome = await service.record_death(
        action_of(
            service,
            [
                (dead, deceased()),
                (spouse, survivor(age=83, other_adults=1)),
                (son, survivor(age=50, other_adults=1)),
                (grandchild, survivor(age=12, other_adults=2)),
            ],
            deceased={dead},
        )
    )

    assert outcome.outcome == "done"
    assert outcome.code == "account_updated"
    assert outcome.references == {
        "account": "CT-TEST000004",
        "liability_end": "2025-08-07",
        "adults": "2",
    }
    account = (await accounts(store))["CT-TEST000004"]
    assert set(account.liable) == {spouse, son}
    assert account.adults == 2
    assert account.discount_percent == 0


async def test_an_adult_the_gate_left_out_is_still_counted(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    dead, spouse = new_resident(), new_resident()
    await account_at(store, "CT-TEST000005", [dead, spouse], 3, LAST)

    # The spouse's share says one other adult survives, whose own share is not here.
    outcome = await service.record_death(
        action_of(
            service,
            [(dead, deceased()), (spouse, survivor(age=83, other_adults=1))],
            deceased={dead},
        )
    )

    assert outcome.code == "account_updated"
    assert outcome.references["adults"] == "2"
    assert (await accounts(store))["CT-TEST000005"].liable == (spouse,)


@pytest.mark.parametrize(
    ("shared", "role"),
    [
        (["executor"], "executor"),
        (["informant"], "informant"),
        (["informant", "executor"], "executor"),
    ],
)
async def test_nobody_left_passes_the_account_to_the_estate_exempt_under_class_f(
    service: CouncilTaxActivities, store: CouncilTaxStore, shared: list[str], role: str
) -> None:
    dead = new_resident()
    people = {r: new_resident() for r in shared}
    await account_at(store, "CT-TEST000006", [dead], 1, LAST)

    outcome = await service.record_death(
        action_of(
            service,
            [(dead, deceased()), *((key, contact(r)) for r, key in people.items())],
            deceased={dead},
        )
    )

    assert outcome.outcome == "done"
    assert outcome.code == "account_passed_to_estate"
    estate = outcome.references["account"]
    assert estate.startswith("CT-")
    assert estate != "CT-TEST000006"
    assert outcome.references == {
        "closed_account": "CT-TEST000006",
        "liability_end": "2025-08-07",
        "account": estate,
        "exemption": "class_f",
        "contact_role": role,
    }
    found = await accounts(store)
    assert found["CT-TEST000006"].closed_on == date(2025, 8, 7)
    assert found["CT-TEST000006"].liable == ()
    assert found[estate].opened_on == date(2025, 8, 8)
    assert found[estate].closed_on is None
    assert found[estate].liable == ()
    assert found[estate].adults == 0
    assert await store.exemption_of(estate) == ("F", date(2025, 8, 8))
    assert await store.exemption_of("CT-TEST000006") is None
    assert await store.contact_of(estate) == AccountContact(estate, role, people[role])
    assert await store.liability_ends() == [
        LiabilityEnd("CT-TEST000006", dead, date(2025, 8, 7), "death")
    ]


async def test_nobody_left_and_no_contact_shared_still_passes_to_the_estate(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    dead = new_resident()
    await account_at(store, "CT-TEST000007", [dead], 1, LAST)

    outcome = await service.record_death(action_of(service, [(dead, deceased())], deceased={dead}))

    assert outcome.code == "account_passed_to_estate"
    assert outcome.references["contact_role"] == "none"
    assert await store.contact_of(outcome.references["account"]) is None


async def test_only_children_left_pass_the_account_to_the_estate(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    dead, child, executor = new_resident(), new_resident(), new_resident()
    await account_at(store, "CT-TEST000008", [dead], 1, LAST)

    outcome = await service.record_death(
        action_of(
            service,
            [(dead, deceased()), (child, survivor(age=15)), (executor, contact("executor"))],
            deceased={dead},
        )
    )

    assert outcome.code == "account_passed_to_estate"


async def test_a_contact_is_not_kept_when_someone_survives(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    dead, spouse, executor = new_resident(), new_resident(), new_resident()
    await account_at(store, "CT-TEST000009", [dead, spouse], 2, LAST)

    outcome = await service.record_death(
        action_of(
            service,
            [(dead, deceased()), (spouse, survivor()), (executor, contact("executor"))],
            deceased={dead},
        )
    )

    assert outcome.code == "survivor_liable"
    assert await store.contact_of("CT-TEST000009") is None
    assert len(await store.all_accounts()) == 1


async def test_the_deceaseds_own_account_is_chosen_where_several_are_open(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    dead, spouse, lodger = new_resident(), new_resident(), new_resident()
    await account_at(store, "CT-TEST00000A", [lodger], 1, LAST)
    await account_at(store, "CT-TEST00000B", [dead, spouse], 2, LAST)

    outcome = await service.record_death(
        action_of(service, [(dead, deceased()), (spouse, survivor())], deceased={dead})
    )

    assert outcome.references["account"] == "CT-TEST00000B"
    found = await accounts(store)
    assert found["CT-TEST00000A"].liable == (lodger,)
    assert found["CT-TEST00000A"].adults == 1


@pytest.mark.parametrize("anyone_left", [False, True])
async def test_no_account_at_the_address_is_no_action_and_writes_nothing(
    service: CouncilTaxActivities, store: CouncilTaxStore, anyone_left: bool
) -> None:
    dead, spouse = new_resident(), new_resident()
    await account_at(store, "CT-TEST00000C", [dead], 1, ELSEWHERE)
    people = [(dead, deceased()), (spouse, survivor())] if anyone_left else [(dead, deceased())]
    before = await snapshot(store)

    outcome = await service.record_death(action_of(service, people, deceased={dead}))

    assert outcome.outcome == "no_action"
    assert outcome.code == "no_account"
    assert outcome.references == {"liability_end": "2025-08-07"}
    after = await snapshot(store)
    assert {k: v for k, v in after.items() if k != "ctax_actions"} == {
        k: v for k, v in before.items() if k != "ctax_actions"
    }


async def test_the_same_step_twice_changes_once_and_answers_the_same(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    dead, executor = new_resident(), new_resident()
    await account_at(store, "CT-TEST00000D", [dead], 1, LAST)
    first_action = action_of(
        service, [(dead, deceased()), (executor, contact("executor"))], deceased={dead}
    )
    first = await service.record_death(first_action)
    after_first = await snapshot(store)

    again = await service.record_death(first_action)

    assert again == first
    assert await snapshot(store) == after_first
    assert len(await store.all_accounts()) == 2


async def test_a_second_workflow_about_the_same_death_changes_nothing(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    dead, executor = new_resident(), new_resident()
    await account_at(store, "CT-TEST00000E", [dead], 1, LAST)
    people = [(dead, deceased()), (executor, contact("executor"))]
    await service.record_death(action_of(service, people, deceased={dead}))
    after_first = await snapshot(store)

    outcome = await service.record_death(action_of(service, people, deceased={dead}))

    assert outcome.outcome == "no_action"
    assert outcome.code == "already_recorded"
    assert outcome.references == {"account": "CT-TEST00000E", "liability_end": "2025-08-07"}
    after = await snapshot(store)
    assert after["ctax_accounts"] == after_first["ctax_accounts"]
    assert after["ctax_contacts"] == after_first["ctax_contacts"]


@pytest.mark.parametrize(
    ("people", "code"),
    [
        pytest.param(
            lambda dead, other: [(other, survivor())],
            "invalid_data:no_deceased",
            id="no_deceased",
        ),
        pytest.param(
            lambda dead, other: [(dead, deceased()), (other, deceased())],
            "invalid_data:deceased_repeated",
            id="two_deceased",
        ),
    ],
)
async def test_not_exactly_one_deceased_is_invalid_data(
    service: CouncilTaxActivities, store: CouncilTaxStore, people: Any, code: str
) -> None:
    dead, other = new_resident(), new_resident()
    await account_at(store, "CT-TEST00000F", [dead, other], 2, LAST)
    before = await snapshot(store)

    with pytest.raises(ApplicationError) as refused:
        await service.record_death(action_of(service, people(dead, other), deceased={dead, other}))

    assert refused.value.type == "ShareDataInvalid"
    assert refused.value.message == code
    assert await snapshot(store) == before


async def test_a_death_the_gate_does_not_know_ends_nothing(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    """A share saying `death` about a resident the gate has not recorded as deceased (a token
    without its `deceased` claim) is refused: no living resident's liability is ended on a
    share alone."""
    dead, spouse = new_resident(), new_resident()
    await account_at(store, "CT-TEST00000H", [dead, spouse], 2, LAST)
    before = await snapshot(store)

    with pytest.raises(ApplicationError) as refused:
        await service.record_death(
            action_of(service, [(dead, deceased()), (spouse, survivor())], deceased=())
        )

    assert (refused.value.type, refused.value.message) == ("ShareRefused", "death_not_recorded")
    assert refused.value.non_retryable
    assert await snapshot(store) == before


async def test_record_death_through_a_temporal_worker(
    service: CouncilTaxActivities, store: CouncilTaxStore, time_skipping_env: WorkflowEnvironment
) -> None:
    dead, spouse = new_resident(), new_resident()
    await account_at(store, "CT-TEST00000G", [dead, spouse], 2, LAST)

    outcome = await through_temporal(
        time_skipping_env,
        service.all,
        Activity.COUNCIL_TAX_RECORD_DEATH,
        action_of(service, [(dead, deceased()), (spouse, survivor())], deceased={dead}),
    )

    assert outcome.code == "survivor_liable"
    assert outcome.references["account"] == "CT-TEST00000G"
    assert (await accounts(store))["CT-TEST00000G"].liable == (spouse,)


# --- apply_single_person_discount -----------------------------------------------------------


async def _widowed(
    service: CouncilTaxActivities, store: CouncilTaxStore, reference: str, died: date = DIED
) -> str:
    """A couple's account at LAST, then one of them died on `died`: the other's key."""
    dead, spouse = new_resident(), new_resident()
    await account_at(store, reference, [dead, spouse], 2, LAST)
    outcome = await service.record_death(
        action_of(service, [(dead, deceased(died=died)), (spouse, survivor())], deceased={dead})
    )
    assert outcome.code == "survivor_liable"
    return spouse


def discount_for(
    service: CouncilTaxActivities, resident: str, deceased_token: bool = False, **household: Any
) -> ServiceAction:
    return action_of(
        service,
        [(resident, survivor(**household))],
        deceased={resident} if deceased_token else (),
        step="council-tax-discount",
    )


async def test_the_discount_applies_from_the_day_after_the_death(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    spouse = await _widowed(service, store, "CT-TEST00000H", died=date(2025, 8, 31))

    outcome = await service.apply_single_person_discount(discount_for(service, spouse))

    assert outcome.outcome == "done"
    assert outcome.code == "discount_applied"
    assert outcome.references == {
        "account": "CT-TEST00000H",
        "single_person_discount": "25%",
        "from": "2025-09-01",
    }
    account = (await accounts(store))["CT-TEST00000H"]
    assert account.discount_percent == 25
    assert account.adults == 1
    assert await store.discounts_of("CT-TEST00000H") == [(25, date(2025, 9, 1))]


async def test_the_discount_twice_changes_once(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    spouse = await _widowed(service, store, "CT-TEST00000I")
    applying = discount_for(service, spouse)
    first = await service.apply_single_person_discount(applying)
    after_first = await snapshot(store)

    again = await service.apply_single_person_discount(applying)

    assert again == first
    assert first.references["from"] == "2025-08-08"
    assert await snapshot(store) == after_first


async def test_the_discount_is_refused_for_a_resident_stamped_deceased(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    spouse = await _widowed(service, store, "CT-TEST00000J")
    before = await snapshot(store)

    with pytest.raises(ApplicationError) as refused:
        await service.apply_single_person_discount(
            discount_for(service, spouse, deceased_token=True)
        )

    assert refused.value.type == "ShareRefused"
    assert refused.value.message == "resident_deceased"
    assert await snapshot(store) == before


@pytest.mark.parametrize(
    "household",
    [
        pytest.param({"age": 83, "other_adults": 1}, id="another_adult"),
        pytest.param({"age": 17, "other_adults": 0}, id="a_child"),
    ],
)
async def test_no_discount_when_they_are_not_the_only_adult(
    service: CouncilTaxActivities, store: CouncilTaxStore, household: dict[str, Any]
) -> None:
    spouse = await _widowed(service, store, "CT-TEST00000K")

    outcome = await service.apply_single_person_discount(discount_for(service, spouse, **household))

    assert outcome.outcome == "no_action"
    assert outcome.code == "not_only_adult"
    assert (await accounts(store))["CT-TEST00000K"].discount_percent == 0


async def test_no_discount_when_the_account_counts_another_adult(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    spouse = await _widowed(service, store, "CT-TEST00000L")
    # Someone moved in since: the account counts two adults again.
    await service.record_move(
        action_of(
            service,
            [
                (
                    new_resident(),
                    {
                        "identity": {"name": DAUGHTER},
                        "address": move("into", new=LAST),
                        "household": {"age": 50, "other_adults": 1},
                    },
                )
            ],
            event_type="lifeevents.address.changed.v1",
        )
    )

    outcome = await service.apply_single_person_discount(discount_for(service, spouse))

    assert outcome.outcome == "no_action"
    assert outcome.code == "not_only_adult"
    assert outcome.references == {"account": "CT-TEST00000L"}


async def test_no_discount_without_an_account_or_a_death_recorded_on_it(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    unknown = await service.apply_single_person_discount(discount_for(service, new_resident()))
    alone = new_resident()
    await account_at(store, "CT-TEST00000M", [alone], 1, LAST)
    no_death = await service.apply_single_person_discount(discount_for(service, alone))

    assert (unknown.outcome, unknown.code) == ("no_action", "no_account")
    assert (no_death.outcome, no_death.code) == ("no_action", "no_death_recorded")
    assert (await accounts(store))["CT-TEST00000M"].discount_percent == 0


async def test_the_discount_for_two_residents_is_invalid_data(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    spouse = await _widowed(service, store, "CT-TEST00000N")

    with pytest.raises(ApplicationError) as refused:
        await service.apply_single_person_discount(
            action_of(service, [(spouse, survivor()), (new_resident(), survivor())])
        )

    assert refused.value.type == "ShareDataInvalid"
    assert refused.value.message == "invalid_data:one_survivor"


async def test_the_discount_through_a_temporal_worker(
    service: CouncilTaxActivities, store: CouncilTaxStore, time_skipping_env: WorkflowEnvironment
) -> None:
    spouse = await _widowed(service, store, "CT-TEST00000O")

    outcome = await through_temporal(
        time_skipping_env,
        service.all,
        Activity.COUNCIL_TAX_SINGLE_PERSON_DISCOUNT,
        discount_for(service, spouse),
    )

    assert outcome.code == "discount_applied"
    assert outcome.references["from"] == "2025-08-08"


# --- an action not about a death -------------------------------------------------------------


async def test_record_move_refuses_a_resident_stamped_deceased(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    mover = new_resident()
    data = {
        "identity": {"name": ALBERT, "date_of_birth": "1938-02-14"},
        "address": move("within", new=LAST),
        "household": {"age": 87, "other_adults": 0},
    }
    stamped = ServiceAction(
        workflow_id="move-of-someone-who-died",
        step="council-tax",
        event_id="event-1",
        event_type="lifeevents.address.changed.v1",
        shares=(share(service, mover, data, deceased=True),),
    )
    before = await snapshot(store)

    with pytest.raises(ApplicationError) as refused:
        await service.record_move(stamped)

    assert refused.value.type == "ShareRefused"
    assert refused.value.non_retryable
    assert refused.value.message == "resident_deceased"
    assert await snapshot(store) == before
    # The same move for a living resident goes through.
    alive = stamped.model_copy(update={"shares": (share(service, mover, data),)})
    assert (await service.record_move(alive)).code == "account_closed_and_opened"
