"""The gate learns of deaths and records an informant's agreement (Tell Us Once).

After `record_death`, every share token the gate issues about the resident is stamped
`deceased` (the gate still decides as before: services refuse). An informant's agreement is
one consent per recipient for the deceased, method `informant`, and the shares it covers
are then allowed on the basis of consent. Both are idempotent, both land on the ledger, and
the chain still verifies. Runs on SQLite and PostgreSQL; one test through Temporal.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from contracts.consent import (
    ConsentGrant,
    ConsentMethod,
    ConsentRecord,
    ConsentStatus,
    DeathRecorded,
    Decision,
    EntryKind,
    InformantAgreement,
    LawfulBasis,
    ShareDecision,
    ShareRequest,
)
from contracts.residents import DeathRecord
from contracts.shares import DataCategory
from contracts.temporal import Activity
from services.common.sharetokens import ShareClaims, decode_share_token
from services.consent.activities import ConsentActivities
from services.consent.gate import INFORMANT_CONSENT_VALIDITY, ConsentGate, GateError
from services.consent.ledger import verify_ledger
from services.consent.store import outbox
from tests.services.consent.conftest import Clock

MakeRequest = Callable[..., ShareRequest]
MakeGrant = Callable[..., ConsentGrant]

TELL_US_ONCE = "tell-us-once"


def death_record(resident: str, *, workflow_id: str | None = None) -> DeathRecord:
    return DeathRecord(
        resident=resident,
        date_of_death=date(2025, 8, 7),
        workflow_id=workflow_id or f"lifeevent-{uuid.uuid4().hex}",
        step="record-death-in-gate",
    )


def agreement(
    resident: str,
    recipients: tuple[str, ...] = ("dwp", "hmrc"),
    *,
    workflow_id: str = "lifeevent-0123456789abcdef0123456789abcdef",
    given_at: datetime | None = None,
    categories: tuple[str, ...] = ("identity", "death"),
) -> InformantAgreement:
    return InformantAgreement(
        resident=resident,
        purpose=TELL_US_ONCE,
        recipients=recipients,
        data_categories=[DataCategory(c) for c in categories],
        given_at=given_at or datetime.now(UTC) - timedelta(hours=1),
        workflow_id=workflow_id,
        step="informant-agreement",
    )


def claims_of(gate: ConsentGate, decision: ShareDecision) -> ShareClaims:
    return decode_share_token(decision.share_token, gate.public_key, recipient=decision.recipient)


async def ledger_size(gate: ConsentGate) -> int:
    return await gate.store.ledger_size()


async def outbox_values(gate: ConsentGate) -> list[dict[str, object]]:
    async with gate.store.reading() as conn:
        rows = await conn.execute(select(outbox.c.value).order_by(outbox.c.id))
        return [json.loads(value) for (value,) in rows]


# --- deaths -------------------------------------------------------------------------------


async def test_tokens_about_a_resident_are_stamped_deceased_once_the_death_is_recorded(
    gate: ConsentGate, resident: str, make_request: MakeRequest
) -> None:
    request = make_request(resident, "council-tax-liability", "council-tax", ["identity", "death"])
    before = await gate.decide_share(request)
    assert before.decision is Decision.ALLOW
    assert claims_of(gate, before).deceased is False

    recorded = await gate.record_death(death_record(resident))

    after = await gate.decide_share(request)
    # The gate does not refuse: it allows as before, and says what it knows.
    assert (after.decision, after.reason) == (Decision.ALLOW, "policy_allows")
    claims = claims_of(gate, after)
    assert claims.deceased is True
    assert claims.resident == resident
    assert recorded == DeathRecorded(resident=resident, ledger_seq=before.ledger_seq + 1)
    # Another resident's tokens are not stamped.
    other = await gate.decide_share(
        make_request(
            "res_" + uuid.uuid4().hex[:22], "council-tax-liability", "council-tax", ["identity"]
        )
    )
    assert claims_of(gate, other).deceased is False


async def test_decisions_that_allow_nothing_carry_no_token_after_a_death(
    gate: ConsentGate, resident: str, make_request: MakeRequest
) -> None:
    await gate.record_death(death_record(resident))
    denied = await gate.decide_share(make_request(resident, "unheard-of", "council-tax", ["death"]))
    needs = await gate.decide_share(make_request(resident, TELL_US_ONCE, "dwp", ["identity"]))
    assert (denied.decision, denied.share_token) == (Decision.DENY, None)
    assert (needs.decision, needs.reason, needs.share_token) == (
        Decision.NEEDS_CONSENT,
        "no_consent",
        None,
    )


async def test_a_repeated_record_death_changes_nothing(gate: ConsentGate, resident: str) -> None:
    first = await gate.record_death(death_record(resident))
    size = await ledger_size(gate)
    # A retry of the step, and the same death from another workflow: the first stands.
    assert await gate.record_death(death_record(resident)) == first
    assert await gate.record_death(death_record(resident, workflow_id="lifeevent-other")) == first
    assert await ledger_size(gate) == size

    report = await gate.data_use(resident)
    [entry] = [e for e in report.entries if e.kind is EntryKind.DEATH]
    assert (entry.seq, entry.outcome, entry.reason, entry.lawful_basis) == (
        first.ledger_seq,
        "recorded",
        "death_registered",
        None,
    )
    assert (entry.purpose, entry.recipient, entry.data_categories) == ("*", "*", [])
    assert entry.ref.startswith("dth_")
    assert report.received == []
    assert (await verify_ledger(gate.store.engine)).ok


# --- the informant's agreement ------------------------------------------------------------


async def test_an_informant_agreement_allows_the_agreed_recipients_only(
    gate: ConsentGate, clock: Clock, resident: str, make_request: MakeRequest
) -> None:
    agreed = agreement(resident)
    records = await gate.record_informant_agreement(agreed)

    assert [r.recipient for r in records] == ["dwp", "hmrc"]
    for record in records:
        assert record.resident == resident
        assert record.method is ConsentMethod.INFORMANT
        assert record.status is ConsentStatus.GIVEN
        assert record.purpose == TELL_US_ONCE
        assert record.data_categories == [DataCategory.DEATH, DataCategory.IDENTITY]
        assert record.given_at == agreed.given_at
        assert record.expires_at == clock.now + INFORMANT_CONSENT_VALIDITY
        assert record.notice_version == "tell-us-once"
    assert len({r.consent_id for r in records}) == 2

    dwp = await gate.decide_share(
        make_request(resident, TELL_US_ONCE, "dwp", ["identity", "death"])
    )
    assert (dwp.decision, dwp.reason, dwp.lawful_basis) == (
        Decision.ALLOW,
        "consent_given",
        LawfulBasis.CONSENT,
    )
    assert dwp.consent_id == records[0].consent_id
    assert claims_of(gate, dwp).consent_id == records[0].consent_id

    dvla = await gate.decide_share(make_request(resident, TELL_US_ONCE, "dvla", ["identity"]))
    assert (dvla.decision, dvla.reason, dvla.share_token) == (
        Decision.NEEDS_CONSENT,
        "no_consent",
        None,
    )

    entries = [
        (e.kind, e.recipient, e.outcome, e.reason) for e in (await gate.data_use(resident)).entries
    ]
    assert entries[:2] == [
        (EntryKind.CONSENT, "dwp", "given", "informant"),
        (EntryKind.CONSENT, "hmrc", "given", "informant"),
    ]
    # Each recipient is announced on consent.v1, as any consent given is.
    announced = await outbox_values(gate)
    assert [(v["change"], v["recipient"]) for v in announced] == [
        ("given", "dwp"),
        ("given", "hmrc"),
    ]
    assert (await verify_ledger(gate.store.engine)).ok


async def test_a_repeated_agreement_records_nothing_new(gate: ConsentGate, resident: str) -> None:
    first = await gate.record_informant_agreement(agreement(resident))
    size = await ledger_size(gate)

    again = await gate.record_informant_agreement(agreement(resident))
    assert [r.consent_id for r in again] == [r.consent_id for r in first]
    assert await ledger_size(gate) == size
    assert len(await gate.consents_of(resident)) == 2
    assert len(await outbox_values(gate)) == 2

    # The same step naming one more recipient: the known ones stand, the new one is added.
    more = await gate.record_informant_agreement(agreement(resident, ("hmrc", "dvla", "dwp")))
    by_recipient = {r.recipient: r.consent_id for r in more}
    assert [r.recipient for r in more] == ["hmrc", "dvla", "dwp"]
    assert by_recipient["dwp"] == first[0].consent_id
    assert by_recipient["hmrc"] == first[1].consent_id
    assert await ledger_size(gate) == size + 1
    # Another registration's agreement is another consent.
    other = await gate.record_informant_agreement(
        agreement(resident, ("dwp",), workflow_id="lifeevent-another")
    )
    assert other[0].consent_id != first[0].consent_id
    assert (await verify_ledger(gate.store.engine)).ok


async def test_the_informant_consent_lapses_after_its_validity(
    gate: ConsentGate, clock: Clock, resident: str, make_request: MakeRequest
) -> None:
    await gate.record_informant_agreement(agreement(resident, ("dwp",)))
    clock.advance(INFORMANT_CONSENT_VALIDITY)
    decision = await gate.decide_share(make_request(resident, TELL_US_ONCE, "dwp", ["identity"]))
    assert (decision.decision, decision.reason) == (Decision.NEEDS_CONSENT, "consent_expired")


async def test_an_agreement_from_a_registration_long_ago_is_valid_from_when_it_is_recorded(
    gate: ConsentGate, clock: Clock, resident: str, make_request: MakeRequest
) -> None:
    late = agreement(resident, ("dwp",), given_at=clock.now - timedelta(days=400))
    [record] = await gate.record_informant_agreement(late)
    assert record.given_at == clock.now - timedelta(days=400)  # when the informant agreed
    assert record.expires_at == clock.now + timedelta(days=90)  # from when we recorded it
    decision = await gate.decide_share(make_request(resident, TELL_US_ONCE, "dwp", ["identity"]))
    assert (decision.decision, decision.reason) == (Decision.ALLOW, "consent_given")


async def test_after_a_death_the_agreed_share_is_allowed_and_stamped(
    gate: ConsentGate, resident: str, make_request: MakeRequest
) -> None:
    await gate.record_death(death_record(resident))
    [consent] = await gate.record_informant_agreement(agreement(resident, ("dwp",)))
    decision = await gate.decide_share(make_request(resident, TELL_US_ONCE, "dwp", ["death"]))
    assert (decision.decision, decision.consent_id) == (Decision.ALLOW, consent.consent_id)
    claims = claims_of(gate, decision)
    assert (claims.deceased, claims.basis, claims.consent_id) == (
        True,
        "consent",
        consent.consent_id,
    )


@pytest.mark.parametrize(
    ("recipients", "categories", "given_ago", "code"),
    [
        # No consent-based share to the council's own services: their basis is statutory.
        (("dwp", "council-tax"), ("identity",), timedelta(hours=1), "consent_not_the_basis"),
        (("dwp", "nobody-known"), ("identity",), timedelta(hours=1), "consent_not_the_basis"),
        (("dwp",), ("identity", "health"), timedelta(hours=1), "categories_not_allowed"),
    ],
)
async def test_an_agreement_the_policy_does_not_allow_is_refused_whole(
    gate: ConsentGate,
    clock: Clock,
    resident: str,
    recipients: tuple[str, ...],
    categories: tuple[str, ...],
    given_ago: timedelta,
    code: str,
) -> None:
    refused = agreement(resident, recipients, categories=categories, given_at=clock.now - given_ago)
    with pytest.raises(GateError) as error:
        await gate.record_informant_agreement(refused)
    assert error.value.code == code
    assert await gate.consents_of(resident) == []
    assert await ledger_size(gate) == 0


async def test_a_consent_by_informant_is_given_only_from_the_registration(
    gate: ConsentGate, resident: str, make_grant: MakeGrant
) -> None:
    grant = make_grant(resident).model_copy(update={"method": ConsentMethod.INFORMANT})
    with pytest.raises(GateError) as error:
        await gate.give_consent(grant)
    assert error.value.code == "informant_agreement_only"


def test_an_agreement_names_each_recipient_once() -> None:
    with pytest.raises(ValueError, match="recipient_repeated"):
        agreement("res_" + uuid.uuid4().hex[:22], ("dwp", "hmrc", "dwp"))


# --- through Temporal ---------------------------------------------------------------------


@workflow.defn(name="ConsentDeathTest")
class DeathThenShareWorkflow:
    """As the bereavement workflow does: the death, the informant's agreement, then a share."""

    @workflow.run
    async def run(
        self,
        death: DeathRecord,
        agreed: InformantAgreement,
        request: ShareRequest,
        consent_queue: str,
    ) -> tuple[DeathRecorded, list[ConsentRecord], ShareDecision]:
        options = {
            "task_queue": consent_queue,
            "start_to_close_timeout": timedelta(seconds=10),
        }
        recorded = await workflow.execute_activity(
            Activity.RECORD_DEATH_IN_GATE, death, result_type=DeathRecorded, **options
        )
        consents = await workflow.execute_activity(
            Activity.RECORD_INFORMANT_AGREEMENT,
            agreed,
            result_type=list[ConsentRecord],
            **options,
        )
        decision = await workflow.execute_activity(
            Activity.DECIDE_SHARE, request, result_type=ShareDecision, **options
        )
        return recorded, consents, decision


