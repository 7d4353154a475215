"""The resident index: matching, moves, births, flags, preferences, contact plans and the
household a death leaves, each one store transaction. Activities (`activities.py`) are thin
wrappers around this class; tests and the seed use it directly.

Every write on behalf of a workflow's step is journaled in that transaction
(`ResidentStore.journaled_step`, keyed on workflow ID, step and kind), so that
`undo_workflow` can take a withdrawn life event's records back whole.

Log lines name outcomes, rule codes, counts and pseudonymous keys, never what a person is
called or any identifier (DESIGN.md, "Rules that keep personal data safe").
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.actions import ActionOutcome, UndoRequest
from contracts.addresses import UkAddress
from contracts.people import ContactDetails, PersonName
from contracts.residents import (
    CHANNELS,
    BirthHousehold,
    BirthRecord,
    CaseworkerDecision,
    Channel,
    ContactPlan,
    DeathHousehold,
    DeathRecord,
    Household,
    LifeEventReport,
    MatchResult,
    MoveRecord,
    PersonDetails,
    PreferenceUpdate,
    Resident,
    SameEvent,
    SupportFlag,
    Survivor,
    default_channels,
)
from contracts.shares import age_on
from services.common.journal import undo as undo_journaled
from services.residents.matching import Candidate, decide, identifiers_of, name_key
from services.residents.sameness import compare
from services.residents.store import ResidentStore, journal

__all__ = [
    "MatchRequest",
    "ResidentIndex",
    "ResidentIndexError",
    "new_resident_key",
    "open_index",
]

log = structlog.get_logger(__name__)


class _Refused(Exception):
    """Undoing a workflow met a change since: the transaction rolls back. Table names only."""

    def __init__(self, tables: tuple[str, ...]) -> None:
        super().__init__(",".join(tables))
        self.tables = tables


class ResidentIndexError(Exception):
    """A request the index refuses; `code` is safe to log and to show (no personal data)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class MatchRequest:
    """One `match_people` activity execution: `key` is the same across its retries and
    different for any other activity or input; `workflow_id` and `step` (the activity ID)
    record which workflow the matched residents are involved in."""

    key: str
    workflow_id: str
    step: str


def new_resident_key() -> str:
    """`res_` + 128 random bits, URL-safe: reveals nothing, guesses nothing."""
    return "res_" + secrets.token_urlsafe(16)


