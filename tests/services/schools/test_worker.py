"""The school admissions activities through Temporal: the catchment before confirmation,
then the application, once even when the first attempt crashed past its commit."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from contracts.actions import ServiceAction
from contracts.temporal import Activity
from services.schools.activities import SchoolActivities
from services.schools.store import SchoolStore
from tests.support.council import (
    action,
    crashing_after_commit,
    keys,
    move,
    new_resident,
    sqlite_store,
    through_temporal,
)


async def test_catchment_then_one_application_despite_a_crash_past_the_commit(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with sqlite_store(SchoolStore, tmp_path) as store:
        service = SchoolActivities(store, keys())
        child = (new_resident(),)
        found = await through_temporal(
            time_skipping_env,
            service.all,
            Activity.SCHOOLS_FIND_CATCHMENT,
            action(service, {"address": move("within")}, child),
        )
        assert found.references["primary_school"] == "Fictitious Avenue Primary School"

        attempts: list[int] = []
        crashing = crashing_after_commit(
            service.offer_in_year_admission,
            ServiceAction,
            Activity.SCHOOLS_OFFER_IN_YEAR_ADMISSION,
            attempts,
        )
        data = {
            "identity": [{"name": {"given_names": "Robin", "family_name": "Placeholder"}}],
            "birth": [{"date_of_birth": "2015-06-15"}],
            "address": move("within"),
        }
        outcome = await through_temporal(
            time_skipping_env,
            [crashing],
            Activity.SCHOOLS_OFFER_IN_YEAR_ADMISSION,
            action(service, data, child),
        )

        assert attempts == [1, 2]
        [application] = await store.all_applications()
        assert outcome.references["application_1"] == application.reference
