"""Benefits activities, on task queue `benefits`.

`benefits.record_change_of_circumstances`: `ServiceAction` (identity, address, household)
→ `ActionOutcome`. `benefits.record_death`: `ServiceAction` (the deceased's identity and
death, each survivor's identity and household) → `ActionOutcome`. `benefits.find_claims`
(read only) and `benefits.record_new_dependant`: `ServiceAction` (the child's identity,
birth and household, each parent's identity and household) → `ActionOutcome`.
`benefits.undo`: `ServiceAction` naming one of these steps, with no data → `ActionOutcome`,
its compensation when its life event is withdrawn (`BenefitActivities.undo`).

When a mover holds an active housing benefit or council tax reduction claim, a change of
circumstances is recorded on each such claim from the move date, with the new address and
household size, so that the award is reassessed (`within` / `into`) or ended (`out_of`: the
claim belongs to the new council). No claim → `no_action`, `no_claim`.

A death (`record_death`, about a death: the deceased's token is stamped `deceased`). The
deceased is the one share with `death`. Their active housing benefit and council tax
reduction claims end at the end of the benefit week of the death: benefit weeks run Monday
to Sunday, so the last day paid is the Sunday on or after the date of death (a death on a
Sunday ends that day). A change-of-circumstances review is opened from the day after the
death for each survivor's active claim, one per claim; and, when the deceased had a claim,
for each adult survivor who has none of their own: this store does not record who was the
partner on a claim, so every adult left at the address may have been, and is reviewed.

- the deceased had claims → `claims_ended` {claims, ended_on, and when any review was
  opened: reviews, reviews_from};
- only survivors' claims → `reviews_opened` {reviews, reviews_from};
- neither → `no_action` `no_claims`;
- the deceased's claims were ended by an earlier workflow about the same death (published
  twice under two event IDs) → `no_action` `already_recorded` {claims, ended_on}.

A birth. The child is the one share with `birth`; the parents are the others (`the_child`).
`find_claims` looks, recording nothing, for the parents' active claims, so the workflow
knows whether the household's award is to be reassessed: `claims_found` {claims}, or
`no_action` `no_claim`. `record_new_dependant` records a change of circumstances,
`new_dependant`, from the child's date of birth on each parent's active claim, with the
household as it now is: the parents, the child and the adults already living there
(`other_adults`, which every share must agree on, as for a move) → `change_recorded`
{claims, effective_from, reassessment: `award_reassessed`}; no claim → `no_action`
`no_claim`. A claim the child was added to before (the same birth published twice under
two event IDs) is not changed again; when that leaves none → `no_action`
`already_recorded` {claims, effective_from} as first recorded.
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
    PersonBirth,
    PersonDeath,
    PersonIdentity,
)
from contracts.temporal import Activity, TaskQueue
from services.benefits.store import BenefitStore
from services.common.council import (
    CouncilActivities,
    Shared,
    data_invalid,
    same_for_all,
    the_child,
    the_deceased,
)

__all__ = [
    "PURPOSE",
    "BenefitActivities",
    "BenefitBirth",
    "BenefitDeath",
    "BenefitMover",
    "end_of_benefit_week",
]

PURPOSE = "housing-benefit-review"
_CLAIMANT_DIED = "claimant_died"
_DEATH_IN_HOUSEHOLD = "death_in_household"
_NEW_DEPENDANT = "new_dependant"


def end_of_benefit_week(day: date) -> date:
    """The Sunday that ends the benefit week (Monday to Sunday) containing `day`."""
    return day + timedelta(days=6 - day.weekday())


class BenefitMover(ContractModel):
    identity: PersonIdentity
    address: MoveAddress
    household: HouseholdPlace


class BenefitDeath(ContractModel):
    """One person's share in `record_death`: the deceased (`death`) or a survivor
    (`household`)."""

    identity: PersonIdentity
    death: PersonDeath | None = None
    household: HouseholdPlace | None = None


class BenefitBirth(ContractModel):
    """One person's share in a step on a birth: the child's (`birth`) or a parent's."""

    identity: PersonIdentity
    birth: PersonBirth | None = None
    household: HouseholdPlace


