"""Electoral services activities, on task queue `electoral-services`.

| activity | input | result |
| --- | --- | --- |
| `electoral.record_move` | `ServiceAction` (identity, address) | `ActionOutcome` |
| `electoral.record_death` | `ServiceAction` (the deceased's identity, death) | `ActionOutcome` |
| `electoral.undo` | `ServiceAction` (the step to undo; no data) | `ActionOutcome` |

Who counts: every mover aged 16 or over on the move date, or whose date of birth is not
known. 16 is the age from which a person may be on the register in Scotland and Wales, and
in England the age from which an "attainer" (who turns 18 during the register's life) is
added; one rule for the whole platform, so nobody who could register is missed. Younger
movers are neither removed nor invited.

Moving `within` or `out_of` the area: removal at the old address, effective the move date.
Moving `into` or `within` it: an invitation to register at the new address. Nobody who
counts → `no_action`, `no_eligible_mover`.

A death (`record_death`, about a death: the deceased's token is stamped `deceased`; the
one share is the deceased's, with `death`): every entry of theirs still on the register is
marked removed, from the date of death, reason `deceased` (the entry stays, so the register
can say when and why it changed) → `entry_removed` {removed_on, entries}. No entry →
`no_action` `not_registered`; their entries already removed by an earlier workflow about the
same death → `no_action` `already_removed` {removed_on, entries}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio import activity

from contracts.actions import ActionOutcome, ServiceAction
from contracts.base import ContractModel
from contracts.shares import MoveAddress, PersonDeath, PersonIdentity, age_on
from contracts.temporal import Activity, TaskQueue
from services.common.council import (
    CouncilActivities,
    Shared,
    same_for_all,
    the_deceased,
)
from services.electoral.store import ElectoralStore

__all__ = ["MINIMUM_AGE", "PURPOSE", "ElectoralActivities", "ElectoralDeath", "ElectoralMover"]

PURPOSE = "electoral-register-update"
MINIMUM_AGE = 16

_CODES = {"within": "removed_and_invited", "into": "invited", "out_of": "removed"}


class ElectoralMover(ContractModel):
    identity: PersonIdentity
    address: MoveAddress


class ElectoralDeath(ContractModel):
    identity: PersonIdentity
    death: PersonDeath


_DECEASED = "deceased"


class ElectoralActivities(CouncilActivities):
    recipient = TaskQueue.ELECTORAL
    purpose = PURPOSE
    store: ElectoralStore

    @activity.defn(name=Activity.ELECTORAL_RECORD_MOVE)
    async def record_move(self, action: ServiceAction) -> ActionOutcome:
        return await self.perform(action, ElectoralMover, self._record_move)

    async def _record_move(
        self, conn: AsyncConnection, action: ServiceAction, movers: list[Shared[ElectoralMover]]
    ) -> ActionOutcome:
        where = same_for_all(m.data.address for m in movers)
        people = [
            (m.resident, m.data.identity.name)
            for m in movers
            if m.data.identity.date_of_birth is None
            or age_on(m.data.identity.date_of_birth, where.move_date) >= MINIMUM_AGE
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

    @activity.defn(name=Activity.ELECTORAL_RECORD_DEATH)
    async def record_death(self, action: ServiceAction) -> ActionOutcome:
        return await self.perform(action, ElectoralDeath, self._record_death, about_a_death=True)

    async def _record_death(
        self, conn: AsyncConnection, action: ServiceAction, people: list[Shared[ElectoralDeath]]
    ) -> ActionOutcome:
        # Every share has `death`, so one deceased is one share.
        deceased, death = the_deceased(people)
        died = death.date_of_death
        removed = await self.store.remove_entries(conn, deceased, died, _DECEASED)
        if removed:
            return ActionOutcome(
                outcome="done",
                code="entry_removed",
                references={"removed_on": died.isoformat(), "entries": ",".join(removed)},
            )
        earlier = await self.store.removed_for(conn, deceased, _DECEASED)
        if earlier:
            return ActionOutcome(
                outcome="no_action",
                code="already_removed",
                references={
                    "removed_on": max(e.removed_on for e in earlier if e.removed_on).isoformat(),
                    "entries": ",".join(e.reference for e in earlier),
                },
            )
        return ActionOutcome(outcome="no_action", code="not_registered")

    @activity.defn(name=Activity.ELECTORAL_UNDO)
    async def undo(self, action: ServiceAction) -> ActionOutcome:
        """The compensation of one of the steps above (`action` names it; one share per
        resident, no data), when its life event is withdrawn: the register is as it was
        before it. After a move: each entry it marked removed at the old address is
        reinstated, and each invitation to register at the new address is withdrawn (gone
        from the register's records). After a death: the deceased's entries are reinstated
        (no removal date, no reason). Refused whole (`changed_since`, naming the tables) when
        an entry or invitation it wrote changed since, for a caseworker to take on."""
        return await self.reverse(action)

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [self.record_move, self.record_death, self.undo]