async def test_through_temporal_the_agreed_share_is_allowed_with_a_deceased_token(
    time_skipping_env: WorkflowEnvironment,
    sqlite_gate: ConsentGate,
    resident: str,
    make_request: MakeRequest,
) -> None:
    gate = sqlite_gate
    consent_queue = f"consent-{uuid.uuid4().hex[:8]}"
    workflow_queue = f"workflows-{uuid.uuid4().hex[:8]}"
    client = time_skipping_env.client
    async with (
        Worker(client, task_queue=consent_queue, activities=ConsentActivities(gate).all),
        Worker(
            client,
            task_queue=workflow_queue,
            workflows=[DeathThenShareWorkflow],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ),
    ):
        recorded, consents, decision = await client.execute_workflow(
            DeathThenShareWorkflow.run,
            args=[
                death_record(resident),
                agreement(resident, ("dwp",)),
                make_request(resident, TELL_US_ONCE, "dwp", ["identity", "death"]),
                consent_queue,
            ],
            id=f"death-then-share-{uuid.uuid4().hex}",
            task_queue=workflow_queue,
            result_type=tuple[DeathRecorded, list[ConsentRecord], ShareDecision],
        )

    assert recorded.resident == resident
    [consent] = consents
    assert consent.method is ConsentMethod.INFORMANT
    assert (decision.decision, decision.reason, decision.consent_id) == (
        Decision.ALLOW,
        "consent_given",
        consent.consent_id,
    )
    assert claims_of(gate, decision).deceased is True
    assert (await verify_ledger(gate.store.engine)).ok


async def test_an_agreement_refused_by_the_policy_is_not_retried(sqlite_gate: ConsentGate) -> None:
    activities = ConsentActivities(sqlite_gate)
    refused = agreement("res_" + uuid.uuid4().hex[:22], ("council-tax",))
    with pytest.raises(ApplicationError) as error:
        await ActivityEnvironment().run(activities.record_informant_agreement, refused)
    assert error.value.type == "ConsentRefused"
    assert error.value.non_retryable
    assert error.value.message == "consent_not_the_basis"