def _parents(people: list[Shared[BenefitBirth]]) -> tuple[str, ...]:
    """The parents: the shares but the child's (`the_child`, which must be there)."""
    child, _born = the_child(people)
    return tuple(p.resident for p in people if p.resident != child)


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

    @activity.defn(name=Activity.BENEFITS_RECORD_DEATH)
    async def record_death(self, action: ServiceAction) -> ActionOutcome:
        return await self.perform(action, BenefitDeath, self._record_death, about_a_death=True)

    async def _record_death(
        self, conn: AsyncConnection, action: ServiceAction, people: list[Shared[BenefitDeath]]
    ) -> ActionOutcome:
        store = self.store
        deceased, death = the_deceased(people)
        survivors = [(p.resident, p.data.household) for p in people if p.data.death is None]
        places = [place for _, place in survivors if place is not None]
        if len(places) != len(survivors):
            raise data_invalid("invalid_data:household")
        earlier = await store.ended_by(conn, deceased, _CLAIMANT_DIED)
        if earlier:
            return ActionOutcome(
                outcome="no_action",
                code="already_recorded",
                references={
                    "claims": ",".join(e.claim for e in earlier),
                    "ended_on": max(e.ended_on for e in earlier).isoformat(),
                },
            )
        step = (action.workflow_id, action.step)
        held = await store.active_claims_by_resident(conn, [r for r, _ in survivors] + [deceased])
        ending = held.get(deceased, [])
        references: dict[str, str] = {}
        if ending:
            last_paid = end_of_benefit_week(death.date_of_death)
            await store.end_claims(conn, step, ending, last_paid, _CLAIMANT_DIED)
            references |= {"claims": ",".join(ending), "ended_on": last_paid.isoformat()}
        to_review: list[tuple[str, str | None]] = []
        for resident, place in zip((r for r, _ in survivors), places, strict=True):
            own = held.get(resident, [])
            if own:
                to_review += [(resident, claim) for claim in own]
            elif ending and place.is_adult:
                to_review.append((resident, None))  # perhaps the partner on their claim
        reviews_from = death.date_of_death + timedelta(days=1)
        opened = await store.open_reviews(conn, step, to_review, _DEATH_IN_HOUSEHOLD, reviews_from)
        if opened:
            references |= {"reviews": ",".join(opened), "reviews_from": reviews_from.isoformat()}
        if ending:
            return ActionOutcome(outcome="done", code="claims_ended", references=references)
        if opened:
            return ActionOutcome(outcome="done", code="reviews_opened", references=references)
        return ActionOutcome(outcome="no_action", code="no_claims")

    @activity.defn(name=Activity.BENEFITS_FIND_CLAIMS)
    async def find_claims(self, action: ServiceAction) -> ActionOutcome:
        """Read only: the parents' active claims, so the workflow knows whether the birth
        changes an award. Nothing is recorded, so there is nothing to repeat."""
        await self.verify(action)
        held = await self.store.claims_held(_parents(self.parse(BenefitBirth, action)))
        if not held:
            return ActionOutcome(outcome="no_action", code="no_claim")
        return ActionOutcome(
            outcome="done", code="claims_found", references={"claims": ",".join(held)}
        )

    @activity.defn(name=Activity.BENEFITS_RECORD_NEW_DEPENDANT)
    async def record_new_dependant(self, action: ServiceAction) -> ActionOutcome:
        return await self.perform(action, BenefitBirth, self._record_new_dependant)

    async def _record_new_dependant(
        self, conn: AsyncConnection, action: ServiceAction, people: list[Shared[BenefitBirth]]
    ) -> ActionOutcome:
        store = self.store
        child, born = the_child(people)
        held = await store.active_claims(conn, _parents(people))
        if not held:
            return ActionOutcome(outcome="no_action", code="no_claim")
        earlier = [d for d in await store.dependant_on(conn, child) if d.claim in held]
        recorded = {d.claim for d in earlier}
        new = [claim for claim in held if claim not in recorded]
        if not new:
            return ActionOutcome(
                outcome="no_action",
                code="already_recorded",
                references={
                    "claims": ",".join(d.claim for d in earlier),
                    "effective_from": min(d.effective_from for d in earlier).isoformat(),
                },
            )
        others = same_for_all(p.data.household.other_adults for p in people)
        adults = sum(p.data.household.is_adult for p in people) + others
        step = (action.workflow_id, action.step)
        await store.record_change(
            conn, step, new, _NEW_DEPENDANT, born, None, (len(people) + others, adults)
        )
        await store.add_dependant(conn, step, new, child, born)
        return ActionOutcome(
            outcome="done",
            code="change_recorded",
            references={
                "claims": ",".join(new),
                "effective_from": born.isoformat(),
                "reassessment": "award_reassessed",
            },
        )

    @activity.defn(name=Activity.BENEFITS_UNDO)
    async def undo(self, action: ServiceAction) -> ActionOutcome:
        """The compensation of one of the steps above (`action` names it; one share per
        resident, no data), when its life event is withdrawn: the claims are as they were
        before it. After a move: the change of circumstances it recorded on each claim is
        withdrawn (the award is not reassessed, nor ended for a move out). After a death:
        each claim of the deceased it ended is restored (active, no end date) and the
        reviews it opened for the survivors are withdrawn. After a birth: the new dependant
        and its change of circumstances are withdrawn from each parent's claim.
        `find_claims` records nothing: `nothing_to_undo`. Refused whole (`changed_since`,
        naming the tables) when a claim or change it wrote changed since, for a caseworker
        to take on."""
        return await self.reverse(action)

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [
            self.record_change_of_circumstances,
            self.record_death,
            self.find_claims,
            self.record_new_dependant,
            self.undo,
        ]
