"""The consent gate: decide_share, the consent and objection lifecycle, the resident's view.

Every decision, consent change, objection and completed share is appended to the ledger in
the same transaction as the change it records, and that transaction takes the ledger's
chain-head lock before it reads anything: a withdrawal and a decision never interleave, so
once a withdrawal has returned, every later decision sees it.

Decisions, in order:
1. no policy rule for (purpose, recipient)          → deny `no_policy`
2. a category the rule does not list                → deny `categories_not_allowed`
3. an objection to the purpose, where honoured      → deny `objection`
4. basis public_task / legal_obligation / vital_interests → allow `policy_allows`
5. basis consent, from the latest consent for (resident, purpose, recipient):
   none → needs_consent `no_consent`; withdrawn → deny `consent_withdrawn`;
   expired → needs_consent `consent_expired`; narrower categories → needs_consent
   `consent_scope`; otherwise → allow `consent_given`.

The gate does not refuse a share about a resident it knows to have died (`record_death`):
services decide what they may still do. It stamps every share token it issues about them
`deceased`, and a council service refuses anything but an action about the death. When the
life event that reported the death is withdrawn, `undo_death` forgets it again, on the
ledger beside the entry that recorded it.

A request that `reverses` a share (the compensation of a withdrawn life event's step) is
decided exactly as any other; only its ledger entry's kind is `compensation`, not
`decision`, so the resident sees it for what it is.

A caseworker's action on a life event's task (`record_caseworker_action`: claimed, released,
linked, created, resolved) is an entry of kind `caseworker` on the ledger of each resident it
concerns: the caseworker's pseudonymous ID as its recipient, the action as its outcome, the
kind of task as its reason, the action's ID as its ref (the workflow and task are kept
beside it, in `caseworker_actions`). The gate decides nothing about it: it records.

An informant's agreement at the registration of a death (`record_informant_agreement`)
becomes one consent per recipient for the deceased, method `informant`, so that the shares
the informant agreed to (Tell Us Once) are decided as every consent-based share is.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.actions import ActionOutcome, UndoRequest
from contracts.consent import (
    CaseworkerAction,
    CaseworkerActionRecorded,
    ConsentChange,
    ConsentEvent,
    ConsentGrant,
    ConsentMethod,
    ConsentRecord,
    ConsentStatus,
    DataUseEntry,
    DataUseReport,
    DeathRecorded,
    Decision,
    EntryKind,
    InformantAgreement,
    LawfulBasis,
    Objection,
    ObjectionRequest,
    ShareCompletion,
    ShareDecision,
    ShareRecorded,
    ShareRequest,
)
from contracts.residents import DeathRecord
from services.common.metrics import SHARE_DECISIONS
from services.common.sharetokens import ShareTokenError, ShareTokenIssuer, decode_share_token
from services.consent.ledger import NewEntry, append, lock_tail
from services.consent.policy import Policy, ShareRule
from services.consent.store import (
    CaseworkerActionRow,
    ConsentRow,
    ConsentStore,
    LedgerRow,
    join_categories,
    split_categories,
)

__all__ = [
    "CASEWORKER_PURPOSE",
    "INFORMANT_CONSENT_VALIDITY",
    "INFORMANT_NOTICE",
    "Clock",
    "ConsentGate",
    "GateError",
    "utc_now",
]

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
ALL_RECIPIENTS = "*"
CONSENT_SOURCE = "/lifeevents/consent"
ALL_PURPOSES = "*"
# An informant's agreement covers the telling that follows the registration, not later uses.
INFORMANT_CONSENT_VALIDITY = timedelta(days=90)
# The notice read to an informant when their agreement does not name one.
INFORMANT_NOTICE = "tell-us-once"
# A caseworker's action is for the council's task of acting on the life event: the purpose
# its ledger entries name, on the basis a council's own work on it rests on.
CASEWORKER_PURPOSE = "caseworker-task"
CASEWORKER_BASIS = LawfulBasis.PUBLIC_TASK
# The kind of task, by the prefix of its name on the timeline (the reason of the entry); any
# other task is a step automation handed on.
_TASK_KINDS = {
    "match": "identity_match",
    "confirm": "resident_confirmation",
    "contradiction": "contradicting_report",
}
_HANDED_ON = "handed_on"


def utc_now() -> datetime:
    return datetime.now(UTC)


class GateError(Exception):
    """A request the gate refuses; `code` is safe to show (no personal data)."""

    def __init__(self, code: str, status: int = 409) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class ConsentGate:
    def __init__(
        self,
        store: ConsentStore,
        policy: Policy,
        issuer: ShareTokenIssuer,
        *,
        topic: str,
        clock: Clock = utc_now,
        on_change: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.issuer = issuer
        self.topic = topic
        self.clock = clock
        # Called after a consent change commits (the outbox relay's flush), so that a
        # withdrawal reaches Kafka at once; the relay's own loop retries what fails here.
        self.on_change = on_change

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.issuer.public_key

    # --- decide_share -------------------------------------------------------------------

    async def decide_share(self, request: ShareRequest) -> ShareDecision:
        now = self.clock()
        decision_id = _new_id("dec")
        categories = join_categories(request.data_categories)
        rule = self.policy.rule(request.purpose, request.recipient)
        async with self.store.transaction() as conn:
            tail = await lock_tail(conn)
            entries: list[NewEntry] = []
            decision, reason, consent_id = await self._decide(conn, rule, request, now, entries)
            basis = rule.basis if rule is not None else None
            # A decision to reverse a share (a life event withdrawn) is decided as any, and
            # the resident's ledger shows it for what it is.
            kind = EntryKind.COMPENSATION if request.reverses else EntryKind.DECISION
            entries.append(
                NewEntry(
                    at=now,
                    kind=kind.value,
                    resident=request.resident,
                    purpose=request.purpose,
                    recipient=request.recipient,
                    categories=categories,
                    basis=basis.value if basis is not None else None,
                    outcome=decision.value,
                    reason=reason,
                    ref=decision_id,
                )
            )
            tail = await append(conn, tail, entries)
            deceased = False
            if decision is Decision.ALLOW:
                # Under the chain-head lock: once record_death returned, every later token
                # says so. One primary-key look-up, and only for an allowed share.
                deceased = await self.store.deceased(conn, request.resident)
                await self.store.insert_grant(
                    conn,
                    decision_id=decision_id,
                    consent_id=consent_id,
                    resident=request.resident,
                    recipient=request.recipient,
                    purpose=request.purpose,
                    issued_at=now,
                    decision_seq=tail.seq,
                )
        token = expires = None
        if decision is Decision.ALLOW:
            assert basis is not None
            token, expires = self.issuer.issue(
                decision_id=decision_id,
                resident=request.resident,
                recipient=request.recipient,
                purpose=request.purpose,
                categories=[c.value for c in request.data_categories],
                basis=basis.value,
                consent_id=consent_id,
                data_hash=request.data_hash,
                now=now,
                deceased=deceased,
            )
        SHARE_DECISIONS.labels(purpose=request.purpose, decision=decision.value).inc()
        log.info(
            "share.decided",
            decision_id=decision_id,
            kind=kind.value,
            decision=decision.value,
            reason=reason,
            purpose=request.purpose,
            recipient=request.recipient,
            ledger_seq=tail.seq,
        )
        return ShareDecision(
            decision_id=decision_id,
            decision=decision,
            resident=request.resident,
            purpose=request.purpose,
            recipient=request.recipient,
            data_categories=request.data_categories,
            lawful_basis=basis,
            reason=reason,
            consent_id=consent_id,
            share_token=token,
            token_expires_at=expires,
            ledger_seq=tail.seq,
        )

    async def _decide(
        self,
        conn: AsyncConnection,
        rule: ShareRule | None,
        request: ShareRequest,
        now: datetime,
        entries: list[NewEntry],
    ) -> tuple[Decision, str, str | None]:
        if rule is None:
            return Decision.DENY, "no_policy", None
        if rule.disallowed(request.data_categories):
            return Decision.DENY, "categories_not_allowed", None
        if rule.objection_honoured and await self.store.active_objection(
            conn, request.resident, request.purpose
        ):
            return Decision.DENY, "objection", None
        if rule.basis is not LawfulBasis.CONSENT:
            return Decision.ALLOW, "policy_allows", None
        consent = await self.store.latest_consent(
            conn, request.resident, request.purpose, request.recipient
        )
        if consent is None:
            return Decision.NEEDS_CONSENT, "no_consent", None
        status = consent.effective_status(now)
        if status is ConsentStatus.WITHDRAWN:
            return Decision.DENY, "consent_withdrawn", consent.consent_id
        if status is ConsentStatus.EXPIRED:
            if consent.status == ConsentStatus.GIVEN:
                # Expiry is a status event too: record it the first time it is noticed.
                await self.store.set_consent_status(
                    conn, consent.consent_id, ConsentStatus.EXPIRED, consent.expires_at
                )
                entries.append(self._consent_entry(consent, "expired", "expires_at", now))
            return Decision.NEEDS_CONSENT, "consent_expired", consent.consent_id
        if not set(request.data_categories) <= set(split_categories(consent.categories)):
            return Decision.NEEDS_CONSENT, "consent_scope", consent.consent_id
        return Decision.ALLOW, "consent_given", consent.consent_id

    # --- record_share -------------------------------------------------------------------

    async def record_share(self, completion: ShareCompletion) -> ShareRecorded:
        """The share under this token was handed over: put it on the ledger, once."""
        now = self.clock()
        try:
            # A share may complete after its token expired (a slow receiver that verified
            # in time); the signature and the gate's own grant are what matter here.
            claims = decode_share_token(
                completion.share_token, self.public_key, recipient=None, check_expiry=False
            )
        except ShareTokenError as error:
            raise GateError(f"token_{error.problem.value}", 403) from None
        async with self.store.transaction() as conn:
            tail = await lock_tail(conn)
            known, share_seq = await self.store.grant_state(conn, claims.decision_id)
            if not known:
                raise GateError("unknown_decision", 404)
            if share_seq is not None:
                return ShareRecorded(decision_id=claims.decision_id, ledger_seq=share_seq)
            outcome, reason = "completed", "share_recorded"
            if claims.consent_id is not None:
                consent = await self.store.consent_row(conn, claims.consent_id)
                if consent is None or consent.status == ConsentStatus.WITHDRAWN:
                    outcome, reason = "refused", "consent_withdrawn"
            entry = NewEntry(
                at=now,
                kind=EntryKind.SHARE.value,
                resident=claims.resident,
                purpose=claims.purpose,
                recipient=claims.recipient,
                categories=join_categories(claims.categories),
                basis=claims.basis,
                outcome=outcome,
                reason=reason,
                ref=claims.decision_id,
            )
            tail = await append(conn, tail, [entry])
            if outcome == "completed":
                await self.store.complete_grant(conn, claims.decision_id, now, tail.seq)
        log.info(
            "share.recorded",
            decision_id=claims.decision_id,
            outcome=outcome,
            reason=reason,
            ledger_seq=tail.seq,
        )
        if outcome != "completed":
            raise GateError(reason, 409)
        return ShareRecorded(decision_id=claims.decision_id, ledger_seq=tail.seq)

    # --- consents -----------------------------------------------------------------------

    async def give_consent(self, grant: ConsentGrant) -> ConsentRecord:
        rule = self.policy.rule(grant.purpose, grant.recipient)
        if rule is None or rule.basis is not LawfulBasis.CONSENT:
            # Statutory shares do not rest on consent; a consent record would mislead.
            raise GateError("consent_not_the_basis", 422)
        if rule.disallowed(grant.data_categories):
            raise GateError("categories_not_allowed", 422)
        if grant.controller != self.policy.controller:
            raise GateError("unknown_controller", 422)
        if grant.method is ConsentMethod.INFORMANT:
            # Recorded from the registration only (record_informant_agreement), once per step.
            raise GateError("informant_agreement_only", 422)
        now = self.clock()
        record = ConsentRecord(
            **grant.model_dump(),
            consent_id=_new_id("cns"),
            status=ConsentStatus.GIVEN,
            events=[ConsentEvent(status=ConsentStatus.GIVEN, at=grant.given_at)],
        )
        if record.expires_at <= now:
            raise GateError("already_expired", 422)
        async with self.store.transaction() as conn:
            tail = await lock_tail(conn)
            await self.store.insert_consent(conn, record)
            row = await self.store.consent_row(conn, record.consent_id)
            assert row is not None
            await append(conn, tail, [self._consent_entry(row, "given", grant.method.value, now)])
            await self._announce(conn, row, "given", [], now)
        log.info(
            "consent.given",
            consent_id=record.consent_id,
            purpose=record.purpose,
            recipient=record.recipient,
        )
        await self._changed()
        return record

    async def consent(self, consent_id: str) -> ConsentRecord | None:
        async with self.store.reading() as conn:
            row = await self.store.consent_row(conn, consent_id)
            return None if row is None else await self.store.consent_record(conn, row, self.clock())

    async def consents_of(self, resident: str) -> list[ConsentRecord]:
        now = self.clock()
        async with self.store.reading() as conn:
            rows = await self.store.resident_consents(conn, resident)
            return [await self.store.consent_record(conn, row, now) for row in rows]

    async def withdraw_consent(self, consent_id: str) -> ConsentRecord:
        """One call: the consent is withdrawn, every later decision on it is denied, and the
        recipient is told (on `consent.v1`) to stop using what it received under it."""
        now = self.clock()
        async with self.store.transaction() as conn:
            tail = await lock_tail(conn)
            row = await self.store.consent_row(conn, consent_id)
            if row is None:
                raise GateError("not_found", 404)
            if row.status != ConsentStatus.WITHDRAWN:
                await self.store.set_consent_status(conn, consent_id, ConsentStatus.WITHDRAWN, now)
                entry = self._consent_entry(row, "withdrawn", "resident_withdrew", now)
                await append(conn, tail, [entry])
                stop_use = await self.store.grants_under_consent(conn, consent_id)
                await self._announce(conn, row, "withdrawn", stop_use, now)
                log.info("consent.withdrawn", consent_id=consent_id, stop_use=len(stop_use))
            updated = await self.store.consent_row(conn, consent_id)
            assert updated is not None
            record = await self.store.consent_record(conn, updated, now)
        await self._changed()
        return record

    async def record_informant_agreement(
        self, agreement: InformantAgreement
    ) -> list[ConsentRecord]:
        """One consent per recipient the informant agreed to tell, for the deceased, method
        `informant`, given at `given_at` (the registration) and valid for
        `INFORMANT_CONSENT_VALIDITY` from when the council records it: a registration that
        reaches us late is still acted on as the informant asked. Idempotent on
        workflow_id + step + recipient: a repeat returns the same consents, in the order of
        `recipients`, and records nothing new."""
        for recipient in agreement.recipients:
            rule = self.policy.rule(agreement.purpose, recipient)
            if rule is None or rule.basis is not LawfulBasis.CONSENT:
                raise GateError("consent_not_the_basis", 422)
            if rule.disallowed(agreement.data_categories):
                raise GateError("categories_not_allowed", 422)
        now = self.clock()
        expires_at = max(agreement.given_at, now) + INFORMANT_CONSENT_VALIDITY
        special = any(c.special for c in agreement.data_categories)
        added: list[str] = []
        async with self.store.transaction() as conn:
            tail = await lock_tail(conn)
            known = await self.store.informant_consent_ids(
                conn, agreement.workflow_id, agreement.step
            )
            entries: list[NewEntry] = []
            for recipient in agreement.recipients:
                if recipient in known:
                    continue
                record = ConsentRecord(
                    resident=agreement.resident,
                    controller=self.policy.controller,
                    recipient=recipient,
                    purpose=agreement.purpose,
                    data_categories=agreement.data_categories,
                    special_category=special,
                    lawful_basis=LawfulBasis.CONSENT,
                    method=ConsentMethod.INFORMANT,
                    given_at=agreement.given_at,
                    notice_version=agreement.notice_version or INFORMANT_NOTICE,
                    expires_at=expires_at,
                    consent_id=_new_id("cns"),
                    status=ConsentStatus.GIVEN,
                    events=[ConsentEvent(status=ConsentStatus.GIVEN, at=agreement.given_at)],
                )
                await self.store.insert_consent(conn, record)
                await self.store.insert_informant_consent(
                    conn, agreement.workflow_id, agreement.step, recipient, record.consent_id
                )
                row = await self.store.consent_row(conn, record.consent_id)
                assert row is not None
                entries.append(self._consent_entry(row, "given", record.method.value, now))
                await self._announce(conn, row, "given", [], now)
                known[recipient] = record.consent_id
                added.append(record.consent_id)
            await append(conn, tail, entries)
            records = []
            for recipient in agreement.recipients:
                row = await self.store.consent_row(conn, known[recipient])
                assert row is not None
                records.append(await self.store.consent_record(conn, row, now))
        log.info(
            "consent.informant_agreement",
            workflow_id=agreement.workflow_id,
            step=agreement.step,
            purpose=agreement.purpose,
            recipients=len(agreement.recipients),
            recorded=len(added),
            consent_ids=[r.consent_id for r in records],
        )
        if added:
            await self._changed()
        return records

    # --- deaths -------------------------------------------------------------------------

    async def record_death(self, death: DeathRecord) -> DeathRecorded:
        """The resident died: from this commit on, every share token the gate issues about
        them is stamped `deceased`. Once per resident: a repeat (from any workflow) changes
        nothing and answers with the first record's ledger entry."""
        now = self.clock()
        async with self.store.transaction() as conn:
            tail = await lock_tail(conn)
            first = await self.store.death_seq(conn, death.resident)
            if first is not None:
                seq, changed = first, False
            else:
                death_id = _new_id("dth")
                entry = NewEntry(
                    at=now,
                    kind=EntryKind.DEATH.value,
                    resident=death.resident,
                    purpose=ALL_PURPOSES,
                    recipient=ALL_RECIPIENTS,
                    categories="",
                    basis=None,
                    outcome="recorded",
                    reason="death_registered",
                    ref=death_id,
                )
                tail = await append(conn, tail, [entry])
                await self.store.insert_death(
                    conn,
                    resident=death.resident,
                    date_of_death=death.date_of_death,
                    death_id=death_id,
                    workflow_id=death.workflow_id,
                    step=death.step,
                    recorded_at=now,
                    ledger_seq=tail.seq,
                )
                seq, changed = tail.seq, True
        log.info(
            "consent.death_recorded",
            workflow_id=death.workflow_id,
            step=death.step,
            changed=changed,
            ledger_seq=seq,
        )
        return DeathRecorded(resident=death.resident, ledger_seq=seq)

    async def undo_death(self, request: UndoRequest) -> ActionOutcome:
        """The life event of `request.workflow_id` was withdrawn: the deaths it recorded
        (`record_death`) are forgotten, so tokens about those residents are no longer
        stamped `deceased`, and a ledger entry of kind `death` (outcome `withdrawn`, reason
        `death_record_withdrawn`, the same `ref` as the entry that recorded it) says so
        beside the first: the resident's ledger shows both. `done` `undone` {ledger_seq};
        a repeat changes nothing (`no_action` `already_undone`, the same ledger_seq); a
        workflow that recorded none (another recorded the death first, or none was)
        → `no_action` `nothing_to_undo`."""
        now = self.clock()
        async with self.store.transaction() as conn:
            tail = await lock_tail(conn)
            recorded = await self.store.deaths_recorded_by(conn, request.workflow_id)
            if recorded:
                # One entry per death, each with its own sequence number.
                seqs: list[int] = []
                for row in recorded:
                    entry = NewEntry(
                        at=now,
                        kind=EntryKind.DEATH.value,
                        resident=row.resident,
                        purpose=ALL_PURPOSES,
                        recipient=ALL_RECIPIENTS,
                        categories="",
                        basis=None,
                        outcome="withdrawn",
                        reason="death_record_withdrawn",
                        ref=row.death_id,
                    )
                    tail = await append(conn, tail, [entry])
                    await self.store.withdraw_death(
                        conn,
                        resident=row.resident,
                        death_id=row.death_id,
                        workflow_id=request.workflow_id,
                        step=row.step,
                        undone_by=request.undone_by,
                        withdrawn_at=now,
                        ledger_seq=tail.seq,
                    )
                    seqs.append(tail.seq)
                outcome = ActionOutcome(
                    outcome="done",
                    code="undone",
                    references={"ledger_seq": ",".join(str(seq) for seq in seqs)},
                )
            elif withdrawn := await self.store.death_withdrawals_of(conn, request.workflow_id):
                outcome = ActionOutcome(
                    outcome="no_action",
                    code="already_undone",
                    references={"ledger_seq": ",".join(str(seq) for seq in withdrawn)},
                )
            else:
                outcome = ActionOutcome(outcome="no_action", code="nothing_to_undo")
        log.info(
            "consent.death_withdrawn",
            workflow_id=request.workflow_id,
            undone_by=request.undone_by,
            code=outcome.code,
            deaths=len(recorded),
        )
        return outcome

    # --- caseworkers ---------------------------------------------------------------------

    async def record_caseworker_action(self, action: CaseworkerAction) -> CaseworkerActionRecorded:
        """One ledger entry of kind `caseworker` per resident the action concerns (a
        resident named twice once), in one transaction. Idempotent on `action_id`: a repeat
        answers with the first recording's entries; the same ID for another action is
        refused (`action_id_reused`)."""
        now = self.clock()
        residents = tuple(dict.fromkeys(action.residents))
        async with self.store.transaction() as conn:
            tail = await lock_tail(conn)
            earlier = await self.store.caseworker_action(conn, action.action_id)
            if earlier is not None:
                same = (
                    earlier.caseworker,
                    earlier.action,
                    earlier.workflow_id,
                    earlier.task,
                    earlier.residents,
                ) == (action.caseworker, action.action, action.workflow_id, action.task, residents)
                if not same:
                    raise GateError("action_id_reused", 409)
                return CaseworkerActionRecorded(
                    action_id=earlier.action_id, ledger_seqs=earlier.ledger_seqs
                )
            reason = _TASK_KINDS.get(action.task.split(":", 1)[0], _HANDED_ON)
            entries = [
                NewEntry(
                    at=now,
                    kind=EntryKind.CASEWORKER.value,
                    resident=resident,
                    purpose=CASEWORKER_PURPOSE,
                    recipient=action.caseworker,
                    categories="",
                    basis=CASEWORKER_BASIS.value,
                    outcome=action.action,
                    reason=reason,
                    ref=action.action_id,
                )
                for resident in residents
            ]
            row = CaseworkerActionRow(
                action_id=action.action_id,
                caseworker=action.caseworker,
                action=action.action,
                workflow_id=action.workflow_id,
                task=action.task,
                residents=residents,
                first_seq=tail.seq + 1,
            )
            await append(conn, tail, entries)
            await self.store.insert_caseworker_action(conn, row, now)
        log.info(
            "consent.caseworker_action_recorded",
            action=action.action,
            workflow_id=action.workflow_id,
            task=action.task,
            residents=len(residents),
            first_seq=row.first_seq,
        )
        return CaseworkerActionRecorded(action_id=row.action_id, ledger_seqs=row.ledger_seqs)

    # --- objections ---------------------------------------------------------------------

    async def object(self, request: ObjectionRequest) -> Objection:
        now = self.clock()
        objection = Objection(
            objection_id=_new_id("obj"),
            resident=request.resident,
            purpose=request.purpose,
            recorded_at=now,
        )
        async with self.store.transaction() as conn:
            tail = await lock_tail(conn)
            existing = await self.store.active_objection(conn, request.resident, request.purpose)
            if existing is not None:
                raise GateError("already_objected", 409)
            await self.store.insert_objection(conn, objection)
            entry = self._objection_entry(objection, "recorded", now)
            await append(conn, tail, [entry])
        log.info("objection.recorded", objection_id=objection.objection_id)
        return objection

    async def objections_of(self, resident: str) -> list[Objection]:
        async with self.store.reading() as conn:
            return await self.store.resident_objections(conn, resident)

    async def withdraw_objection(self, resident: str, objection_id: str) -> Objection:
        now = self.clock()
        async with self.store.transaction() as conn:
            tail = await lock_tail(conn)
            found = [
                o
                for o in await self.store.resident_objections(conn, resident)
                if o.objection_id == objection_id
            ]
            if not found:
                raise GateError("not_found", 404)
            objection = found[0]
            if objection.withdrawn_at is None:
                await self.store.withdraw_objection(conn, objection_id, now)
                await append(conn, tail, [self._objection_entry(objection, "withdrawn", now)])
                objection = objection.model_copy(update={"withdrawn_at": now})
        log.info("objection.withdrawn", objection_id=objection_id)
        return objection

    # --- the resident's view (Art. 15) --------------------------------------------------

    async def data_use(self, resident: str) -> DataUseReport:
        async with self.store.reading() as conn:
            rows = await self.store.resident_ledger(conn, resident)
        entries = [_data_use_entry(row) for row in rows]
        received = [e for e in entries if e.kind is EntryKind.SHARE and e.outcome == "completed"]
        return DataUseReport(resident=resident, received=received, entries=entries)

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    def _consent_entry(row: ConsentRow, outcome: str, reason: str, now: datetime) -> NewEntry:
        return NewEntry(
            at=now,
            kind=EntryKind.CONSENT.value,
            resident=row.resident,
            purpose=row.purpose,
            recipient=row.recipient,
            categories=row.categories,
            basis=LawfulBasis.CONSENT.value,
            outcome=outcome,
            reason=reason,
            ref=row.consent_id,
        )

    @staticmethod
    def _objection_entry(objection: Objection, outcome: str, now: datetime) -> NewEntry:
        return NewEntry(
            at=now,
            kind=EntryKind.OBJECTION.value,
            resident=objection.resident,
            purpose=objection.purpose,
            recipient=ALL_RECIPIENTS,
            categories="",
            basis=None,
            outcome=outcome,
            reason="resident_objected" if outcome == "recorded" else "resident_withdrew",
            ref=objection.objection_id,
        )

    async def _announce(
        self,
        conn: AsyncConnection,
        row: ConsentRow,
        change: str,
        stop_use: list[str],
        now: datetime,
    ) -> None:
        body = ConsentChange(
            change="given" if change == "given" else "withdrawn",
            consent_id=row.consent_id,
            resident=row.resident,
            purpose=row.purpose,
            recipient=row.recipient,
            data_categories=split_categories(row.categories),
            at=now,
            stop_use=stop_use,
        )
        # Binary-mode CloudEvent: ce_* headers, JSON body, key = the pseudonymous resident key
        # (so every change for one resident stays in order on one partition).
        headers = {
            "ce_specversion": "1.0",
            "ce_id": uuid.uuid4().hex,
            "ce_source": CONSENT_SOURCE,
            "ce_type": f"lifeevents.consent.{change}.v1",
            "ce_time": now.isoformat(),
            "ce_subject": row.resident,
            "content-type": "application/json",
        }
        await self.store.outbox_add(
            conn,
            topic=self.topic,
            key=row.resident,
            value=body.model_dump_json(),
            headers=headers,
            at=now,
        )

    async def _changed(self) -> None:
        if self.on_change is None:
            return
        try:
            await self.on_change()
        except Exception as error:  # the relay loop publishes it later; the change stands
            log.warning("consent.publish_deferred", error_type=type(error).__name__)


def _data_use_entry(row: LedgerRow) -> DataUseEntry:
    return DataUseEntry(
        seq=row.seq,
        at=row.at,
        kind=EntryKind(row.kind),
        recipient=row.recipient,
        purpose=row.purpose,
        data_categories=split_categories(row.categories),
        lawful_basis=LawfulBasis(row.basis) if row.basis else None,
        outcome=row.outcome,
        reason=row.reason,
        ref=row.ref,
    )
