"""School admissions activities, on task queue `school-admissions`.

Each takes a `ServiceAction` and returns an `ActionOutcome`:

| activity | purpose | data |
| --- | --- | --- |
| `schools.find_catchment` (nothing recorded) | `school-admission-planning` | address, birth |
| `schools.offer_in_year_admission` | `school-admission-planning` | identity, birth, address |
| `schools.record_early_years` | `early-years-planning` | identity, birth, address |
| `schools.offer_early_education` | `early-years-planning` | identity, birth, address |
| `schools.undo` (a step's compensation) | the step's | none |

`find_catchment` names the catchment schools of an address: the new one of a move (so the
workflow can show the resident the offer before they confirm), or where a child lives now
(`HomeAddress`, a birth), with the reception dates when a share has `birth`. An address in
another council's area (no catchment known here, and the postcode's council known) is that
council's to answer. Once a mover has confirmed, `offer_in_year_admission` records an in-year
admission application for each child in a school year (Reception to Year 11) on the move
date, at the catchment school for their year (primary to Year 6, secondary from Year 7);
where the district has no known catchment school the application is recorded for the
admissions team to allocate one.

A birth: the child is the one share with `birth` (each parent shares identity and address,
never birth). `record_early_years` puts the child on the council's early-years list (its
duty to secure sufficient childcare, Childcare Act 2006 s.6), with the date of birth and the
postcode district only, and tells the family when each funded entitlement and reception
begin (`contracts.childhood`). `offer_early_education` is run on the day an entitlement
begins (s.7), and offers the one that has begun by then. Both verify their tokens for their
own purpose in the data-sharing policy (`early-years-planning`), not the service's: each
activity's purpose is in `PURPOSES`, as in the council registers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from types import MappingProxyType
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import Discriminator, Tag
from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio import activity

from contracts.actions import ActionOutcome, ServiceAction
from contracts.addresses import UkAddress
from contracts.base import ContractModel
from contracts.childhood import ChildhoodDates, MilestoneCode, childhood_dates
from contracts.shares import HomeAddress, MoveAddress, PersonBirth, PersonIdentity
from contracts.temporal import Activity, TaskQueue
from services.common.council import CouncilActivities, Shared, same_for_all, the_child
from services.common.councils import UNKNOWN, council_for
from services.schools.catchment import catchment_for, district, year_group, year_name
from services.schools.store import EarlyOffer, EarlyYearsEntry, NewApplication, SchoolStore

__all__ = [
    "EARLY_YEARS_PURPOSE",
    "FAMILY_INFORMATION_SERVICE",
    "FUNDED_HOURS",
    "PURPOSE",
    "PURPOSES",
    "BirthShare",
    "SchoolActivities",
    "SchoolMover",
    "entitlement_on",
]

PURPOSE = "school-admission-planning"
EARLY_YEARS_PURPOSE = "early-years-planning"
PURPOSES: Mapping[str, str] = MappingProxyType(
    {
        Activity.SCHOOLS_FIND_CATCHMENT: PURPOSE,
        Activity.SCHOOLS_OFFER_IN_YEAR_ADMISSION: PURPOSE,
        Activity.SCHOOLS_RECORD_EARLY_YEARS: EARLY_YEARS_PURPOSE,
        Activity.SCHOOLS_OFFER_EARLY_EDUCATION: EARLY_YEARS_PURPOSE,
    }
)
"""The purpose each activity's shares are verified for, as in the service catalogue."""
TO_BE_ALLOCATED = "to be allocated"
FAMILY_INFORMATION_SERVICE = "Exampletown Family Information Service"
"""Where families ask about childcare (Childcare Act 2006 s.12): the council's own."""
FUNDED_HOURS = 15
"""Funded early education a week, term time, for two- and three-year-olds alike."""

_ENGLAND = ZoneInfo("Europe/London")
# The kind of offer the store records, and the entitlement it names in the references.
_ENTITLEMENTS: dict[str, str] = {
    "two_year_old": MilestoneCode.TWO_YEAR_OLD_FUNDING.value,
    "three_year_old": MilestoneCode.THREE_YEAR_OLD_ENTITLEMENT.value,
}


