"""benefits.record_death: the deceased's housing benefit and council tax reduction end on the
Sunday that ends the benefit week of the death; a change-of-circumstances review from the
day after the death for each survivor's claim, and for each adult survivor when the deceased
had a claim; idempotent; one test through a real Temporal worker."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from contracts.temporal import Activity
from services.benefits.activities import BenefitActivities
from services.benefits.store import BenefitStore, Claim, ClaimEnd, ClaimKind, Review
from tests.support.council import action_of, address, new_resident, snapshot, through_temporal

DIED = date(2025, 8, 7)  # a Thursday
LAST = address("12 Hypothetical Road", "AB4 6LN", uprn="999000000012")
STARTED = date(2023, 4, 3)


def deceased(died: date = DIED) -> dict[str, Any]:
    return {
        "identity": {
            "name": {"given_names": "Imaginary Albert", "family_name": "Testworth"},
            "date_of_birth": "1938-02-14",
        },
        "death": {"date_of_death": died.isoformat(), "last_address": LAST},
    }


def survivor(age: int | None = 83, other_adults: int = 0) -> dict[str, Any]:
    return {
        "identity": {"name": {"given_names": "Madeup Mary", "family_name": "Testworth"}},
        "household": {"age": age, "other_adults": other_adults},
    }


async def claims(store: BenefitStore, *held: tuple[str, str, ClaimKind]) -> None:
    """(reference, resident, kind) for each claim."""
    added = await store.add_claims(
        [Claim(reference, resident, kind, STARTED) for reference, resident, kind in held]
    )
    assert added == len(held)


async def test_the_deceaseds_claims_end_and_the_adult_left_is_reviewed(
    service: BenefitActivities, store: BenefitStore
) -> None:
    dead, spouse, grandchild = new_resident(), new_resident(), new_resident()
    await claims(
        store,
        ("HB-TEST000001", dead, "housing_benefit"),
        ("CTR-TEST00001", dead, "council_tax_reduction"),
    )

    outcome = await service.record_death(
        action_of(
            service,
            [
                (dead, deceased()),
                (spouse, survivor(83)),
                (grandchild, survivor(12, other_adults=1)),
            ],
            deceased={dead},
        )
    )

    assert outcome.outcome == "done"
    assert outcome.code == "claims_ended"
    [review] = await store.all_reviews()
    assert outcome.references == {
        "claims": "CTR-TEST00001,HB-TEST000001",
        "ended_on": "2025-08-10",  # the Sunday after Thursday 7 August
        "reviews": review.reference,
        "reviews_from": "2025-08-08",
    }
    assert review == Review(review.reference, spouse, None, "death_in_household", date(2025, 8, 8))
    assert review.reference.startswith("REV-")
    assert await store.ended_claims() == [
        ClaimEnd("CTR-TEST00001", "ended", date(2025, 8, 10), "claimant_died"),
        ClaimEnd("HB-TEST000001", "ended", date(2025, 8, 10), "claimant_died"),
    ]


@pytest.mark.parametrize(
    ("died", "last_paid"),
    [
        (date(2025, 8, 7), "2025-08-10"),  # Thursday → that week's Sunday
        (date(2025, 8, 9), "2025-08-10"),  # Saturday → the next day
        (date(2025, 8, 10), "2025-08-10"),  # Sunday → that very day
        (date(2025, 8, 11), "2025-08-17"),  # Monday → the week's end, six days on
        (date(2025, 12, 29), "2026-01-04"),  # a week across the new year
    ],
)
async def test_claims_end_on_the_sunday_that_ends_the_benefit_week(
    service: BenefitActivities, store: BenefitStore, died: date, last_paid: str
) -> None:
    dead = new_resident()
    await claims(store, ("HB-TEST000002", dead, "housing_benefit"))

    outcome = await service.record_death(
        action_of(service, [(dead, deceased(died))], deceased={dead})
    )

    assert outcome.code == "claims_ended"
    assert outcome.references == {"claims": "HB-TEST000002", "ended_on": last_paid}
    [ended] = await store.ended_claims()
    assert ended.ended_on.isoformat() == last_paid
    assert await store.all_reviews() == []


async def test_a_survivors_own_claims_are_each_reviewed(
    service: BenefitActivities, store: BenefitStore
) -> None:
    dead, spouse, son = new_resident(), new_resident(), new_resident()
    await claims(
        store,
        ("HB-TEST000003", dead, "housing_benefit"),
        ("CTR-TEST00003", spouse, "council_tax_reduction"),
        ("HB-TEST000004", spouse, "housing_benefit"),
    )

    outcome = await service.record_death(
        action_of(
            service,
            [(dead, deceased()), (spouse, survivor(80, 1)), (son, survivor(None, 1))],
            deceased={dead},
        )
    )

    assert outcome.code == "claims_ended"
    reviews = await store.all_reviews()
    assert {(r.resident, r.claim) for r in reviews} == {
        (spouse, "CTR-TEST00003"),
        (spouse, "HB-TEST000004"),
        (son, None),  # an adult (age unknown) with no claim: perhaps the partner
    }
    assert {r.effective_from for r in reviews} == {date(2025, 8, 8)}
    assert sorted(outcome.references["reviews"].split(",")) == sorted(r.reference for r in reviews)
    assert [e.claim for e in await store.ended_claims()] == ["HB-TEST000003"]


async def test_only_a_survivors_claim_opens_a_review(
    service: BenefitActivities, store: BenefitStore
) -> None:
    dead, spouse, daughter = new_resident(), new_resident(), new_resident()
    await claims(store, ("CTR-TEST00005", spouse, "council_tax_reduction"))

    outcome = await service.record_death(
        action_of(
            service,
            [(dead, deceased()), (spouse, survivor(79, 1)), (daughter, survivor(45, 1))],
            deceased={dead},
        )
    )

    assert outcome.outcome == "done"
    assert outcome.code == "reviews_opened"
    [review] = await store.all_reviews()
    assert outcome.references == {"reviews": review.reference, "reviews_from": "2025-08-08"}
    # The daughter has no claim, and the deceased had none she could have been partner on.
    assert review == Review(
        review.reference, spouse, "CTR-TEST00005", "death_in_household", date(2025, 8, 8)
    )
    assert await store.ended_claims() == []


async def test_no_claim_anywhere_is_no_action(
    service: BenefitActivities, store: BenefitStore
) -> None:
    dead, spouse = new_resident(), new_resident()
    before = await snapshot(store)

    outcome = await service.record_death(
        action_of(service, [(dead, deceased()), (spouse, survivor())], deceased={dead})
    )

    assert outcome.outcome == "no_action"
    assert outcome.code == "no_claims"
    assert outcome.references == {}
    after = await snapshot(store)
    assert {k: v for k, v in after.items() if k != "benefit_actions"} == {
        k: v for k, v in before.items() if k != "benefit_actions"
    }


async def test_the_same_step_twice_changes_once_and_answers_the_same(
    service: BenefitActivities, store: BenefitStore
) -> None:
    dead, spouse = new_resident(), new_resident()
    await claims(store, ("HB-TEST000006", dead, "housing_benefit"))
    first_action = action_of(service, [(dead, deceased()), (spouse, survivor())], deceased={dead})
    first = await service.record_death(first_action)
    after_first = await snapshot(store)

    again = await service.record_death(first_action)

    assert again == first
    assert await snapshot(store) == after_first
    assert len(await store.all_reviews()) == 1


async def test_a_second_workflow_about_the_same_death_changes_nothing(
    service: BenefitActivities, store: BenefitStore
) -> None:
    dead, spouse = new_resident(), new_resident()
    await claims(store, ("HB-TEST000007", dead, "housing_benefit"))
    people = [(dead, deceased()), (spouse, survivor())]
    await service.record_death(action_of(service, people, deceased={dead}))
    after_first = await snapshot(store)

    outcome = await service.record_death(action_of(service, people, deceased={dead}))

    assert outcome.outcome == "no_action"
    assert outcome.code == "already_recorded"
    assert outcome.references == {"claims": "HB-TEST000007", "ended_on": "2025-08-10"}
    after = await snapshot(store)
    assert {k: v for k, v in after.items() if k != "benefit_actions"} == {
        k: v for k, v in after_first.items() if k != "benefit_actions"
    }


@pytest.mark.parametrize(
    ("people", "code"),
    [
        pytest.param(lambda d, o: [(o, survivor())], "invalid_data:no_deceased", id="no_deceased"),
        pytest.param(
            lambda d, o: [(d, deceased()), (o, deceased())],
            "invalid_data:deceased_repeated",
            id="two",
        ),
        pytest.param(
            lambda d, o: [(d, deceased()), (o, {"identity": survivor()["identity"]})],
            "invalid_data:household",
            id="survivor_without_household",
        ),
    ],
)
async def test_shares_that_do_not_describe_one_death_are_invalid_data(
    service: BenefitActivities, store: BenefitStore, people: Any, code: str
) -> None:
    dead, other = new_resident(), new_resident()
    await claims(store, ("HB-TEST000008", dead, "housing_benefit"))
    before = await snapshot(store)

    with pytest.raises(ApplicationError) as refused:
        await service.record_death(action_of(service, people(dead, other), deceased={dead, other}))

    assert refused.value.type == "ShareDataInvalid"
    assert refused.value.message == code
    assert await snapshot(store) == before


async def test_record_death_through_a_temporal_worker(
    service: BenefitActivities, store: BenefitStore, time_skipping_env: WorkflowEnvironment
) -> None:
    dead = new_resident()
    await claims(store, ("HB-TEST000009", dead, "housing_benefit"))

    outcome = await through_temporal(
        time_skipping_env,
        service.all,
        Activity.BENEFITS_RECORD_DEATH,
        action_of(service, [(dead, deceased(date(2025, 8, 10)))], deceased={dead}),
    )

    assert outcome.code == "claims_ended"
    assert outcome.references == {"claims": "HB-TEST000009", "ended_on": "2025-08-10"}
