"""Council tax activities, on task queue `council-tax`.

Activities, each taking a `ServiceAction` and returning an `ActionOutcome`:

- `council_tax.record_move`: each mover's identity, address, household;
- `council_tax.record_death`: the deceased's identity and death, each survivor's identity
  and household, and, when nobody survives, the executor's or informant's identity and
  contact;
- `council_tax.apply_single_person_discount`: the one surviving adult's identity and
  household;
- `council_tax.undo`: the compensation of one of these steps, when its life event is
  withdrawn (`CouncilTaxActivities.undo`): one share per resident, with no data.

Moving `within` the area: the open account at the old address is closed with the move date
as final bill date, and one is opened at the new address from the move date (or, when one
is open there already, the movers join it). Moving `into` the area: open only. Moving
`out_of` it: close only, and name the council to contact for the new address (`unknown`
when the new address is not known). Either way the single person discount is reviewed for
the household the movers join: the adults already there (the larger of what the open
account counts and what the resident index knows) plus the adult movers; exactly one
adult (18+) → 25 %.

A death (`record_death`, about a death: the deceased's token is stamped `deceased`). The
deceased is the one share with `death`; their liability on the open account at their last
address ends on the date of death (they leave `ctax_liable`; the end is kept in
`ctax_liability_ends`). Where several accounts are open there, the one listing the deceased
as liable is theirs, else the first. Then, by the adults who remain — the adult survivors
shared, or more when a survivor's `other_adults` says so (a survivor the gate left out); an
unknown age counts as adult:

- none: every account open at the address closes on the date of death, and the estate's
  account opens the day after, exempt under Class F, with the executor (or, when none is
  shared, the informant) as its contact → `account_passed_to_estate` {closed_account,
  liability_end, account, exemption: `class_f`, contact_role: `executor` | `informant` |
  `none`};
- one: they are liable on the same account, which counts one adult; the single person
  discount is not applied here but offered (the `council-tax-discount` step) →
  `survivor_liable` {account, liability_end, adults: `1`, single_person_discount: `offered`};
- several: they are liable on the same account, which counts them, with no discount →
  `account_updated` {account, liability_end, adults}.

A contact shared while someone survives is not kept. No open account at the address:
nothing is known there to end, pass on or bill, so nothing is written, whoever survives →
`no_action` `no_account` {liability_end} (an account made up now would bill, or exempt, a
liability the council never had; the single person discount then finds no account either).
The deceased's liability at that address already ended by an earlier workflow (a death
published twice under two event IDs) → `no_action` `already_recorded` {account,
liability_end}.

The single person discount (`apply_single_person_discount`, for a living resident: a token
stamped `deceased` is refused as for any other action): the survivor's share says they are
an adult with no other adult at the address, and they are liable on an open account that
counts one adult and on which a liability ended by a death. The discount (25 %) applies from
the day after that death — the latest liability end `record_death` recorded on the account,
as the step does not carry the death — → `discount_applied` {account,
single_person_discount: `25%`, from}. Otherwise `no_action`: `not_only_adult` (the share or
the account counts another adult, or the survivor is a child), `no_account` (not liable on
an open account), `no_death_recorded` (no death ended a liability on their account). More
than one share is a workflow bug: `ShareDataInvalid` `invalid_data:one_survivor`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio import activity

from contracts.actions import ActionOutcome, ServiceAction
from contracts.base import ContractModel
from contracts.shares import (
    HouseholdPlace,
    MoveAddress,
    PersonContact,
    PersonDeath,
    PersonIdentity,
)
from contracts.temporal import Activity, TaskQueue
from services.common.council import (
    CouncilActivities,
    Shared,
    data_invalid,
    same_for_all,
    the_deceased,
)
from services.common.councils import council_for
from services.counciltax.store import CouncilTaxStore

__all__ = [
    "CLASS_F",
    "PURPOSE",
    "SINGLE_PERSON_DISCOUNT",
    "CouncilTaxActivities",
    "CouncilTaxDeath",
    "CouncilTaxMover",
    "CouncilTaxSurvivor",
]

PURPOSE = "council-tax-liability"
SINGLE_PERSON_DISCOUNT = 25
# The exemption of a dwelling left unoccupied by a death, while the estate is administered.
CLASS_F = "F"
_DEATH = "death"  # why a liability ended (ctax_liability_ends.reason)
_DAY = timedelta(days=1)


class CouncilTaxMover(ContractModel):
    identity: PersonIdentity
    address: MoveAddress
    household: HouseholdPlace


class CouncilTaxDeath(ContractModel):
    """One person's share in `record_death`: the deceased (`death`), a survivor
    (`household`), or the estate's contact when nobody survives (`contact`)."""

    identity: PersonIdentity
    death: PersonDeath | None = None
    household: HouseholdPlace | None = None
    contact: PersonContact | None = None


