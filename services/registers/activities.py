"""Council registers activities, on task queue `council-registers`: what a death does to the
council's smaller registers, one activity per register, and the library card a birth brings.

| activity | purpose | data |
| --- | --- | --- |
| `registers.end_blue_badge` | `blue-badge-administration` | the deceased |
| `registers.end_library_card` | `library-membership` | the deceased |
| `registers.end_parking_permit` | `parking-permit-administration` | the deceased, survivors |
| `registers.end_assisted_collection` | `waste-collection` | the deceased, survivors |
| `registers.issue_library_card` | `library-membership` | the child, parents |
| `registers.undo` (a step's compensation) | the step's register's | none |

What each does, and its codes, is in README.md.

Each register is its own purpose in the data-sharing policy, so each activity verifies its
shares for its register's purpose (`PURPOSES`), not for one purpose of the service. The
`end_…` actions are about a death: the deceased's token carries the gate's `deceased` claim.

The deceased is the one share with `death` (identity, death); the survivors, the living
residents at the same address, share identity and household. Every date is the date of
death. Registers know residents by key, and dwellings by `property_key` of the deceased's
last address.

A birth (`issue_library_card`, not about a death: a token stamped `deceased` refuses it, as
any action that opens something): the child is the one share with `birth` (identity,
birth), each parent shares identity. The child gets a junior library card, in the care of
the first parent in the step's shares (the order the workflow gives them in); none shared
(the gate left them out), the card is issued all the same and the library asks at the
first visit. A child who already holds an open membership (the same birth published twice,
or a card made at the library first) is not given another.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio import activity

from contracts.actions import ActionOutcome, ServiceAction
from contracts.base import ContractModel
from contracts.shares import HouseholdPlace, PersonBirth, PersonDeath, PersonIdentity
from contracts.temporal import Activity, TaskQueue
from services.common.council import (
    CouncilActivities,
    Shared,
    data_invalid,
    property_key,
    the_child,
    the_deceased,
)
from services.registers.store import RegistersStore

__all__ = [
    "PURPOSES",
    "BirthMember",
    "Deceased",
    "HouseholdMember",
    "RegistersActivities",
    "format_pence",
]

PURPOSES: Mapping[str, str] = MappingProxyType(
    {
        Activity.REGISTERS_BLUE_BADGE: "blue-badge-administration",
        Activity.REGISTERS_LIBRARY_CARD: "library-membership",
        Activity.REGISTERS_PARKING_PERMIT: "parking-permit-administration",
        Activity.REGISTERS_ASSISTED_COLLECTION: "waste-collection",
        Activity.REGISTERS_ISSUE_LIBRARY_CARD: "library-membership",
    }
)
"""The purpose each activity's shares are verified for, as in the service catalogue."""


class Deceased(ContractModel):
    """A step about the deceased alone: their share."""

    identity: PersonIdentity
    death: PersonDeath


class HouseholdMember(ContractModel):
    """A step that acts on the household too: the deceased's share (`death`), or a
    survivor's (`household`)."""

    identity: PersonIdentity
    death: PersonDeath | None = None
    household: HouseholdPlace | None = None


class BirthMember(ContractModel):
    """A step on a birth: the child's share (`birth`), or a parent's (without)."""

    identity: PersonIdentity
    birth: PersonBirth | None = None


def _survivors(
    people: list[Shared[HouseholdMember]], deceased: str
) -> list[tuple[str, HouseholdPlace]]:
    """(resident, place) of each survivor, in resident key order; each must share
    `household`."""
    places: list[tuple[str, HouseholdPlace]] = []
    for person in people:
        if person.resident == deceased:
            continue
        if person.data.household is None:
            raise data_invalid("invalid_data:household")
        places.append((person.resident, person.data.household))
    return sorted(places, key=lambda place: place[0])


def format_pence(pence: int) -> str:
    """`£3.20` for 320; `none` for 0."""
    if pence == 0:
        return "none"
    pounds, rest = divmod(pence, 100)
    return f"£{pounds}.{rest:02d}"


M = TypeVar("M", Deceased, HouseholdMember)


