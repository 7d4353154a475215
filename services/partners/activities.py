"""Partners activities, on task queue `partners`: Tell Us Once, outbound.

`partners.tell_organisation`: `ServiceAction` whose one share is the deceased (`identity`
and `death`, `contracts.shares`) → `ActionOutcome` `done`/`told`, references `organisation`
(its code) and `reference` (the notice's). More than one share is a workflow bug:
`ShareDataInvalid` `invalid_data:deceased_repeated` (`services.common.council.the_deceased`).

Whom to tell is the share token's recipient, as the consent gate decided it: the
organisation (`dwp`, `hmrc`...), not this service. The step's name is never parsed for it.

1. The token's audience is read with the gate's public key (signature and issuer checked,
   `decode_share_token` with no recipient): that is all it is used for. An audience that
   `partners.toml` does not configure is refused, `ShareRefused` `unknown_organisation`, and
   nothing is touched.
2. Then the check every council service runs (`services.common.council`), with that
   organisation as the recipient and `tell-us-once` as the purpose: signature, issuer,
   recipient, expiry, purpose, data hash, resident, categories. The deceased's token carries
   the gate's `deceased` claim, so this is an action about a death.
3. The notice (`contracts.partners.DeathNotice`) carries only the fields the organisation is
   configured with. Its reference is derived from the workflow ID and step, so it is the
   same on every attempt; it is the CloudEvent's id and subject and the record key.
4. In the one transaction `CouncilStore.once` runs, keyed on workflow ID + step: the notice
   row is written, the record is sent and acknowledged (acks=all), and only then the step is
   committed. A repeat of the step finds it recorded and sends nothing.

Crash safety is at least once: a crash (or a lost acknowledgement) after the send and
before the commit leaves the step unrecorded, so the retry sends the notice again, with the
same event id and key and the same data. The organisation de-duplicates on the event id
(`ce_id`, with `ce_source`), as the platform does with life events. Nothing is ever recorded
as told that Kafka did not acknowledge.

`partners.undo`: the compensation of a step, when its life event is withdrawn. What was
published cannot be recalled: nothing is changed, and the answer says so
(`cannot_undo_told_outside_council`, see `PartnerActivities.undo`).

Logs carry workflow IDs, steps, organisation codes and codes; never data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.actions import ActionOutcome, ServiceAction
from contracts.base import ContractModel
from contracts.cloudevents import KafkaRecord
from contracts.partners import (
    DeathNotice,
    death_notified,
    tell_us_once_reference,
    to_partner_record,
)
from contracts.shares import PersonDeath, PersonIdentity
from contracts.temporal import Activity, TaskQueue
from services.common.council import (
    ActionKey,
    CouncilActivities,
    Shared,
    ShareKeySource,
    data_invalid,
    share_refused,
    the_deceased,
)
from services.common.sharetokens import ShareTokenError, TokenProblem, decode_share_token
from services.partners.config import OrganisationConfig, PartnersConfig
from services.partners.publisher import PublishFailed
from services.partners.store import NoticeRecord, PartnerStore

__all__ = ["PURPOSE", "DeceasedShare", "PartnerActivities", "Publish", "death_notice"]

log = structlog.get_logger(__name__)

PURPOSE = "tell-us-once"


class DeceasedShare(ContractModel):
    """What the workflow shares of the deceased for a notice."""

    identity: PersonIdentity
    death: PersonDeath


class Publish(Protocol):
    async def publish(self, topic: str, record: KafkaRecord) -> None: ...


def death_notice(
    organisation: str, told: OrganisationConfig, reference: str, deceased: DeceasedShare
) -> DeathNotice:
    """The notice for `organisation`: its configured fields of the deceased, no others."""
    values: dict[str, Any] = {
        "name": deceased.identity.name,
        "date_of_birth": deceased.identity.date_of_birth,
        "date_of_death": deceased.death.date_of_death,
        "last_address": deceased.death.last_address,
        "national_insurance_number": deceased.death.national_insurance_number,
    }
    try:
        return DeathNotice.model_validate(
            {
                "reference": reference,
                "organisation": organisation,
                "basis": "informant_agreement",
                **{field: values[field] for field in told.fields},
            }
        )
    except ValidationError:
        # The share already had the agreed shape; only a misconfiguration lands here.
        raise data_invalid("invalid_data:notice") from None


class _Organisation(CouncilActivities):
    """The council check and the step's idempotent change, with one organisation as the
    recipient the tokens must be for."""

    purpose = PURPOSE

    def __init__(self, code: str, store: PartnerStore, keys: ShareKeySource) -> None:
        super().__init__(store, keys)
        self.recipient = code


class PartnerActivities:
    task_queue: str = TaskQueue.PARTNERS
    purpose = PURPOSE

    def __init__(
        self,
        store: PartnerStore,
        keys: ShareKeySource,
        config: PartnersConfig,
        publisher: Publish,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.keys = keys
        self.config = config
        self.publisher = publisher
        self.clock = clock
        self._told: dict[str, OrganisationConfig] = {
            code: told for code, told in config.organisations.items()
        }
        self._organisations = {code: _Organisation(code, store, keys) for code in self._told}

    @property
    def kill_after_commit(self) -> bool:
        return any(o.kill_after_commit for o in self._organisations.values())

    @kill_after_commit.setter
    def kill_after_commit(self, value: bool) -> None:
        # Failpoint for a crash test, set from the settings only (see CouncilActivities).
        for organisation in self._organisations.values():
            organisation.kill_after_commit = value

    @activity.defn(name=Activity.PARTNERS_TELL)
    async def tell_organisation(self, action: ServiceAction) -> ActionOutcome:
        code = await self._audience(action.shares[0].share_token)
        organisation = self._organisations.get(code)
        if organisation is None:
            log.info(
                "partners.refused",
                workflow_id=action.workflow_id,
                step=action.step,
                code="unknown_organisation",
            )
            raise share_refused("unknown_organisation")

        async def tell(
            conn: AsyncConnection, action: ServiceAction, shared: list[Shared[DeceasedShare]]
        ) -> ActionOutcome:
            return await self._tell(conn, code, action, shared)

        return await organisation.perform(action, DeceasedShare, tell, about_a_death=True)

    async def _audience(self, token: str) -> str:
        """The token's recipient, from a token our gate signed; nothing else is trusted yet."""

        async def read(refresh: bool) -> str:
            key = await self.keys.get(refresh=refresh)
            claims = decode_share_token(token, key, recipient=None, check_expiry=False)
            return claims.recipient

        try:
            try:
                return await read(refresh=False)
            except ShareTokenError as error:
                if error.problem is not TokenProblem.BAD_SIGNATURE or not self.keys.refreshable:
                    raise
                return await read(refresh=True)
        except ShareTokenError as error:
            raise share_refused(error.problem.value) from None

    async def _tell(
        self,
        conn: AsyncConnection,
        code: str,
        action: ServiceAction,
        shared: list[Shared[DeceasedShare]],
    ) -> ActionOutcome:
        # A notice is about one person. Every share has `death`, so one deceased is one share.
        the_deceased(shared)
        told = self._told[code]
        reference = tell_us_once_reference(action.workflow_id, action.step)
        notice = death_notice(code, told, reference, shared[0].data)
        now = self.clock()
        record = to_partner_record(death_notified(notice, source=self.config.source, time=now))
        await self.store.record_notice(
            conn,
            NoticeRecord(
                reference=reference,
                workflow_id=action.workflow_id,
                step=action.step,
                organisation=code,
                topic=told.topic,
                fields=told.fields,
                told_at=now,
            ),
        )
        try:
            # Before the commit: see the module doc (at least once, one event id).
            await self.publisher.publish(told.topic, record)
        except PublishFailed as error:
            log.warning(
                "partners.publish_failed",
                workflow_id=action.workflow_id,
                step=action.step,
                organisation=code,
                error=str(error),
            )
            # Retryable: nothing was recorded, and the retry sends the same event.
            raise ApplicationError("partner_not_told", type="PartnerUnavailable") from None
        return ActionOutcome(
            outcome="done", code="told", references={"organisation": code, "reference": reference}
        )

    @activity.defn(name=Activity.PARTNERS_UNDO)
    async def undo(self, action: ServiceAction) -> ActionOutcome:
        """The compensation of a `tell_organisation` step (`action` names it; the deceased's
        share with no data, its token for the organisation told, as the step's was): none.
        The organisation, outside the council, was told on its topic, and what it was told
        cannot be taken back from here: the step is left as it is, and the answer is
        `no_action` `cannot_undo_told_outside_council` {organisation, reference: the
        notice's}, for a caseworker to tell the organisation. A step this service never
        recorded told no one: `no_action` `nothing_to_undo`. The tokens are verified as for
        any compensation (`CouncilActivities.verify_reversal`) before anything is read."""
        code = await self._audience(action.shares[0].share_token)
        organisation = self._organisations.get(code)
        if organisation is None:
            log.info(
                "partners.refused",
                workflow_id=action.workflow_id,
                step=action.step,
                code="unknown_organisation",
            )
            raise share_refused("unknown_organisation")
        await organisation.verify_reversal(action)
        told = await self.store.recorded(ActionKey(action.workflow_id, action.step))
        if told is None:
            outcome = ActionOutcome(outcome="no_action", code="nothing_to_undo")
        else:
            # The notice's reference, for the caseworker who tells the organisation.
            references = {"organisation": code, "reference": told.references.get("reference", "")}
            outcome = ActionOutcome(
                outcome="no_action",
                code="cannot_undo_told_outside_council",
                references={k: v for k, v in references.items() if v},
            )
        log.info(
            "partners.undo",
            workflow_id=action.workflow_id,
            step=action.step,
            organisation=code,
            code=outcome.code,
        )
        return outcome

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [self.tell_organisation, self.undo]
