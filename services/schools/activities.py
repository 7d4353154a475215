"""School admissions activities, on task queue `school-admissions`.

| activity | input | result |
| --- | --- | --- |
| `schools.find_catchment` | `ServiceAction` (address) | `ActionOutcome`, nothing recorded |
| `schools.offer_in_year_admission` | `ServiceAction` (identity, birth, address) | `ActionOutcome` |

`find_catchment` names the catchment schools of the new address, so the workflow can show
the resident the offer before they confirm. Once they have, `offer_in_year_admission`
records an in-year admission application for each child in a school year (Reception to
Year 11) on the move date, at the catchment school for their year (primary to Year 6,
secondary from Year 7); where the district has no known catchment school the application
is recorded for the admissions team to allocate one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio import activity

from contracts.actions import ActionOutcome, ServiceAction
from contracts.base import ContractModel
from contracts.shares import MoveAddress, PersonBirth, PersonIdentity
from contracts.temporal import Activity, TaskQueue
from services.common.council import CouncilActivities, Shared, same_for_all
from services.schools.catchment import catchment_for, district, year_group, year_name
from services.schools.store import NewApplication, SchoolStore

__all__ = ["PURPOSE", "SchoolActivities", "SchoolMover"]

PURPOSE = "school-admission-planning"
TO_BE_ALLOCATED = "to be allocated"


class CatchmentQuery(ContractModel):
    address: MoveAddress


class SchoolMover(ContractModel):
    identity: PersonIdentity
    birth: PersonBirth
    address: MoveAddress


class SchoolActivities(CouncilActivities):
    recipient = TaskQueue.SCHOOLS
    purpose = PURPOSE
    store: SchoolStore

    @activity.defn(name=Activity.SCHOOLS_FIND_CATCHMENT)
    async def find_catchment(self, action: ServiceAction) -> ActionOutcome:
        """Read only: the catchment schools of the new address."""
        await self.verify(action)
        new = same_for_all(m.data.address for m in self.parse(CatchmentQuery, action)).new_address
        catchment = catchment_for(new.postcode) if new is not None else None
        if new is None or catchment is None:
            return ActionOutcome(outcome="no_action", code="no_catchment_school")
        return ActionOutcome(
            outcome="done",
            code="catchment_found",
            references={
                "district": district(new.postcode),
                "primary_school": catchment.primary.name,
                "primary_school_code": catchment.primary.code,
                "secondary_school": catchment.secondary.name,
                "secondary_school_code": catchment.secondary.code,
            },
        )

    @activity.defn(name=Activity.SCHOOLS_OFFER_IN_YEAR_ADMISSION)
    async def offer_in_year_admission(self, action: ServiceAction) -> ActionOutcome:
        return await self.perform(action, SchoolMover, self._apply)

    async def _apply(
        self, conn: AsyncConnection, action: ServiceAction, movers: list[Shared[SchoolMover]]
    ) -> ActionOutcome:
        where = same_for_all(m.data.address for m in movers)
        if where.new_address is None or where.direction == "out_of":
            return ActionOutcome(outcome="no_action", code="not_moving_into_the_area")
        catchment = catchment_for(where.new_address.postcode)
        children: list[NewApplication] = []
        for mover in movers:
            born = mover.data.birth.date_of_birth
            year = year_group(born, where.move_date) if born is not None else None
            if born is None or year is None:
                continue
            code = catchment.school_for(year).code if catchment else None
            children.append(
                NewApplication(
                    mover.resident, mover.data.identity.name.model_dump_json(), born, year, code
                )
            )
        if not children:
            return ActionOutcome(outcome="no_action", code="no_school_age_child")
        made = await self.store.apply(
            conn, (action.workflow_id, action.step), children, where.move_date
        )
        references = {"applications": str(len(made))}
        for number, (reference, child) in enumerate(zip(made, children, strict=True), 1):
            name = catchment.school_for(child.year_group).name if catchment else TO_BE_ALLOCATED
            references |= {
                f"application_{number}": reference,
                f"school_{number}": name,
                f"year_group_{number}": year_name(child.year_group),
            }
        return ActionOutcome(outcome="done", code="application_recorded", references=references)

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [self.find_catchment, self.offer_in_year_admission]
