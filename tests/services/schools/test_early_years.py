"""schools.record_early_years and schools.offer_early_education: a birth puts the child on the
early-years list once, with the dates of their funded hours and reception; on the day an
entitlement begins (the workflow's day, in England) the one begun is offered, once per child
and entitlement. Against the service's own SQLite store; the day of the action is set as
Temporal sets it (`ActivityEnvironment`, and through a time-skipping worker).

Tokens are made with the recipient and purpose the catalogue names, spelled out here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from contracts.actions import ActionOutcome, ServiceAction
from contracts.childhood import childhood_dates
from contracts.temporal import Activity
from services.schools.activities import SchoolActivities
from services.schools.store import EarlyOffer, EarlyYearsEntry, SchoolStore
from tests.support.council import (
    REFUSALS,
    Refusal,
    action_of,
    address,
    assert_refused_untouched,
    keys,
    snapshot,
    sqlite_store,
    through_temporal,
)

BORN = "2023-05-20"
CHILD = "res_child0000000000000"
PARENT_A = "res_parentA00000000000"
PARENT_B = "res_parentB00000000000"
HOME = address("44 Fictitious Avenue", "AB2 4FG", uprn="999000000044")

# For a child born on 20 May 2023 (contracts.childhood): the terms after the second and
# third birthdays, and the September after the fourth.
REGISTERED = {
    "family_information_service": "Exampletown Family Information Service",
    "two_year_old_funding_from": "2025-09-01",
    "three_year_old_entitlement_from": "2026-09-01",
    "reception_starts": "2027-09-01",
}
TWO = {"entitlement": "two_year_old_funding", "from": "2025-09-01", "hours": "15"}
THREE = {"entitlement": "three_year_old_entitlement", "from": "2026-09-01", "hours": "15"}


@dataclass(frozen=True)
class Purpose:
    """What a token for a step is for, as the catalogue and policy say."""

    purpose: str = "early-years-planning"
    recipient: str = "school-admissions"


EARLY_YEARS = Purpose()


def child_data(born: str = BORN) -> dict[str, Any]:
    return {
        "identity": {
            "name": {"given_names": "Fictional Poppy", "family_name": "Sampleworth"},
            "date_of_birth": born,
        },
        "birth": {"date_of_birth": born},
        "address": {"address": HOME},
    }


def parent_data() -> dict[str, Any]:
    return {
        "identity": {"name": {"given_names": "Invented Jo", "family_name": "Sampleworth"}},
        "address": {"address": HOME},
    }


def birth(
    *people: tuple[str, dict[str, Any]],
    purpose: Purpose = EARLY_YEARS,
    deceased: frozenset[str] = frozenset(),
    workflow_id: str | None = None,
    step: str = "step",
) -> ServiceAction:
    """The step's action: each parent's share, then the child's, unless `people` says."""
    shares = list(people) or [
        (PARENT_A, parent_data()),
        (PARENT_B, parent_data()),
        (CHILD, child_data()),
    ]
    return action_of(
        purpose,  # type: ignore[arg-type]  # what a token is for: recipient and purpose
        shares,
        deceased=deceased,
        workflow_id=workflow_id,
        step=step,
        event_type="lifeevents.birth.registered.v1",
    )


