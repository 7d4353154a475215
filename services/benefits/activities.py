"""Benefits activities, on task queue `benefits`.

`benefits.record_change_of_circumstances`: `ServiceAction` (identity, address, household)
→ `ActionOutcome`.

When a mover holds an active housing benefit or council tax reduction claim, a change of
circumstances is recorded on each such claim from the move date, with the new address and
household size, so that the award is reassessed (`within` / `into`) or ended (`out_of`: the
claim belongs to the new council). No claim → `no_action`, `no_claim`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio import activity

from contracts.actions import ActionOutcome, ServiceAction
from contracts.base import ContractModel
from contracts.shares import HouseholdPlace, MoveAddress, PersonIdentity
from contracts.temporal import Activity, TaskQueue
from services.benefits.store import BenefitStore
from services.common.council import CouncilActivities, Shared, same_for_all

__all__ = ["PURPOSE", "BenefitActivities", "BenefitMover"]

PURPOSE = "housing-benefit-review"


class BenefitMover(ContractModel):
    identity: PersonIdentity
    address: MoveAddress
    household: HouseholdPlace


class BenefitActivities(CouncilActivities):
    recipient = TaskQueue.BENEFITS
    purpose = PURPOSE
    store: BenefitStore

    @activity.defn(name=Activity.BENEFITS_RECORD_CHANGE)
    async def record_change_of_circumstances(self, action: ServiceAction) -> ActionOutcome:
        return await self.perform(action, BenefitMover, self._record)

    async def _record(
        self, conn: AsyncConnection, action: ServiceAction, movers: list[Shared[BenefitMover]]
    ) -> ActionOutcome:
        # Only the claims of residents whose data was shared: a resident who objected is
        # not here, and their claim is not touched.
        held = await self.store.active_claims(conn, action.residents)
        if not held:
            return ActionOutcome(outcome="no_action", code="no_claim")
        where = same_for_all(m.data.address for m in movers)
        leaving = where.direction == "out_of"
        others = same_for_all(m.data.household.other_adults for m in movers)
        adults = sum(m.data.household.is_adult for m in movers) + others
        await self.store.record_change(
            conn,
            (action.workflow_id, action.step),
            held,
            "moved_out_of_area" if leaving else "change_of_address",
            where.move_date,
            None if leaving else where.new_address,
            (len(movers) + others, adults),
        )
        return ActionOutcome(
            outcome="done",
            code="change_recorded",
            references={
                "claims": ",".join(held),
                "effective_from": where.move_date.isoformat(),
                "reassessment": "award_ends" if leaving else "award_reassessed",
            },
        )

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [self.record_change_of_circumstances]
