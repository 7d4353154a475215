"""BereavementWorkflow: a death has been registered; the council acts on it once.

What is particular to a death:

1. At once: the deceased is matched at their last address (with the household members the
   informant listed, and the executor or informant), and the death is recorded where it
   stops every later contact: the resident index (no contact plan addresses them), the
   consent gate (every token about them says so, and services open nothing new on one)
   and the notification service (it refuses them on every channel). Running workflows that
   recorded a step about the deceased (a move waiting on their answer) are signalled, and
   stop asking them. Before that, the death is compared with the deaths reported before
   (the index's sameness rule): another report of the same death does nothing, and one
   that gives another date of death is a caseworker's to settle.
2. The plan, from who remains at the address as the index knows them (`adults_remaining`)
   and which organisations the informant chose (`tell_<code>`); the informant's agreement
   is recorded with the gate as the basis for telling each organisation chosen.
3. Triage: a survivor who will live alone at 75 or over, whom the index flags as needing
   support, or a child left with no adult at home, is a caseworker task for a human contact
   before any letter or form; nothing is done until the caseworker closes it.
4. The steps that need nobody's answer, then one summary to the executor (or informant) of
   what was done, what is pending and on whom, and what was not done and why; then the
   steps that wait for a survivor's answer (the single person discount).

Everything else is the pipeline's (`workflows.pipeline`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import Any, Literal, get_args

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from contracts import CloudEvent, DeathRegisteredV1
    from contracts.actions import ActionOutcome
    from contracts.consent import ConsentRecord, DeathRecorded, InformantAgreement
    from contracts.events.death import RelatedPerson, TellUsOnceRecipient
    from contracts.plan import Fact, PlannedStep
    from contracts.residents import (
        DeathHousehold,
        DeathRecord,
        PersonDetails,
        Resident,
        SupportFlag,
        Survivor,
    )
    from contracts.shares import (
        ADULT_AGE,
        HouseholdPlace,
        PersonContact,
        PersonDeath,
        PersonIdentity,
        age_on,
    )
    from contracts.temporal import Activity, TaskQueue
    from contracts.timeline import Outcome, StepStatus, TimelineEntry

from workflows.pipeline import CASEWORKER_WITHIN, RESIDENT_DECEASED, LifeEventPipeline, Sharing

__all__ = [
    "AROUND_THE_PLAN",
    "LIVES_ALONE_AT",
    "BereavementWorkflow",
    "facts",
    "stated_facts",
]

LIVES_ALONE_AT = 75
"""A survivor who will live alone from this age is contacted by a person first."""

AROUND_THE_PLAN = (
    (
        "At once: the death is recorded in the resident index, the consent gate and the "
        "notification service; nobody writes to the deceased again, and workflows still "
        "waiting on their answer stop asking them.",
        "First, a caseworker is in touch with a survivor who will live alone at 75 or over, "
        "one the index flags as needing support, or a child left with no adult at home, "
        "before any letter or form reaches them.",
    ),
    (
        "Then one summary to the executor (or the informant): what was done, what is still "
        "to do and on whom it waits, what was not done and why, with references.",
    ),
)
"""What a death's workflow does before and after its plan's steps, for the plan preview."""

# Patches, in the order they were added. Histories recorded before each still replay.
_ACTS_ON_A_DEATH = "bereavement-acts-on-a-death"
_SAME_DEATH_ONCE = "same-death-once"

_SUMMARY_STEP = "summary"
_SUMMARY_TEMPLATE = "death.summary"


@workflow.defn
class BereavementWorkflow(LifeEventPipeline):
    @workflow.run
    async def run(self, event: CloudEvent[DeathRegisteredV1]) -> Outcome:
        if not workflow.patched(_ACTS_ON_A_DEATH):
            return await self._mark_only(event)
        return await self.unless_amended(event, self._act_on(event))

    async def _act_on(self, event: CloudEvent[DeathRegisteredV1]) -> Outcome:
        death = event.data
        self.announce(event)
        members = _members(death)
        [deceased, *_] = await self.match(
            [
                PersonDetails.of(death.deceased, address=death.deceased.last_address),
                *(PersonDetails.of(m, address=death.deceased.last_address) for m in members),
            ]
        )
        if workflow.patched(_SAME_DEATH_ONCE):
            same = await self.recognise("death", event, [deceased], death.deceased.date_of_death)
            if same.verdict == "contradicts":
                return await self.contradicted(event, same)
            if same.verdict == "same":
                return await self.merged(event, same)
        household = await self._record_death(death, deceased)
        survivors = household.survivors
        # Only now, the death recorded: an executor known by name alone may wait for a
        # caseworker to say who they are.
        contact_person, role = _contact_person(death)
        [contact] = await self.match([PersonDetails.of(contact_person)], first=1 + len(members))
        self.stop_if_amended()
        plan = await self.plan(event, facts(death, [s.age for s in survivors]))
        await self._record_agreement(event, deceased, plan.active)
        await self._triage(survivors)
        self._set_stage("acting")
        sharing = _Sharing(death, deceased, survivors, contact, contact_person, role)
        answers_needed = [step for step in plan.active if step.confirm]
        await self.carry_out_each(
            [step for step in plan.active if not step.confirm], event, sharing.people
        )
        self.stop_if_amended()
        await self._summarise(contact, answers_needed)
        await self.carry_out_each(answers_needed, event, sharing.people)
        return await self.finish(event)

    async def _mark_only(self, event: CloudEvent[DeathRegisteredV1]) -> Outcome:
        """The first release: plan (nothing), match, mark deceased, complete."""
        death = event.data
        await self.begin(event, {})
        [deceased] = await self.match(
            [PersonDetails.of(death.deceased, address=death.deceased.last_address)]
        )
        await self._call(Activity.MARK_DECEASED, self._death_record(death, deceased), Resident)
        self._set_stage("acting")
        return await self.finish(event)

    def _death_record(self, death: DeathRegisteredV1, deceased: str) -> DeathRecord:
        return DeathRecord(
            resident=deceased,
            date_of_death=death.deceased.date_of_death,
            workflow_id=workflow.info().workflow_id,
            step="resident-index",
        )

    async def _record_death(self, death: DeathRegisteredV1, deceased: str) -> DeathHousehold:
        """Every place that must refuse the deceased from now on learns of the death, and
        the workflows still waiting on them stop asking."""
        record = self._death_record(death, deceased)
        await self._call(Activity.MARK_DECEASED, record, Resident)
        await self._call(Activity.RECORD_DEATH_IN_GATE, record, DeathRecorded)
        await self._call(Activity.NOTIFICATIONS_RECORD_DEATH, record, ActionOutcome)
        household: DeathHousehold = await self._call(
            Activity.HOUSEHOLD_AFTER_DEATH, record, DeathHousehold
        )
        for workflow_id in household.workflows:
            # One that has finished fails the signal: nothing of it is waiting on them.
            with suppress(FailureError):
                await workflow.get_external_workflow_handle(workflow_id).signal(
                    RESIDENT_DECEASED, deceased
                )
        return household

    async def _record_agreement(
        self, event: CloudEvent[DeathRegisteredV1], deceased: str, steps: Sequence[PlannedStep]
    ) -> None:
        """The informant's choice, recorded with the gate as the basis for each organisation
        outside the council that is told."""
        told = [s for s in steps if s.service is TaskQueue.PARTNERS]
        if not told:
            return
        try:
            await self._call(
                Activity.RECORD_INFORMANT_AGREEMENT,
                InformantAgreement(
                    resident=deceased,
                    purpose=told[0].purpose,
                    recipients=tuple(s.shared_with for s in told),
                    data_categories=sorted({c for s in told for c in s.categories}),
                    given_at=event.time or workflow.now(),
                    workflow_id=workflow.info().workflow_id,
                    step="informant-agreement",
                ),
                list[ConsentRecord],
            )
        except ActivityError as error:
            if not isinstance(error.cause, ApplicationError):
                raise
            # Refused (the policy names no consent for it): without the agreement the gate
            # allows no share, and each organisation's step says so on the timeline.

    async def _triage(self, survivors: Sequence[Survivor]) -> None:
        """A person contacts the vulnerable survivor before any letter or form does: one the
        index flags, one who now lives alone at 75 or over (flagged in the index from now
        on, for whatever comes next), and a child left with no adult at home."""
        alone = len(survivors) == 1 and (survivors[0].age or 0) >= LIVES_ALONE_AT
        no_adult = bool(survivors) and all(
            s.age is not None and s.age < ADULT_AGE for s in survivors
        )
        tasks = [
            f"contact:{s.resident}" for s in survivors if s.may_need_support or alone or no_adult
        ]
        if not tasks:
            return
        if alone and not survivors[0].may_need_support:
            await self._call(
                Activity.FLAG_SUPPORT,
                SupportFlag(
                    resident=survivors[0].resident,
                    reason="bereaved_living_alone",
                    workflow_id=workflow.info().workflow_id,
                    step="support-flag",
                ),
                Resident,
            )
        for task in tasks:
            self._open_task(task)
        self._set_stage("needs_person")

        def contacted() -> bool:
            return not set(tasks) & set(self._tasks) or self._amended is not None

        try:
            await workflow.wait_condition(contacted, timeout=CASEWORKER_WITHIN)
        except TimeoutError:
            self._set_stage("escalated")  # overdue: the caseworker queue shows it first
            await workflow.wait_condition(contacted)
        self.stop_if_amended()

    async def _summarise(self, contact: str, answers_needed: Sequence[PlannedStep]) -> None:
        """One message to the executor or informant: done, pending, not done, and why."""
        references: dict[str, str] = {}
        counts = {"done": 0, "pending": 0, "not_done": 0}
        for entry in self.entries:
            waiting = entry.step in {s.name for s in answers_needed}
            kind = (
                "done"
                if entry.status is StepStatus.DONE
                else "pending"
                if waiting or entry.status is StepStatus.NEEDS_PERSON
                else "not_done"
            )
            counts[kind] += 1
            n = counts[kind]
            references[f"{kind}_step_{n}"] = entry.step
            if kind == "done":
                references[f"done_outcome_{n}"] = entry.outcome
                references[f"done_references_{n}"] = (
                    ", ".join(f"{k} {v}" for k, v in sorted(entry.references.items())) or "none"
                )
            elif kind == "pending":
                references[f"pending_on_{n}"] = "survivor" if waiting else "caseworker"
            else:
                references[f"not_done_reason_{n}"] = entry.reason or "not_applicable"
        summary = ActionOutcome(outcome="done", code="summary", references=references)
        told = await self._notify(_SUMMARY_STEP, _SUMMARY_TEMPLATE, summary, contact)
        self._entries[_SUMMARY_STEP] = TimelineEntry(
            step=_SUMMARY_STEP,
            service=TaskQueue.NOTIFICATIONS,
            status=StepStatus.DONE,
            outcome=told.code,
        )


def _members(death: DeathRegisteredV1) -> tuple[Any, ...]:
    return death.household_members or ()


Role = Literal["executor", "informant"]


def _contact_person(death: DeathRegisteredV1) -> tuple[RelatedPerson, Role]:
    """Who deals with the estate, and is told what was done: the executor, else the
    informant."""
    if death.executors:
        return death.executors[0], "executor"
    return death.informant, "informant"


class _Sharing:
    """Exactly the data each step shares about each person of a death."""

    def __init__(
        self,
        death: DeathRegisteredV1,
        deceased: str,
        survivors: Sequence[Survivor],
        contact: str,
        contact_person: RelatedPerson,
        role: Role,
    ) -> None:
        self.death = death
        self.deceased = deceased
        self.adults = [s for s in survivors if s.age is None or s.age >= ADULT_AGE]
        self.contact = contact
        self.contact_person = contact_person
        self.role = role

    def people(self, step: PlannedStep) -> list[Sharing]:
        categories = set(step.categories)
        people: list[Sharing] = []
        if "death" in categories:
            people.append(Sharing(self.deceased, self._deceased(step), notify=False))
        if "household" in categories:
            others = len(self.adults) - 1
            people.extend(
                Sharing(
                    s.resident,
                    _dump(
                        {
                            "identity": PersonIdentity(name=s.name, date_of_birth=s.date_of_birth),
                            "household": HouseholdPlace(age=s.age, other_adults=others),
                        }
                    ),
                    notify=step.notify,
                )
                for s in self.adults
            )
        if "contact" in categories and not self.adults and self.contact != self.deceased:
            person = self.contact_person
            people.append(
                Sharing(
                    self.contact,
                    _dump(
                        {
                            "identity": PersonIdentity(name=person.name),
                            "contact": PersonContact(
                                role=self.role,
                                relationship=person.relationship,
                                address=person.address,
                                contact=person.contact,
                            ),
                        }
                    ),
                    notify=False,  # the summary tells them
                )
            )
        return people

    def _deceased(self, step: PlannedStep) -> dict[str, Any]:
        deceased = self.death.deceased
        # A national insurance number only leaves for an organisation outside the council,
        # which finds its own record by it; no council service needs it.
        outside = step.service is TaskQueue.PARTNERS
        return _dump(
            {
                "identity": PersonIdentity(
                    name=deceased.name, date_of_birth=deceased.date_of_birth
                ),
                "death": PersonDeath(
                    date_of_death=deceased.date_of_death,
                    last_address=deceased.last_address,
                    national_insurance_number=(
                        deceased.national_insurance_number if outside else None
                    ),
                ),
            }
        )


def _dump(shapes: dict[str, Any]) -> dict[str, Any]:
    return {category: shape.model_dump(mode="json") for category, shape in shapes.items()}


_RECIPIENTS: tuple[str, ...] = get_args(TellUsOnceRecipient)


def facts(death: DeathRegisteredV1, ages: Sequence[int | None]) -> dict[str, Fact]:
    """What the catalogue's conditions may test about a death, given the ages of those who
    remain at the address (None when not known: counted as an adult)."""
    adults = sum(1 for age in ages if age is None or age >= ADULT_AGE)
    stated: dict[str, Fact] = {
        "adults_remaining": "none" if adults == 0 else "one" if adults == 1 else "several",
    }
    for code in _RECIPIENTS:
        stated[f"tell_{code}"] = code in death.organisations_to_tell
    return stated


def stated_facts(death: DeathRegisteredV1) -> dict[str, Fact]:
    """The facts as the event alone states them (the plan preview): those who remain are
    the household members the informant listed."""
    on = death.deceased.date_of_death
    return facts(
        death,
        [None if m.date_of_birth is None else age_on(m.date_of_birth, on) for m in _members(death)],
    )
