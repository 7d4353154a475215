"""Council tax activities, on task queue `council-tax`.

| activity | input | result |
| --- | --- | --- |
| `council_tax.record_move` | `ServiceAction`: identity, address, household | `ActionOutcome` |

Moving `within` the area: the open account at the old address is closed with the move date
as final bill date, and one is opened at the new address from the move date (or, when one
is open there already, the movers join it). Moving `into` the area: open only. Moving
`out_of` it: close only, and name the council to contact for the new address (`unknown`
when the new address is not known). Either way the single person discount is reviewed for
the household the movers join: the adults already there (the larger of what the open
account counts and what the resident index knows) plus the adult movers; exactly one
adult (18+) → 25 %.
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
from services.common.council import CouncilActivities, Shared, same_for_all
from services.counciltax.areas import council_for
from services.counciltax.store import CouncilTaxStore

__all__ = ["PURPOSE", "SINGLE_PERSON_DISCOUNT", "CouncilTaxActivities", "CouncilTaxMover"]

PURPOSE = "council-tax-liability"
SINGLE_PERSON_DISCOUNT = 25


class CouncilTaxMover(ContractModel):
    identity: PersonIdentity
    address: MoveAddress
    household: HouseholdPlace


class CouncilTaxActivities(CouncilActivities):
    recipient = TaskQueue.COUNCIL_TAX
    purpose = PURPOSE
    store: CouncilTaxStore

    @activity.defn(name=Activity.COUNCIL_TAX_RECORD_MOVE)
    async def record_move(self, action: ServiceAction) -> ActionOutcome:
        return await self.perform(action, CouncilTaxMover, self._record_move)

    async def _record_move(
        self, conn: AsyncConnection, action: ServiceAction, movers: list[Shared[CouncilTaxMover]]
    ) -> ActionOutcome:
        store = self.store
        where = same_for_all(m.data.address for m in movers)
        references: dict[str, str] = {}
        if where.old_address is not None and where.direction != "into":
            closing = await store.open_accounts_at(conn, where.old_address)
            for reference in closing:
                await store.close_account(conn, reference, where.move_date)
            if not closing:
                closing = [await store.record_closed(conn, where.old_address, where.move_date)]
            references["closed_account"] = ",".join(closing)
            references["final_bill_date"] = where.move_date.isoformat()
        if where.direction == "out_of":
            postcode = where.new_address.postcode if where.new_address else None
            references["contact_council"] = council_for(postcode)
            return ActionOutcome(outcome="done", code="account_closed", references=references)
        assert where.new_address is not None  # MoveAddress: required unless out_of
        joining = [m for m in movers if m.data.household.is_adult]
        already = same_for_all(m.data.household.other_adults for m in movers)
        open_there = await store.open_accounts_at(conn, where.new_address)
        counted = (await store.adults_on(conn, open_there[0]) or 0) if open_there else 0
        adults = max(already, counted) + len(joining)
        discount = SINGLE_PERSON_DISCOUNT if adults == 1 else 0
        if open_there:
            reference = open_there[0]
            await store.review(conn, reference, adults, discount)
        else:
            reference = await store.open_account(
                conn, where.new_address, where.move_date, adults, discount
            )
        await store.add_liable(
            conn,
            reference,
            [(m.resident, m.data.identity.name.model_dump_json()) for m in joining],
        )
        references |= {
            "account": reference,
            "liability_start": where.move_date.isoformat(),
            "adults": str(adults),
            "single_person_discount": f"{discount}%" if discount else "none",
        }
        code = "account_joined" if open_there else "account_opened"
        if where.direction == "within":
            code = "account_closed_and_" + code.removeprefix("account_")
        return ActionOutcome(outcome="done", code=code, references=references)

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [self.record_move]