class CouncilTaxSurvivor(ContractModel):
    identity: PersonIdentity
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

    @activity.defn(name=Activity.COUNCIL_TAX_RECORD_DEATH)
    async def record_death(self, action: ServiceAction) -> ActionOutcome:
        return await self.perform(action, CouncilTaxDeath, self._record_death, about_a_death=True)

    async def _record_death(
        self, conn: AsyncConnection, action: ServiceAction, people: list[Shared[CouncilTaxDeath]]
    ) -> ActionOutcome:
        store = self.store
        deceased, death = the_deceased(people)
        others = [p for p in people if p.data.death is None]
        survivors = [(p, p.data.household) for p in others if p.data.household is not None]
        contacts = [(p, p.data.contact) for p in others if p.data.household is None]
        if any(contact is None for _, contact in contacts):
            raise data_invalid("invalid_data:household")  # neither survivor nor contact
        where, died = death.last_address, death.date_of_death
        ended = await store.liability_ended_at(conn, where, deceased, _DEATH)
        if ended is not None:
            account, on = ended
            return ActionOutcome(
                outcome="no_action",
                code="already_recorded",
                references={"account": account, "liability_end": on.isoformat()},
            )
        references = {"liability_end": died.isoformat()}
        open_there = await store.open_accounts_at(conn, where)
        if not open_there:
            return ActionOutcome(outcome="no_action", code="no_account", references=references)
        account = open_there[0]
        for reference in open_there:
            if deceased in await store.liable_on(conn, reference):
                account = reference
                break
        await store.end_liability(conn, account, deceased, died, _DEATH)
        adult_survivors = [p for p, place in survivors if place.is_adult]
        adults = max(
            [len(adult_survivors), *(place.other_adults + place.is_adult for _, place in survivors)]
        )
        if adults == 0:
            for reference in open_there:
                await store.close_account(conn, reference, died)
            estate = await store.open_account(conn, where, died + _DAY, 0, 0)
            await store.exempt(conn, estate, CLASS_F, died + _DAY)
            role = await self._estate_contact(conn, estate, contacts)
            return ActionOutcome(
                outcome="done",
                code="account_passed_to_estate",
                references={
                    "closed_account": ",".join(open_there),
                    **references,
                    "account": estate,
                    "exemption": "class_f",
                    "contact_role": role,
                },
            )
        await store.add_liable(
            conn,
            account,
            [(p.resident, p.data.identity.name.model_dump_json()) for p in adult_survivors],
        )
        references |= {"account": account, "adults": str(adults)}
        if adults == 1:
            # The discount is the survivor's to accept: offered by its own step, not given.
            await store.set_adults(conn, account, 1)
            return ActionOutcome(
                outcome="done",
                code="survivor_liable",
                references=references | {"single_person_discount": "offered"},
            )
        await store.review(conn, account, adults, 0)
        return ActionOutcome(outcome="done", code="account_updated", references=references)

    async def _estate_contact(
        self,
        conn: AsyncConnection,
        estate: str,
        contacts: list[tuple[Shared[CouncilTaxDeath], PersonContact | None]],
    ) -> str:
        """The executor (the first shared), else the informant, as the estate's contact:
        its role, or `none` when nobody was shared."""
        found = [(p, c) for p, c in contacts if c is not None]
        found.sort(key=lambda pair: pair[1].role != "executor")  # stable: executors first
        if not found:
            return "none"
        person, contact = found[0]
        await self.store.set_contact(
            conn,
            estate,
            contact.role,
            person.resident,
            person.data.identity.name.model_dump_json(),
            contact.model_dump_json(),
        )
        return contact.role

    @activity.defn(name=Activity.COUNCIL_TAX_SINGLE_PERSON_DISCOUNT)
    async def apply_single_person_discount(self, action: ServiceAction) -> ActionOutcome:
        # A living resident's: a token stamped deceased is refused, as by any action.
        return await self.perform(action, CouncilTaxSurvivor, self._apply_discount)

    async def _apply_discount(
        self,
        conn: AsyncConnection,
        action: ServiceAction,
        people: list[Shared[CouncilTaxSurvivor]],
    ) -> ActionOutcome:
        store = self.store
        if len(people) != 1:
            raise data_invalid("invalid_data:one_survivor")
        [survivor] = people
        place = survivor.data.household
        if not place.is_adult or place.other_adults:
            return ActionOutcome(outcome="no_action", code="not_only_adult")
        held = await store.open_accounts_of(conn, survivor.resident)
        if not held:
            return ActionOutcome(outcome="no_action", code="no_account")
        deaths: list[tuple[date, str]] = []
        for reference in held:
            died = await store.last_liability_end(conn, reference, _DEATH)
            if died is not None:
                deaths.append((died, reference))
        if not deaths:
            return ActionOutcome(outcome="no_action", code="no_death_recorded")
        died, account = max(deaths)
        if (await store.adults_on(conn, account) or 0) > 1:
            return ActionOutcome(
                outcome="no_action", code="not_only_adult", references={"account": account}
            )
        await store.set_adults(conn, account, 1)
        await store.apply_discount(conn, account, SINGLE_PERSON_DISCOUNT, died + _DAY)
        return ActionOutcome(
            outcome="done",
            code="discount_applied",
            references={
                "account": account,
                "single_person_discount": f"{SINGLE_PERSON_DISCOUNT}%",
                "from": (died + _DAY).isoformat(),
            },
        )

    @activity.defn(name=Activity.COUNCIL_TAX_UNDO)
    async def undo(self, action: ServiceAction) -> ActionOutcome:
        """The compensation of one of the steps above (`action` names it; one share per
        resident, no data), when its life event is withdrawn: the accounts are as they were
        before it. After a move: the account it closed is open again (no final bill date),
        the movers are off the account it opened or joined (one it opened is gone), and that
        account's adults and single person discount are as before. After a death: the
        deceased is liable again (their liability end forgotten), the accounts it closed are
        open, the estate's account and its Class F exemption and contact are gone, and the
        survivors' liability and the adults counted are as before. After the single person
        discount: no discount. Refused whole (`changed_since`, naming the tables) when an
        account it touched changed since, for a caseworker to take on."""
        return await self.reverse(action)

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [
            self.record_move,
            self.record_death,
            self.apply_single_person_discount,
            self.undo,
        ]