class RegistersActivities(CouncilActivities):
    recipient = TaskQueue.REGISTERS
    # No one purpose: each activity's own (`_on_death`, `issue_library_card`).
    purposes: ClassVar[Mapping[str, str]] = PURPOSES
    store: RegistersStore

    @activity.defn(name=Activity.REGISTERS_BLUE_BADGE)
    async def end_blue_badge(self, action: ServiceAction) -> ActionOutcome:
        return await self._on_death(
            Activity.REGISTERS_BLUE_BADGE, action, Deceased, self._end_blue_badge
        )

    @activity.defn(name=Activity.REGISTERS_LIBRARY_CARD)
    async def end_library_card(self, action: ServiceAction) -> ActionOutcome:
        return await self._on_death(
            Activity.REGISTERS_LIBRARY_CARD, action, Deceased, self._end_library_card
        )

    @activity.defn(name=Activity.REGISTERS_PARKING_PERMIT)
    async def end_parking_permit(self, action: ServiceAction) -> ActionOutcome:
        return await self._on_death(
            Activity.REGISTERS_PARKING_PERMIT, action, HouseholdMember, self._end_parking_permit
        )

    @activity.defn(name=Activity.REGISTERS_ASSISTED_COLLECTION)
    async def end_assisted_collection(self, action: ServiceAction) -> ActionOutcome:
        return await self._on_death(
            Activity.REGISTERS_ASSISTED_COLLECTION,
            action,
            HouseholdMember,
            self._end_assisted_collection,
        )

    async def _on_death(
        self,
        register: Activity,
        action: ServiceAction,
        model: type[M],
        change: Callable[
            [AsyncConnection, ServiceAction, list[Shared[M]]], Awaitable[ActionOutcome]
        ],
    ) -> ActionOutcome:
        """`perform` for an action on a death, verified for the register's own purpose."""
        return await self.perform(
            action, model, change, about_a_death=True, purpose=PURPOSES[register]
        )

    async def _end_blue_badge(
        self, conn: AsyncConnection, _action: ServiceAction, people: list[Shared[Deceased]]
    ) -> ActionOutcome:
        resident, death = the_deceased(people)
        badges = await self.store.valid_badges(conn, resident, death.date_of_death)
        if not badges:
            return ActionOutcome(outcome="no_action", code="no_badge")
        await self.store.cancel_badges(conn, badges, death.date_of_death)
        return ActionOutcome(
            outcome="done",
            code="badge_cancelled",
            references={
                "badge": ",".join(badges),
                "cancelled_on": death.date_of_death.isoformat(),
                "return_requested": "yes",
            },
        )

    async def _end_library_card(
        self, conn: AsyncConnection, _action: ServiceAction, people: list[Shared[Deceased]]
    ) -> ActionOutcome:
        resident, death = the_deceased(people)
        cards = await self.store.open_cards(conn, resident)
        if not cards:
            return ActionOutcome(outcome="no_action", code="no_membership")
        references = [card for card, _ in cards]
        await self.store.close_cards(conn, references, death.date_of_death)
        return ActionOutcome(
            outcome="done",
            code="membership_closed",
            references={
                "card": ",".join(references),
                "closed_on": death.date_of_death.isoformat(),
                "charges_waived": format_pence(sum(charges for _, charges in cards)),
            },
        )

    async def _end_parking_permit(
        self,
        conn: AsyncConnection,
        _action: ServiceAction,
        people: list[Shared[HouseholdMember]],
    ) -> ActionOutcome:
        resident, death = the_deceased(people)
        survivors = _survivors(people, resident)
        where = property_key(death.last_address)
        permits = await self.store.active_permits(conn, resident, where)
        if not permits:
            return ActionOutcome(outcome="no_action", code="no_permit")
        on = death.date_of_death
        # Only an adult can hold a permit: the first by resident key, a choice that does
        # not depend on the order the shares came in.
        adults = [survivor for survivor, place in survivors if place.is_adult]
        if adults:
            await self.store.transfer_permits(conn, permits, adults[0], on)
            return ActionOutcome(
                outcome="done",
                code="permit_transferred",
                references={"permit": ",".join(permits), "transferred_on": on.isoformat()},
            )
        await self.store.cancel_permits(conn, permits, on)
        return ActionOutcome(
            outcome="done",
            code="permit_cancelled",
            references={"permit": ",".join(permits), "cancelled_on": on.isoformat()},
        )

    async def _end_assisted_collection(
        self,
        conn: AsyncConnection,
        _action: ServiceAction,
        people: list[Shared[HouseholdMember]],
    ) -> ActionOutcome:
        resident, death = the_deceased(people)
        survivors = _survivors(people, resident)
        where = property_key(death.last_address)
        collections = await self.store.active_collections(conn, resident, where)
        if not collections:
            return ActionOutcome(outcome="no_action", code="no_collection")
        on = death.date_of_death
        refs = ",".join(collections)
        if survivors:
            await self.store.change_collections(conn, collections, "under_review", on)
            return ActionOutcome(
                outcome="done",
                code="collection_under_review",
                references={"collection": refs, "review_from": on.isoformat()},
            )
        await self.store.change_collections(conn, collections, "stopped", on)
        return ActionOutcome(
            outcome="done",
            code="collection_stopped",
            references={"collection": refs, "stopped_on": on.isoformat()},
        )

    @activity.defn(name=Activity.REGISTERS_ISSUE_LIBRARY_CARD)
    async def issue_library_card(self, action: ServiceAction) -> ActionOutcome:
        # Not about a death: `perform` refuses a token the gate stamped `deceased`.
        return await self.perform(
            action,
            BirthMember,
            self._issue_library_card,
            purpose=PURPOSES[Activity.REGISTERS_ISSUE_LIBRARY_CARD],
        )

    async def _issue_library_card(
        self, conn: AsyncConnection, action: ServiceAction, people: list[Shared[BirthMember]]
    ) -> ActionOutcome:
        child, _born = the_child(people)
        held = await self.store.open_cards(conn, child)
        if held:
            return ActionOutcome(
                outcome="no_action",
                code="already_member",
                references={"card": ",".join(card for card, _ in held)},
            )
        parents = [p.resident for p in people if p.data.birth is None]
        card = await self.store.issue_junior_card(
            conn, (action.workflow_id, action.step), child, parents[0] if parents else None
        )
        return ActionOutcome(outcome="done", code="card_issued", references={"card": card})

    @activity.defn(name=Activity.REGISTERS_UNDO)
    async def undo(self, action: ServiceAction) -> ActionOutcome:
        """The compensation of one of the steps above (`action` names it; one share per
        resident, no data, each token for the purpose of the step's register: any of
        `PURPOSES`), when its life event is withdrawn: the register is as it was before
        it. The blue badge it cancelled is valid again; the library membership it closed is
        open again, with the charges it waived owed again; the parking permit it passed on
        or cancelled is the deceased's and active again; the assisted collection it stopped
        or put under review is active again. After a birth: the junior library card it
        issued is cancelled (gone from the register). Refused whole (`changed_since`,
        naming the tables) when a record it wrote changed since, for a caseworker to take
        on."""
        return await self.reverse(action)

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [
            self.end_blue_badge,
            self.end_library_card,
            self.end_parking_permit,
            self.end_assisted_collection,
            self.issue_library_card,
            self.undo,
        ]