class ResidentIndex:
    def __init__(self, store: ResidentStore, new_key: Callable[[], str] = new_resident_key) -> None:
        self.store = store
        self._new_key = new_key

    # --- matching ---------------------------------------------------------------------

    async def match_people(
        self, people: Sequence[PersonDetails], request: MatchRequest | None = None
    ) -> list[MatchResult]:
        """Match each person (in order, in one transaction: a later person can match one
        created for an earlier). The people of one call are side by side (`matching.py`):
        a resident another of them is, is never a partial name match for this one. With
        `request`, a repeat of the same request returns the first answer unchanged, and the
        residents matched or created are noted as involved in the request's workflow (a
        doubtful person names nobody yet)."""
        async with self.store.writing() as conn, self._journaled(conn, request):
            if request is not None:
                stored = await self.store.match_request(conn, request.key)
                if stored is not None:
                    log.info("residents.match_repeated", people=len(people))
                    return [MatchResult.model_validate(r) for r in json.loads(stored)]
            results: list[MatchResult] = []
            found = await self._found_before(conn, people)
            for number, person in enumerate(people):
                # Side by side: the residents the request's other people are.
                beside = {key for other, key in enumerate(found) if other != number and key}
                beside.update(r.resident for r in results if r.resident is not None)
                results.append(await self._match(conn, person, frozenset(beside)))
            if request is not None:
                await self.store.record_match_request(
                    conn, request.key, json.dumps([r.model_dump(mode="json") for r in results])
                )
                await self.store.record_step_residents(
                    conn,
                    request.workflow_id,
                    request.step,
                    "match_people",
                    [r.resident for r in results if r.resident is not None],
                )
        for result in results:
            log.info(
                "residents.match_decided",
                outcome=result.outcome,
                rule=result.rule,
                candidates=result.candidates,
                resident=result.resident,
            )
        return results

    def _journaled(
        self, conn: AsyncConnection, request: MatchRequest | None
    ) -> AbstractAsyncContextManager[None]:
        """A match made for a workflow is journaled as its step; one made outside any (the
        seed, a test) is not."""
        if request is None:
            return nullcontext()
        return self.store.journaled_step(conn, request.workflow_id, request.step, "match_people")

    async def _candidates(self, conn: AsyncConnection, person: PersonDetails) -> list[Candidate]:
        return await self.store.candidates_for(
            conn, identifiers_of(person), name_key(person.name), person.date_of_birth
        )

    async def _found_before(
        self, conn: AsyncConnection, people: Sequence[PersonDetails]
    ) -> list[str | None]:
        """The resident each person matches in the index as the request found it (None when
        not matched), so that a person matched later in the request is side by side with the
        earlier ones too. One person alone is beside nobody."""
        if len(people) < 2:
            return [None] * len(people)
        found: list[str | None] = []
        for person in people:
            decision = decide(person, await self._candidates(conn, person))
            found.append(decision.resident if decision.outcome == "matched" else None)
        return found

    async def _match(
        self, conn: AsyncConnection, person: PersonDetails, beside: frozenset[str]
    ) -> MatchResult:
        decision = decide(person, await self._candidates(conn, person), beside)
        if decision.outcome == "matched":
            assert decision.resident is not None
            await self._enrich(conn, decision.resident, person)
            return MatchResult(
                outcome="matched",
                resident=decision.resident,
                candidates=len(decision.candidates),
                rule=decision.rule,
                candidate_keys=decision.candidates,
            )
        if decision.outcome == "created":
            key = await self._create(conn, person)
            return MatchResult(outcome="created", resident=key, candidates=0, rule=decision.rule)
        return MatchResult(
            outcome="doubtful",
            resident=None,
            candidates=len(decision.candidates),
            rule=decision.rule,
            candidate_keys=decision.candidates,
        )

    async def _create(self, conn: AsyncConnection, person: PersonDetails) -> str:
        key = self._new_key()
        await self.store.insert_resident(conn, key, person.date_of_birth)
        await self.store.add_contact_if_unknown(conn, key, person.contact)
        if person.address is not None:
            await self.store.set_residence(conn, key, person.address, since=None)
        await self._enrich(conn, key, person)
        return key

    async def _enrich(self, conn: AsyncConnection, key: str, person: PersonDetails) -> None:
        """Add what the index does not know yet; never replace what it knows."""
        await self.store.add_name(conn, key, person.name)
        if person.date_of_birth is not None:
            await self.store.set_date_of_birth_if_unknown(conn, key, person.date_of_birth)
        held = await self.store.identifiers_of(conn, key)
        for kind, value in identifiers_of(person).items():
            # A different value of a kind the resident has, or a value another resident
            # holds (a caseworker may link despite it), is left as it is.
            if kind in held or await self.store.holder_of(conn, kind, value) is not None:
                continue
            await self.store.add_identifier(conn, key, kind, value)
        await self.store.add_contact_if_unknown(conn, key, person.contact)
        if person.address is not None and await self.store.residence_row(conn, key) is None:
            await self.store.set_residence(conn, key, person.address, since=None)

    async def resolve_doubtful(self, decision: CaseworkerDecision) -> MatchResult:
        """Apply a caseworker's decision about a doubtful match; idempotent on the step."""
        kind = "resolve_doubtful"
        async with (
            self.store.writing() as conn,
            self.store.journaled_step(conn, decision.workflow_id, decision.step, kind),
        ):
            stored = await self.store.step_result(conn, decision.workflow_id, decision.step, kind)
            if stored is not None:
                return MatchResult.model_validate_json(stored)
            if decision.resident is not None:
                await self._require(conn, decision.resident)
                await self._enrich(conn, decision.resident, decision.person)
                result = MatchResult(
                    outcome="matched",
                    resident=decision.resident,
                    candidates=1,
                    rule="caseworker_linked",
                    candidate_keys=(decision.resident,),
                )
            else:
                key = await self._create(conn, decision.person)
                result = MatchResult(
                    outcome="created", resident=key, candidates=0, rule="caseworker_created"
                )
            await self.store.record_step(
                conn, decision.workflow_id, decision.step, kind, result.model_dump_json()
            )
            assert result.resident is not None
            await self.store.record_step_residents(
                conn, decision.workflow_id, decision.step, kind, [result.resident]
            )
        log.info(
            "residents.doubtful_resolved",
            decision=decision.decision,
            resident=result.resident,
            workflow_id=decision.workflow_id,
            step=decision.step,
        )
        return result

    # --- moves and households -------------------------------------------------------------

    async def record_move(self, move: MoveRecord) -> Household:
        """Move residents to `new_address` (None: away, address unknown) as of `move_date`.

        A resident whose current address is newer than `move_date` keeps it (events can
        arrive out of order). Idempotent on (workflow_id, step): a repeat returns the first
        answer and changes nothing."""
        kind = "record_move"
        async with (
            self.store.writing() as conn,
            self.store.journaled_step(conn, move.workflow_id, move.step, kind),
        ):
            stored = await self.store.step_result(conn, move.workflow_id, move.step, kind)
            if stored is not None:
                return Household.model_validate_json(stored)
            for key in move.residents:
                await self._require(conn, key)
            for key in dict.fromkeys(move.residents):
                row = await self.store.residence_row(conn, key)
                if row is None or row.since is None or row.since <= move.move_date:
                    await self.store.set_residence(conn, key, move.new_address, move.move_date)
            others = 0
            if move.new_address is None:
                members = tuple(sorted(set(move.residents)))
            else:
                members = tuple(await self.store.living_at(conn, move.new_address))
                staying = [key for key in members if key not in move.residents]
                others = await self.store.adults_among(conn, staying, move.move_date)
            household = Household(address=move.new_address, residents=members, other_adults=others)
            await self.store.record_step(
                conn, move.workflow_id, move.step, kind, household.model_dump_json()
            )
            await self.store.record_step_residents(
                conn, move.workflow_id, move.step, kind, move.residents
            )
        log.info(
            "residents.moved",
            residents=len(move.residents),
            direction=move.direction,
            household_size=len(household.residents),
            workflow_id=move.workflow_id,
            step=move.step,
        )
        return household

    # --- births ---------------------------------------------------------------------------

    async def record_birth(self, birth: BirthRecord) -> BirthHousehold:
        """Record that the child (matched or created by `match_people` at the parents'
        address) was born into the household there, and which workflow holds the child's
        reminders.

        A child with no known address gets the first parent's from the date of birth (an
        address newer than the birth is kept, as in `record_move`). `recorded_by` is the
        workflow that recorded a birth for this child first: the same birth reported again
        under another event reaches the same resident, and only the first workflow acts on
        it. Idempotent on (workflow_id, step): a repeat returns the first answer and changes
        nothing."""
        kind = "record_birth"
        async with (
            self.store.writing() as conn,
            self.store.journaled_step(conn, birth.workflow_id, birth.step, kind),
        ):
            stored = await self.store.step_result(conn, birth.workflow_id, birth.step, kind)
            if stored is not None:
                return BirthHousehold.model_validate_json(stored)
            for key in (birth.child, *birth.parents):
                await self._require(conn, key)
            await self.store.set_date_of_birth_if_unknown(conn, birth.child, birth.date_of_birth)
            address = await self.store.address_of(conn, birth.child)
            if address is None and birth.parents:
                address = await self._give_parents_address(conn, birth)
            members: tuple[str, ...] = (birth.child,)
            if address is not None:
                members = tuple(await self.store.living_at(conn, address))
            # Noted before asking who recorded it first: if nobody did, this workflow did.
            await self.store.record_step_residents(
                conn, birth.workflow_id, birth.step, kind, [birth.child]
            )
            [recorded_by] = await self.store.first_workflows(conn, [birth.child], kind)
            household = BirthHousehold(address=address, residents=members, recorded_by=recorded_by)
            await self.store.record_step(
                conn, birth.workflow_id, birth.step, kind, household.model_dump_json()
            )
        log.info(
            "residents.birth_recorded",
            resident=birth.child,
            parents=len(birth.parents),
            address_known=address is not None,
            household_size=len(household.residents),
            first=recorded_by == birth.workflow_id,
            workflow_id=birth.workflow_id,
            step=birth.step,
        )
        return household

    async def _give_parents_address(
        self, conn: AsyncConnection, birth: BirthRecord
    ) -> UkAddress | None:
        """The first parent's address, now the child's from the date of birth; None (nothing
        changed) if that parent's address is unknown or the child moved away after the
        birth to an address not known."""
        address = await self.store.address_of(conn, birth.parents[0])
        if address is None:
            return None
        row = await self.store.residence_row(conn, birth.child)
        if row is not None and row.since is not None and row.since > birth.date_of_birth:
            return None
        await self.store.set_residence(conn, birth.child, address, birth.date_of_birth)
        return address

    async def reminders_for(self, keys: Sequence[str]) -> list[str]:
        """The workflows holding reminders for `keys`: for each, the workflow that recorded a
        birth for them first; each once, oldest first. A key with no birth recorded, or no
        resident, adds nothing (a move may be about anyone). Read only."""
        async with self.store.reading() as conn:
            workflows = await self.store.first_workflows(conn, keys, "record_birth")
        log.info("residents.reminders_found", residents=len(keys), workflows=len(workflows))
        return workflows

    # --- reports of the same life event -------------------------------------------------

    async def claim_report(self, report: LifeEventReport) -> SameEvent:
        """Whether `report` is the first of its life event, the same as an earlier one, or
        contradicts one (the rule: `sameness.py`), and remember it for the reports after
        it. Writers are serialised, so of two reports of one life event made at the same
        moment exactly one is first. Idempotent on the report's workflow."""
        kind = "claim_report"
        async with (
            self.store.writing() as conn,
            self.store.journaled_step(conn, report.workflow_id, "report", kind),
        ):
            stored = await self.store.step_result(conn, report.workflow_id, "report", kind)
            if stored is not None:
                return SameEvent.model_validate_json(stored)
            for key in report.residents:
                await self._require(conn, key)
            earlier = await self.store.first_reports(conn, report.kind, report.residents)
            same = compare(report, earlier)
            await self.store.record_report(conn, report, first_workflow=same.first_workflow)
            await self.store.record_step(
                conn, report.workflow_id, "report", kind, same.model_dump_json()
            )
            await self.store.record_step_residents(
                conn, report.workflow_id, "report", kind, report.residents
            )
            # The residents it adds are the first report's life event's now (its workflow is
            # told): a later report about them alone is of the same event too.
            await self.store.record_step_residents(
                conn, same.first_workflow, "report", kind, same.added
            )
        log.info(
            "residents.report_claimed",
            kind=report.kind,
            verdict=same.verdict,
            differences=list(same.differences),
            added=len(same.added),
            workflow_id=report.workflow_id,
            first_workflow=same.first_workflow,
        )
        return same

    # --- flags ----------------------------------------------------------------------------

    async def mark_deceased(self, death: DeathRecord) -> Resident:
        """Flag the resident deceased (once; a repeat changes nothing). From then on no
        contact plan addresses them and they leave every household."""
        async with (
            self.store.writing() as conn,
            self.store.journaled_step(conn, death.workflow_id, death.step, "mark_deceased"),
        ):
            await self._require(conn, death.resident)
            changed = await self.store.set_flag(
                conn,
                death.resident,
                "deceased",
                since=death.date_of_death,
                reason=None,
                workflow_id=death.workflow_id,
                step=death.step,
            )
            await self.store.record_step_residents(
                conn, death.workflow_id, death.step, "mark_deceased", [death.resident]
            )
            resident = await self._view(conn, death.resident)
        log.info("residents.flagged", flag="deceased", changed=changed, resident=death.resident)
        return resident

    async def flag_support(self, flag: SupportFlag) -> Resident:
        """Flag that the resident may need support (the first reason is kept)."""
        async with (
            self.store.writing() as conn,
            self.store.journaled_step(conn, flag.workflow_id, flag.step, "flag_support"),
        ):
            await self._require(conn, flag.resident)
            changed = await self.store.set_flag(
                conn,
                flag.resident,
                "may_need_support",
                since=None,
                reason=flag.reason,
                workflow_id=flag.workflow_id,
                step=flag.step,
            )
            await self.store.record_step_residents(
                conn, flag.workflow_id, flag.step, "flag_support", [flag.resident]
            )
            resident = await self._view(conn, flag.resident)
        log.info(
            "residents.flagged",
            flag="may_need_support",
            reason=flag.reason,
            changed=changed,
            resident=flag.resident,
        )
        return resident

    # --- after a death ----------------------------------------------------------------------

    async def household_after_death(self, death: DeathRecord) -> DeathHousehold:
        """Who the death leaves behind at the deceased's address (the living residents there,
        with the first name the index recorded for each, their age on the date of death and
        whether they may need support), and the other workflows that recorded a step about
        the deceased, oldest first (a move may still be waiting on them). Read only."""
        async with self.store.reading() as conn:
            await self._require(conn, death.resident)
            address = await self.store.address_of(conn, death.resident)
            rows: list[Any] = []
            if address is not None:
                rows = await self.store.survivors_at(conn, address, death.resident)
            workflows = await self.store.workflows_about(
                conn, death.resident, excluding=death.workflow_id
            )
        survivors = tuple(_survivor(row, death) for row in rows)
        log.info(
            "residents.household_after_death",
            resident=death.resident,
            address_known=address is not None,
            survivors=len(survivors),
            workflows=len(workflows),
            workflow_id=death.workflow_id,
            step=death.step,
        )
        return DeathHousehold(address=address, survivors=survivors, workflows=tuple(workflows))

    # --- undoing a workflow -----------------------------------------------------------------

    async def undo_workflow(self, request: UndoRequest) -> ActionOutcome:
        """Take back everything the index wrote for `request.workflow_id` (its life event was
        withdrawn): every journaled step of it, newest first, in one transaction, all or
        nothing. A resident it marked deceased is alive again, residents it moved are back
        where they were, a child its match created is gone with the birth recorded, and its
        report of the life event (and whom it was about) is forgotten.

        - `done` `undone` {restored: rows, steps: changes undone};
        - `no_action` `changed_since` {tables}: a row it wrote changed since, or a row
          written since refers to one it made (a later workflow's step about a resident it
          created); nothing is restored, for a caseworker to take on;
        - `no_action` `already_undone` (a repeat), `nothing_to_undo` (it wrote nothing)."""
        workflow_id = request.workflow_id
        try:
            async with self.store.writing() as conn:
                outcome = await self._undo(conn, workflow_id)
        except _Refused as refused:
            outcome = _changed_since(refused.tables)
        except IntegrityError:
            # A constraint the checks above did not foresee refused a restore: it rolled
            # back whole, and every table the workflow wrote is named, as the caseworker's
            # to look at. (Retrying would meet the same refusal.)
            async with self.store.reading() as conn:
                tables = await self.store.journaled_tables(conn, workflow_id)
            outcome = _changed_since(tables)
        log.info(
            "residents.workflow_undone",
            workflow_id=workflow_id,
            undone_by=request.undone_by,
            outcome=outcome.outcome,
            code=outcome.code,
            references=outcome.references,
        )
        return outcome

    async def _undo(self, conn: AsyncConnection, workflow_id: str) -> ActionOutcome:
        """In `conn`'s transaction; `_Refused` (rolling it back) when any change conflicts."""
        changes = await self.store.journaled_changes(conn, workflow_id)
        if not changes:
            return ActionOutcome(outcome="no_action", code="nothing_to_undo")
        pending = [key for key in changes if not await self.store.undone_already(conn, key)]
        if not pending:
            return ActionOutcome(outcome="no_action", code="already_undone")
        # The journal compares only the rows a change wrote; a row written since that refers
        # to one of them is a change since too (and the database would refuse the delete).
        referring = await self.store.referred_to_since(conn, pending)
        if referring:
            raise _Refused(tuple(referring))
        restored = 0
        for key in pending:
            undone = await undo_journaled(conn, journal, key, self.store.journaled)
            if undone.conflicts:
                raise _Refused(undone.conflicts)
            restored += undone.restored
        return ActionOutcome(
            outcome="done",
            code="undone",
            references={"restored": str(restored), "steps": str(len(pending))},
        )

    # --- contact ----------------------------------------------------------------------------

    async def set_preferences(self, update: PreferenceUpdate) -> Resident:
        async with self.store.writing() as conn:
            await self._require(conn, update.resident)
            await self.store.set_preferences(
                conn, update.resident, update.channels, update.portal_account
            )
            resident = await self._view(conn, update.resident)
        log.info("residents.preferences_set", resident=update.resident)
        return resident

    async def contact_for(self, key: str) -> ContactPlan:
        """The channels to reach `key` on now, in their preference order, keeping only those
        the index can deliver (portal: has an account; email, sms: the detail is known;
        letter: an address is known). A deceased resident gets no channel at all."""
        async with self.store.reading() as conn:
            await self._require(conn, key)
            resident = await self._view(conn, key)
        if resident.deceased:
            return ContactPlan(resident=key, deceased=True, channels=())
        contact = resident.contact
        email = contact.email if contact is not None else None
        phone = contact.phone if contact is not None else None
        deliverable: dict[Channel, bool] = {
            "portal": resident.portal_account,
            "email": email is not None,
            "sms": phone is not None,
            "letter": resident.address is not None,
        }
        channels = tuple(c for c in resident.channels if deliverable[c])
        return ContactPlan(
            resident=key,
            deceased=False,
            channels=channels,
            email=email if "email" in channels else None,
            phone=phone if "sms" in channels else None,
            address=resident.address if "letter" in channels else None,
        )

    # --- reading --------------------------------------------------------------------------

    async def resident(self, key: str) -> Resident | None:
        async with self.store.reading() as conn:
            if not await self.store.exists(conn, key):
                return None
            return await self._view(conn, key)

    async def keys(self) -> list[str]:
        async with self.store.reading() as conn:
            return await self.store.keys(conn)

    async def _require(self, conn: AsyncConnection, key: str) -> None:
        if not await self.store.exists(conn, key):
            raise ResidentIndexError("unknown_resident")

    async def _view(self, conn: AsyncConnection, key: str) -> Resident:
        row = await self.store.contact_row(conn, key)
        contact: ContactDetails | None = None
        portal_account = False
        chosen: tuple[Channel, ...] | None = None
        if row is not None:
            if row.email is not None or row.phone is not None:
                contact = ContactDetails(email=row.email, phone=row.phone)
            portal_account = bool(row.portal_account)
            if row.channels:
                chosen = tuple(_channel(c) for c in row.channels.split(","))
        address: UkAddress | None = await self.store.address_of(conn, key)
        household: tuple[str, ...] = ()
        if address is not None:
            household = tuple(k for k in await self.store.living_at(conn, address) if k != key)
        return Resident(
            key=key,
            contact=contact,
            portal_account=portal_account,
            channels=chosen if chosen is not None else default_channels(contact, portal_account),
            channels_chosen=chosen is not None,
            flags=tuple(await self.store.flags_of(conn, key)),
            address=address,
            household=household,
        )


def _changed_since(tables: Sequence[str]) -> ActionOutcome:
    return ActionOutcome(
        outcome="no_action", code="changed_since", references={"tables": ",".join(tables)}
    )


def _survivor(row: Any, death: DeathRecord) -> Survivor:
    """One row of `ResidentStore.survivors_at` as a `Survivor`. Age on the date of death;
    none for a child born after it (the age is not defined then), nor without a birth date."""
    if row.given_names is None and row.family_name is None:
        raise ResidentIndexError("stored_name_missing")  # every resident is created named
    born = row.date_of_birth
    age = None if born is None or born > death.date_of_death else age_on(born, death.date_of_death)
    return Survivor(
        resident=row.resident,
        name=PersonName(given_names=row.given_names, family_name=row.family_name),
        date_of_birth=born,
        age=age,
        may_need_support=bool(row.may_need_support),
    )


def _channel(value: str) -> Channel:
    for channel in CHANNELS:
        if value == channel:
            return channel
    raise ResidentIndexError("stored_channel_unknown")


async def open_index(database_url: str) -> ResidentIndex:
    """The index on its store, opened. Close with `index.store.close()`."""
    return ResidentIndex(await ResidentStore.open(database_url))
