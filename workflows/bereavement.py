"""BereavementWorkflow: a death has been registered; the council acts on it once.

What is particular to a death: the deceased is matched in the resident index at their last
address and marked deceased there at once, so that from then on no contact plan addresses
them (notifications refuse a deceased resident on every channel). Everything else is the
pipeline's (`workflows.pipeline`).

Still to come (issue "Bereavement: tell us once…"): council tax, benefits, electoral and
council-register steps, the informant's choice of organisations, triage of a survivor to a
caseworker, and the summary to the informant.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import CloudEvent, DeathRegisteredV1
    from contracts.plan import Fact
    from contracts.residents import DeathRecord, PersonDetails, Resident
    from contracts.temporal import Activity
    from contracts.timeline import Outcome

from workflows.pipeline import LifeEventPipeline

__all__ = ["BereavementWorkflow", "facts"]


@workflow.defn
class BereavementWorkflow(LifeEventPipeline):
    @workflow.run
    async def run(self, event: CloudEvent[DeathRegisteredV1]) -> Outcome:
        death = event.data
        # The catalogue declares no step for a death yet (a catalogue test holds it so until
        # each step has its data here): the plan on the timeline is empty.
        await self.begin(event, facts(death))
        [deceased] = await self.match(
            [PersonDetails.of(death.deceased, address=death.deceased.last_address)]
        )
        await self._call(
            Activity.MARK_DECEASED,
            DeathRecord(
                resident=deceased,
                date_of_death=death.deceased.date_of_death,
                workflow_id=workflow.info().workflow_id,
                step="resident-index",
            ),
            Resident,
        )
        self._set_stage("acting")
        return await self.finish(event)


def facts(death: DeathRegisteredV1) -> dict[str, Fact]:
    """What the catalogue's conditions may test about a death: nothing yet."""
    return {}
