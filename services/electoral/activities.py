"""Electoral services activities, on task queue `electoral-services`.

| activity | input | result |
| --- | --- | --- |
| `electoral.record_move` | `ServiceAction` (identity, address) | `ActionOutcome` |

Who counts: every mover aged 16 or over on the move date, or whose date of birth is not
known. 16 is the age from which a person may be on the register in Scotland and Wales, and
in England the age from which an "attainer" (who turns 18 during the register's life) is
added; one rule for the whole platform, so nobody who could register is missed. Younger
movers are neither removed nor invited.

Moving `within` or `out_of` the area: removal at the old address, effective the move date.
Moving `into` or `within` it: an invitation to register at the new address. Nobody who
counts → `no_action`, `no_eligible_mover`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio import activity

from contracts.actions import ActionOutcome, ServiceAction
from contracts.base import ContractModel
from services.common.council import (
    CouncilActivities,
    CouncilSettings,
    MoveAddress,
    PersonIdentity,
    age_on,
    check_residents,
)
from services.electoral.store import ElectoralStore

__all__ = ["MINIMUM_AGE", "PURPOSE", "RECORD_MOVE", "TASK_QUEUE", "ElectoralActivities"]

TASK_QUEUE = "electoral-services"
PURPOSE = "electoral-register-update"
RECORD_MOVE = "electoral.record_move"
MINIMUM_AGE = 16

_CODES = {"within": "removed_and_invited", "into": "invited", "out_of": "removed"}


class ElectoralMove(ContractModel):
    identity: tuple[PersonIdentity, ...]
    address: MoveAddress


class ElectoralActivities(CouncilActivities):
    recipient = TASK_QUEUE
    purpose = PURPOSE
    store: ElectoralStore

    @classmethod
    def serving(cls, store: ElectoralStore, settings: CouncilSettings) -> ElectoralActivities:
        return cls(store, settings.share_keys())

    @activity.defn(name=RECORD_MOVE)
    async def record_move(self, action: ServiceAction) -> ActionOutcome:
        async def change(conn: AsyncConnection, move: ElectoralMove) -> ActionOutcome:
            check_residents(action, move.identity)
            return await self._record_move(conn, action, move)

        return await self.perform(action, ElectoralMove, change)

    async def _record_move(
        self, conn: AsyncConnection, action: ServiceAction, move: ElectoralMove
    ) -> ActionOutcome:
        where = move.address
        people = [
            (resident, person.name)
            for resident, person in zip(action.residents, move.identity, strict=True)
            if person.date_of_birth is None
            or age_on(person.date_of_birth, where.move_date) >= MINIMUM_AGE
        ]
        if not people:
            return ActionOutcome(outcome="no_action", code="no_eligible_mover")
        step = (action.workflow_id, action.step)
        references = {"effective_date": where.move_date.isoformat()}
        if where.direction != "into" and where.old_address is not None:
            await self.store.remove(conn, step, people, where.old_address, where.move_date)
            references["removals"] = str(len(people))
        if where.direction != "out_of" and where.new_address is not None:
            invited = await self.store.invite(
                conn, step, people, where.new_address, where.move_date
            )
            references["invitations"] = str(len(invited))
            references["invitation_references"] = ",".join(invited)
        return ActionOutcome(outcome="done", code=_CODES[where.direction], references=references)

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [self.record_move]