def scheduled(at: datetime) -> ActivityEnvironment:
    """An activity context whose action was scheduled by the workflow at `at`."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, scheduled_time=at)
    return env


def on(day: str) -> ActivityEnvironment:
    """Scheduled at 09:00 in England on `day`."""
    return scheduled(
        datetime.combine(date.fromisoformat(day), datetime.min.time()).replace(
            hour=9, tzinfo=ZoneInfo("Europe/London")
        )
    )


# --- the early-years list ---------------------------------------------------------------------


async def test_the_child_is_put_on_the_early_years_list_with_the_dates_ahead(
    service: SchoolActivities, store: SchoolStore
) -> None:
    outcome = await service.record_early_years(birth())
    assert outcome == ActionOutcome(outcome="done", code="registered", references=REGISTERED)
    # The date of birth and the postcode district only: no name, no address.
    assert await store.all_early_years() == [EarlyYearsEntry(CHILD, date(2023, 5, 20), "AB2")]


async def test_the_same_step_twice_records_once_and_another_workflow_finds_the_child_listed(
    service: SchoolActivities, store: SchoolStore
) -> None:
    first_action = birth()
    first = await service.record_early_years(first_action)
    after = await snapshot(store)
    assert await service.record_early_years(first_action) == first
    assert await snapshot(store) == after
    again = await service.record_early_years(birth())
    assert again == ActionOutcome(
        outcome="no_action", code="already_registered", references=REGISTERED
    )
    assert len(await store.all_early_years()) == 1


# --- funded early education -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "code", "references"),
    [
        (datetime(2025, 8, 31, 8, 0, tzinfo=UTC), "not_yet_entitled", {}),
        # 23:59 on 31 August in England is still before the term.
        (datetime(2025, 8, 31, 22, 59, tzinfo=UTC), "not_yet_entitled", {}),
        # Midnight in England (BST) is 23:00 UTC: the day the term begins.
        (datetime(2025, 8, 31, 23, 0, tzinfo=UTC), "offer_made", TWO),
        (datetime(2026, 8, 31, 12, 0, tzinfo=UTC), "offer_made", TWO),
        (datetime(2026, 9, 1, 8, 0, tzinfo=UTC), "offer_made", THREE),
        (datetime(2029, 1, 1, 8, 0, tzinfo=UTC), "offer_made", THREE),
    ],
)
async def test_the_latest_entitlement_begun_on_the_day_in_england_is_offered(
    service: SchoolActivities,
    store: SchoolStore,
    at: datetime,
    code: str,
    references: dict[str, str],
) -> None:
    outcome = await scheduled(at).run(service.offer_early_education, birth())
    assert (outcome.code, outcome.references) == (code, references)
    assert outcome.outcome == ("done" if references else "no_action")
    offered = await store.all_early_offers()
    if references:
        kind = "two_year_old" if references is TWO else "three_year_old"
        from_date = date.fromisoformat(references["from"])
        assert offered == [EarlyOffer(CHILD, kind, from_date, 15)]
    else:
        assert offered == []


async def test_each_entitlement_is_offered_once_per_child(
    service: SchoolActivities, store: SchoolStore
) -> None:
    two = await on("2025-09-01").run(service.offer_early_education, birth(step="two"))
    assert (two.code, two.references) == ("offer_made", TWO)
    # The same entitlement asked again (another workflow about the same birth), later on.
    again = await on("2025-11-03").run(service.offer_early_education, birth(step="two"))
    assert again == ActionOutcome(outcome="no_action", code="already_offered", references=TWO)
    three = await on("2026-09-01").run(service.offer_early_education, birth(step="three"))
    assert (three.code, three.references) == ("offer_made", THREE)
    assert await store.all_early_offers() == [
        EarlyOffer(CHILD, "two_year_old", date(2025, 9, 1), 15),
        EarlyOffer(CHILD, "three_year_old", date(2026, 9, 1), 15),
    ]


async def test_a_retry_answers_what_the_first_attempt_recorded(
    service: SchoolActivities, store: SchoolStore
) -> None:
    first_action = birth()
    first = await on("2025-09-01").run(service.offer_early_education, first_action)
    after = await snapshot(store)
    # Whatever day the retry comes on, the step was done: the same answer, nothing new.
    retried = await on("2026-09-02").run(service.offer_early_education, first_action)
    assert retried == first
    assert await snapshot(store) == after


async def test_the_day_is_the_workflows_through_a_time_skipping_worker(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # A child whose third birthday is a month ahead of the test server's clock: the
    # two-year-old funding has begun, the three-year-old entitlement has not.
    today = (await time_skipping_env.get_current_time()).astimezone(ZoneInfo("Europe/London"))
    born = today.date().replace(year=today.year - 3) + timedelta(days=30)
    dates = childhood_dates(born)
    async with sqlite_store(SchoolStore, tmp_path) as store:
        service = SchoolActivities(store, keys())
        people = ((PARENT_A, parent_data()), (CHILD, child_data(born.isoformat())))
        name = Activity.SCHOOLS_OFFER_EARLY_EDUCATION
        first = await through_temporal(time_skipping_env, service.all, name, birth(*people))
        assert first.references["entitlement"] == "two_year_old_funding"
        assert first.references["from"] == dates.two_year_old_funding.isoformat()
        # The workflow's clock skips to the day after the entitlement begins.
        await time_skipping_env.sleep(
            datetime.combine(dates.three_year_old_entitlement, datetime.min.time()).replace(
                tzinfo=ZoneInfo("Europe/London")
            )
            + timedelta(days=1)
            - await time_skipping_env.get_current_time()
        )
        later = await through_temporal(time_skipping_env, service.all, name, birth(*people))
        assert later.code == "offer_made"
        assert later.references["entitlement"] == "three_year_old_entitlement"
        assert later.references["from"] == dates.three_year_old_entitlement.isoformat()


# --- refusals ---------------------------------------------------------------------------------


def _early_years(service: SchoolActivities, name: str) -> Any:
    if name == "record":
        return service.record_early_years

    async def offer(action: ServiceAction) -> ActionOutcome:
        return await on("2026-09-01").run(service.offer_early_education, action)

    return offer


STEPS = ["record", "offer"]


@pytest.mark.parametrize("step", STEPS)
async def test_a_resident_the_gate_knows_to_have_died_is_refused(
    service: SchoolActivities, store: SchoolStore, step: str
) -> None:
    await assert_refused_untouched(
        _early_years(service, step),
        birth(deceased=frozenset({PARENT_B})),
        "resident_deceased",
        store,
    )


@pytest.mark.parametrize("step", STEPS)
async def test_a_token_for_school_admissions_own_purpose_is_refused(
    service: SchoolActivities, store: SchoolStore, step: str
) -> None:
    await assert_refused_untouched(
        _early_years(service, step),
        birth(purpose=Purpose("school-admission-planning")),
        "wrong_purpose",
        store,
    )


def _child_altered(good: ServiceAction) -> ServiceAction:
    last = good.shares[-1]
    data = {**last.data, "birth": {"date_of_birth": "2023-05-21"}}
    return good.model_copy(
        update={"shares": (*good.shares[:-1], last.model_copy(update={"data": data}))}
    )


BIRTH_REFUSALS: list[tuple[str, Refusal]] = [
    *[(problem, spoil) for problem, spoil in REFUSALS if problem != "data_altered"],
    ("data_altered", lambda _s, good: _child_altered(good)),
]


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize(("problem", "spoil"), BIRTH_REFUSALS, ids=[p for p, _ in BIRTH_REFUSALS])
async def test_a_bad_token_is_refused_and_nothing_changes(
    service: SchoolActivities, store: SchoolStore, step: str, problem: str, spoil: Refusal
) -> None:
    good = birth()
    await assert_refused_untouched(
        _early_years(service, step),
        spoil(EARLY_YEARS, good),  # type: ignore[arg-type]
        problem,
        store,
    )


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize(
    ("people", "code"),
    [
        ([(PARENT_A, parent_data())], "invalid_data:no_child"),
        ([(CHILD, child_data()), (PARENT_A, child_data())], "invalid_data:child_repeated"),
        ([(CHILD, {**child_data(), "address": HOME})], "invalid_data:address.address"),
    ],
    ids=["no_child", "two_children", "not_a_home"],
)
async def test_shares_that_are_not_one_birth_are_refused_as_invalid(
    service: SchoolActivities,
    store: SchoolStore,
    step: str,
    people: list[tuple[str, dict[str, Any]]],
    code: str,
) -> None:
    before = await snapshot(store)
    with pytest.raises(ApplicationError) as refused:
        await _early_years(service, step)(birth(*people))
    assert refused.value.type == "ShareDataInvalid"
    assert refused.value.message == code
    assert await snapshot(store) == before
