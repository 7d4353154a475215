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
from services.benefits.store import BenefitStore
from services.common.council import (
    CouncilActivities,
    CouncilSettings,
    HouseholdData,
    MoveAddress,
    PersonIdentity,
    check_residents,
)

__all__ = ["PURPOSE", "RECORD_CHANGE", "TASK_QUEUE", "BenefitActivities"]

TASK_QUEUE = "benefits"
PURPOSE = "housing-benefit-review"
RECORD_CHANGE = "benefits.record_change_of_circumstances"


class BenefitMove(ContractModel):
    identity: tuple[PersonIdentity, ...]
    address: MoveAddress
    household: HouseholdData


class BenefitActivities(CouncilActivities):
    recipient = TASK_QUEUE
    purpose = PURPOSE
    store: BenefitStore

    @classmethod
    def serving(cls, store: BenefitStore, settings: CouncilSettings) -> BenefitActivities:
        return cls(store, settings.share_keys())

    @activity.defn(name=RECORD_CHANGE)
    async def record_change_of_circumstances(self, action: ServiceAction) -> ActionOutcome:
        async def change(conn: AsyncConnection, move: BenefitMove) -> ActionOutcome:
            check_residents(action, move.identity, move.household.members)
            return await self._record(conn, action, move)

        return await self.perform(action, BenefitMove, change)

    async def _record(
        self, conn: AsyncConnection, action: ServiceAction, move: BenefitMove
    ) -> ActionOutcome:
        held = await self.store.active_claims(conn, action.residents)
        if not held:
            return ActionOutcome(outcome="no_action", code="no_claim")
        where = move.address
        leaving = where.direction == "out_of"
        household = move.household
        await self.store.record_change(
            conn,
            (action.workflow_id, action.step),
            held,
            "moved_out_of_area" if leaving else "change_of_address",
            where.move_date,
            None if leaving else where.new_address,
            (len(household.members) + household.other_adults, household.adults),
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
