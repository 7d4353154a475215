"""What the orchestrator does with one record; the Kafka wiring is in `subscriber`.

- A record that cannot be parsed or validated, or whose type has no workflow, is
  dead-lettered at once: reading it again cannot change the answer.
- Temporal being unreachable raises `TemporalUnavailable`: the record is read again later and
  never dead-lettered for it.
- Anything else unexpected is retried; after `max_attempts` the record is dead-lettered with
  reason `processing_failed`, so one bad record never blocks its partition.
"""

from __future__ import annotations

from enum import StrEnum

import structlog

from contracts import ContractError, ContractViolation, KafkaRecord, from_record
from contracts.temporal import WORKFLOW_FOR_EVENT_TYPE
from services.common.metrics import EVENTS_RECEIVED, WORKFLOWS_STARTED
from services.orchestrator.deadletter import DeadLetters, Origin
from services.orchestrator.starter import StartResult, TemporalUnavailable, WorkflowStarter

__all__ = ["Disposition", "Orchestrator"]

log = structlog.get_logger(__name__)


class Disposition(StrEnum):
    STARTED = "started"
    ALREADY_DONE = "already_done"
    DEAD_LETTERED = "dead_lettered"
    RETRY = "retry"


class Orchestrator:
    def __init__(
        self, starter: WorkflowStarter, dead_letters: DeadLetters, *, max_attempts: int
    ) -> None:
        self.starter = starter
        self.dead_letters = dead_letters
        self.max_attempts = max_attempts
        # Failed attempts per record in this process. A restart forgets them, which costs
        # at most max_attempts more tries of a record that keeps failing.
        self._attempts: dict[Origin, int] = {}

    async def process(self, record: KafkaRecord, origin: Origin) -> Disposition:
        disposition = await self._answer(record, origin)
        EVENTS_RECEIVED.labels(outcome=disposition.value).inc()
        return disposition

    async def _answer(self, record: KafkaRecord, origin: Origin) -> Disposition:
        try:
            return await self._process(record, origin)
        except TemporalUnavailable:
            raise
        except Exception as error:
            attempts = self._attempts.get(origin, 0) + 1
            # The type only: an exception's message may quote the data it choked on.
            log.error(
                "record.failed",
                origin=str(origin),
                attempts=attempts,
                error_type=type(error).__name__,
            )
            if attempts < self.max_attempts:
                self._attempts[origin] = attempts
                return Disposition.RETRY
            self._attempts.pop(origin, None)
            await self.dead_letters.send(
                record, origin, reason="processing_failed", attempts=attempts
            )
            return Disposition.DEAD_LETTERED

    async def _process(self, record: KafkaRecord, origin: Origin) -> Disposition:
        try:
            event = from_record(record)
        except ContractError as error:
            violations = (
                ";".join(f"{v.loc}:{v.rule}" for v in error.violations)
                if isinstance(error, ContractViolation)
                else ""
            )
            log.warning("record.invalid", origin=str(origin), reason=error.reason)
            await self.dead_letters.send(
                record, origin, reason=error.reason, attempts=1, violations=violations
            )
            return Disposition.DEAD_LETTERED
        workflow_name = WORKFLOW_FOR_EVENT_TYPE.get(event.type)
        if workflow_name is None:
            log.warning("record.unrouted", origin=str(origin), event_type=event.type)
            await self.dead_letters.send(record, origin, reason="no_workflow", attempts=1)
            return Disposition.DEAD_LETTERED
        result = await self.starter.start(event, workflow_name)
        WORKFLOWS_STARTED.labels(workflow=workflow_name, result=result.value).inc()
        self._attempts.pop(origin, None)
        log.info(
            "workflow.started" if result is StartResult.STARTED else "workflow.known",
            event_id=event.id,
            event_type=event.type,
        )
        return Disposition(result.value)