def _address_kind(value: Any) -> str:
    # A move's address says which way it goes; a home's does not.
    moving = isinstance(value, MoveAddress) or (isinstance(value, dict) and "direction" in value)
    return "move" if moving else "home"


class CatchmentQuery(ContractModel):
    # Told apart by shape, so that a refusal names the one it was taken for
    # (`invalid_data:address.home.address.postcode`), not both.
    address: Annotated[
        Annotated[MoveAddress, Tag("move")] | Annotated[HomeAddress, Tag("home")],
        Discriminator(_address_kind),
    ]
    birth: PersonBirth | None = None


class SchoolMover(ContractModel):
    identity: PersonIdentity
    birth: PersonBirth
    address: MoveAddress


class BirthShare(ContractModel):
    """A step on a birth: the child's share (`birth`), or a parent's (without)."""

    identity: PersonIdentity
    birth: PersonBirth | None = None
    address: HomeAddress


def _lives_at(address: MoveAddress | HomeAddress) -> UkAddress | None:
    """Where the catchment is asked for: a move's new address, or the home."""
    return address.new_address if isinstance(address, MoveAddress) else address.address


def entitlement_on(dates: ChildhoodDates, day: date) -> tuple[str, date] | None:
    """(kind, from) of the latest funded entitlement begun on or before `day`: `two_year_old`
    or `three_year_old`; None before the first."""
    begun = [
        (kind, starts)
        for kind, starts in (
            ("two_year_old", dates.two_year_old_funding),
            ("three_year_old", dates.three_year_old_entitlement),
        )
        if starts <= day
    ]
    return max(begun, key=lambda entitlement: entitlement[1]) if begun else None


def _action_day() -> date:
    """The day of the action in England: when the workflow scheduled the activity (the
    workflow's clock, so the time-skipping test server's skipped time counts), as a date in
    Europe/London; never this process's clock."""
    return activity.info().scheduled_time.astimezone(_ENGLAND).date()


def _offered(offer: EarlyOffer) -> dict[str, str]:
    return {
        "entitlement": _ENTITLEMENTS[offer.kind],
        "from": offer.from_date.isoformat(),
        "hours": str(offer.hours),
    }


class SchoolActivities(CouncilActivities):
    recipient = TaskQueue.SCHOOLS
    # The admissions activities' purpose; the early-years ones pass their own to `perform`.
    purpose = PURPOSE
    purposes: ClassVar[Mapping[str, str]] = PURPOSES
    store: SchoolStore

    @activity.defn(name=Activity.SCHOOLS_FIND_CATCHMENT)
    async def find_catchment(self, action: ServiceAction) -> ActionOutcome:
        """Read only: the catchment schools of the new address, or of the home; with the
        reception dates of the child when a share has `birth`."""
        await self.verify(action)
        queries = self.parse(CatchmentQuery, action)
        born = the_child(queries)[1] if any(q.data.birth is not None for q in queries) else None
        where = same_for_all(_lives_at(q.data.address) for q in queries)
        catchment = catchment_for(where.postcode) if where is not None else None
        if where is None or catchment is None:
            council = council_for(where.postcode if where is not None else None)
            if council != UNKNOWN:
                return ActionOutcome(
                    outcome="no_action", code="outside_the_area", references={"council": council}
                )
            return ActionOutcome(outcome="no_action", code="no_catchment_school")
        references = {
            "district": district(where.postcode),
            "primary_school": catchment.primary.name,
            "primary_school_code": catchment.primary.code,
            "secondary_school": catchment.secondary.name,
            "secondary_school_code": catchment.secondary.code,
        }
        if born is not None:
            dates = childhood_dates(born)
            references |= {
                "reception_starts": dates.reception_starts.isoformat(),
                "applications_close": dates.reception_window_closes.isoformat(),
            }
        return ActionOutcome(outcome="done", code="catchment_found", references=references)

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

    @activity.defn(name=Activity.SCHOOLS_RECORD_EARLY_YEARS)
    async def record_early_years(self, action: ServiceAction) -> ActionOutcome:
        """The child on the early-years list, once: `registered`, or `already_registered`
        (another workflow put them there), each with the Family Information Service and the
        dates the child's funded early education and reception begin."""
        return await self.perform(
            action,
            BirthShare,
            self._record_early_years,
            purpose=PURPOSES[Activity.SCHOOLS_RECORD_EARLY_YEARS],
        )

    async def _record_early_years(
        self, conn: AsyncConnection, action: ServiceAction, people: list[Shared[BirthShare]]
    ) -> ActionOutcome:
        child, born = the_child(people)
        [home] = [p.data.address.address for p in people if p.resident == child]
        dates = childhood_dates(born)
        references = {
            "family_information_service": FAMILY_INFORMATION_SERVICE,
            "two_year_old_funding_from": dates.two_year_old_funding.isoformat(),
            "three_year_old_entitlement_from": dates.three_year_old_entitlement.isoformat(),
            "reception_starts": dates.reception_starts.isoformat(),
        }
        entry = EarlyYearsEntry(child, born, district(home.postcode))
        if not await self.store.add_to_early_years(conn, (action.workflow_id, action.step), entry):
            return ActionOutcome(
                outcome="no_action", code="already_registered", references=references
            )
        return ActionOutcome(outcome="done", code="registered", references=references)

    @activity.defn(name=Activity.SCHOOLS_OFFER_EARLY_EDUCATION)
    async def offer_early_education(self, action: ServiceAction) -> ActionOutcome:
        """Offer the funded early education the child is entitled to on the day of the
        action: the latest of the two-year-old funding and the three-year-old entitlement
        (`contracts.childhood`) begun on or before it. The day of the action is
        `activity.info().scheduled_time` as a date in Europe/London: the time the workflow
        scheduled the activity, so a workflow's timer that fires on the day the entitlement
        begins, and the time-skipping test server, decide it, not this worker's clock; a
        retry answers what the first attempt recorded (`perform`).

        `offer_made` {entitlement: `two_year_old_funding` | `three_year_old_entitlement`,
        from, hours: `15`}, once per child and entitlement; a repeat (another step or
        workflow) → `no_action` `already_offered` with the first offer's references; neither
        begun yet → `no_action` `not_yet_entitled`."""
        day = _action_day()

        async def offer(
            conn: AsyncConnection, action: ServiceAction, people: list[Shared[BirthShare]]
        ) -> ActionOutcome:
            return await self._offer_early_education(conn, action, people, day)

        return await self.perform(
            action, BirthShare, offer, purpose=PURPOSES[Activity.SCHOOLS_OFFER_EARLY_EDUCATION]
        )

    async def _offer_early_education(
        self,
        conn: AsyncConnection,
        action: ServiceAction,
        people: list[Shared[BirthShare]],
        day: date,
    ) -> ActionOutcome:
        child, born = the_child(people)
        begun = entitlement_on(childhood_dates(born), day)
        if begun is None:
            return ActionOutcome(outcome="no_action", code="not_yet_entitled")
        kind, starts = begun
        first = await self.store.early_offer(conn, child, kind)
        if first is not None:
            return ActionOutcome(
                outcome="no_action", code="already_offered", references=_offered(first)
            )
        offer = EarlyOffer(child, kind, starts, FUNDED_HOURS)
        await self.store.offer_early_education(conn, (action.workflow_id, action.step), offer)
        return ActionOutcome(outcome="done", code="offer_made", references=_offered(offer))

    @activity.defn(name=Activity.SCHOOLS_UNDO)
    async def undo(self, action: ServiceAction) -> ActionOutcome:
        """The compensation of one of the steps above (`action` names it; one share per
        resident, no data, each token for the step's purpose: admissions or early years),
        when its life event is withdrawn: the admissions records are as they were before
        it. The in-year admission applications it recorded are withdrawn; the child it put
        on the early-years list is off it, with the dates it told the family; the funded
        early education it offered is withdrawn. `find_catchment` records nothing:
        `nothing_to_undo`. Refused whole (`changed_since`, naming the tables) when an
        application, listing or offer it wrote changed since (a family answered an offer),
        for a caseworker to take on."""
        return await self.reverse(action)

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [
            self.find_catchment,
            self.offer_in_year_admission,
            self.record_early_years,
            self.offer_early_education,
            self.undo,
        ]
