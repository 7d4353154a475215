"""What every council service shares: the share-token check, the idempotent action store
and the worker process.

A council service (council tax, electoral services, school admissions, benefits,
notifications) is a Temporal worker on its own task queue with its own store. Its activities
take a `contracts.actions.ServiceAction` and return an `ActionOutcome`:

1. if the step (`workflow_id` + `step`) was already done, its first outcome is returned
   again (a retried activity changes nothing twice); every token must still be genuine, for
   this recipient and its data, but may have expired since;
2. otherwise every resident's share token is verified against exactly that resident's data
   (signature, issuer, recipient, expiry, purpose, data hash, the token's resident is the
   share's resident, and every category in the data is one the token allows). One failure
   refuses the whole action, a non-retryable `ApplicationError` of type `ShareRefused` whose
   message is the problem code, and nothing is touched;
3. a resident the gate knew to have died (the token's `deceased` claim) is refused,
   `ShareRefused` `resident_deceased`, by every action but those that act on a death
   (`about_a_death=True`): nothing new is opened for someone who has died, whichever
   workflow asks. An action on a death refuses, `death_not_recorded`, a share with `death`
   whose token lacks that claim: only a death the gate knows ends anything. Such an action
   finds the deceased with `the_deceased`: the one share whose data has `death` (none or
   several: `ShareDataInvalid` `invalid_data:no_deceased` / `invalid_data:deceased_repeated`).
   An action on a birth finds the child alike with `the_child`: the one share with `birth`
   (a parent never shares it; `invalid_data:no_child` / `invalid_data:child_repeated`);
4. each resident's data is validated into the service's model (`ShareDataInvalid` if it does
   not fit);
5. the change and the outcome are written in one transaction, keyed on `workflow_id` +
   `step` (a primary key), so a concurrent duplicate rolls back and returns the first;
6. every row the change wrote is journaled in that transaction (`services.common.journal`:
   before and after), so `CouncilStore.undo(key)` can later put the store back exactly as
   it was before the step (a life event withdrawn as entered in error), unless something
   changed those rows since.

A service's compensation (`CouncilActivities.reverse`, served as its `<service>.undo`
activity) takes a `ServiceAction` naming the ORIGINAL step (`workflow_id` + `step`) with one
share per resident and no data: the gate decided each again, as a compensation
(`ShareRequest.reverses`), for the step's purpose, this recipient and its categories, with
the data hash of `{}`. Every token is verified as above (recipient, signature, expiry, data
hash, resident), for any purpose the service acts for; the deceased refusal does not apply
(undoing is always allowed). Then the step is undone (`CouncilStore.undo`):
`done`/`undone` {restored: rows}; `no_action` `already_undone`, `nothing_to_undo` (the step
wrote nothing, or was never done here), or `changed_since` {tables: the tables whose rows
changed since, comma-joined}, when a caseworker must take it on. A repeat of an undone step
answers `already_undone`, its tokens verified but for expiry, as a repeated step's are.

Receivers hold only the consent service's *public* key: from the setting
`LIFEEVENTS_SHARE_TOKEN_PUBLIC_KEY` (PEM), else fetched from the consent API's
`GET /share-token-key` (`LIFEEVENTS_SHARE_TOKEN_KEY_URL`) on first use, and fetched again
once when a signature does not verify (the consent key was rotated).

Nothing here logs or raises a value from `data`: logs carry workflow IDs, step names,
codes and counts.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    and_,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio.exceptions import ApplicationError

from contracts.actions import ActionOutcome, ResidentShare, ServiceAction
from contracts.addresses import UkAddress
from contracts.shares import PersonBirth, PersonDeath
from services.common.database import Store
from services.common.journal import Undone, journaling
from services.common.journal import undo as undo_journaled
from services.common.settings import Settings, StoreOwner
from services.common.sharetokens import (
    ShareClaims,
    ShareTokenError,
    ShareTokenVerifier,
    TokenProblem,
    load_public_key,
)
from services.common.worker import Served, run_worker

__all__ = [
    "ActionKey",
    "Change",
    "CouncilActivities",
    "CouncilSettings",
    "CouncilStore",
    "ServedActivities",
    "ShareKeySource",
    "Shared",
    "action_table",
    "address_json",
    "data_invalid",
    "new_reference",
    "property_key",
    "reversal_outcome",
    "run_service",
    "same_for_all",
    "share_refused",
    "the_child",
    "the_deceased",
]

log = structlog.get_logger(__name__)


def new_reference(prefix: str) -> str:
    """A service's own reference for what it made: random, so it reveals nothing."""
    return f"{prefix}-{secrets.token_hex(5).upper()}"


def address_json(address: UkAddress | None) -> str | None:
    return None if address is None else address.model_dump_json()


def property_key(address: UkAddress) -> str:
    """One key per dwelling: the UPRN when known, else postcode and folded lines."""
    if address.uprn is not None:
        return f"uprn:{address.uprn}"
    lines = "|".join(" ".join(line.casefold().split()) for line in address.lines)
    return f"{address.postcode}|{lines}"


# --- refusals -------------------------------------------------------------------------------


def share_refused(code: str) -> ApplicationError:
    """The data is not ours to touch: never retried, the message is a code."""
    return ApplicationError(code, type="ShareRefused", non_retryable=True)


def data_invalid(code: str) -> ApplicationError:
    """The token is good but `data` does not have the agreed shape: a workflow bug."""
    return ApplicationError(code, type="ShareDataInvalid", non_retryable=True)


def _validation_code(error: ValidationError) -> str:
    # Field locations only (names we chose), never the input.
    first = error.errors(include_input=False, include_url=False)[0]
    parts = [part for part in first["loc"] if isinstance(part, str)]
    if first["type"] == "extra_forbidden" and parts:
        parts[-1] = "<extra>"  # a key the sender chose: it could be anything
    where = ".".join(parts)
    return f"invalid_data:{where}" if where else "invalid_data"


# --- the public key and the check -----------------------------------------------------------


class ShareKeySource:
    """The consent service's public key: given, or fetched from its API (`url`)."""

    def __init__(self, key: Ed25519PublicKey | None = None, url: str | None = None) -> None:
        if key is None and url is None:
            raise ValueError("a share-token public key or the URL to fetch it from is needed")
        self._key = key
        self._url = url
        self._lock = asyncio.Lock()

    @property
    def refreshable(self) -> bool:
        return self._url is not None

    async def get(self, *, refresh: bool = False) -> Ed25519PublicKey:
        async with self._lock:
            if self._key is None or (refresh and self._url is not None):
                self._key = await asyncio.to_thread(self._fetch)
            return self._key

    def _fetch(self) -> Ed25519PublicKey:
        assert self._url is not None
        try:
            with urllib.request.urlopen(self._url, timeout=5) as response:  # noqa: S310
                body = json.loads(response.read())
            return load_public_key(str(body["public_key_pem"]))
        except (OSError, ValueError, KeyError, TypeError):
            # Retryable: the consent service may simply not be up yet.
            raise ApplicationError(
                "share_token_key_unavailable", type="ShareKeyUnavailable"
            ) from None


async def _verify(
    keys: ShareKeySource,
    share: ResidentShare,
    *,
    recipient: str,
    purposes: Collection[str],
    check_expiry: bool,
) -> ShareClaims:
    """The token's claims, if it is good for `recipient`, exactly `share.data`, the share's
    resident and one of `purposes`; else `ShareRefused` with the problem code."""

    async def attempt(key: Ed25519PublicKey) -> ShareClaims:
        verifier = ShareTokenVerifier(key, recipient=recipient)
        # One purpose is checked by the verifier; several (a compensation, which may undo a
        # step of any purpose the service acts for) after it.
        one = next(iter(purposes)) if len(purposes) == 1 else None
        claims = verifier.verify(
            share.share_token, share.data, purpose=one, check_expiry=check_expiry
        )
        if claims.purpose not in purposes:
            raise ShareTokenError(TokenProblem.WRONG_PURPOSE)
        return claims

    try:
        try:
            claims = await attempt(await keys.get())
        except ShareTokenError as error:
            if error.problem is not TokenProblem.BAD_SIGNATURE or not keys.refreshable:
                raise
            claims = await attempt(await keys.get(refresh=True))
    except ShareTokenError as error:
        raise share_refused(error.problem.value) from None
    # The token was decided about one person: it covers that person's data, no one else's.
    if claims.resident != share.resident:
        raise share_refused("wrong_resident")
    if not set(share.data) <= set(claims.categories):
        raise share_refused("category_not_shared")
    return claims


# --- the store ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionKey:
    """What a change is keyed on. `subject` is "" for a service action (one per step), and
    the resident for notifications (one per resident per step)."""

    workflow_id: str
    step: str
    subject: str = ""


def action_table(metadata: MetaData, prefix: str) -> Table:
    """Each store's record of the steps it has done, with the first outcome of each."""
    return Table(
        f"{prefix}_actions",
        metadata,
        Column("workflow_id", String(255), nullable=False),
        Column("step", String(100), nullable=False),
        Column("subject", String(72), nullable=False),
        Column("outcome", String(16), nullable=False),
        Column("code", String(64), nullable=False),
        Column("refs", Text, nullable=False),
        # The decisions behind the step: one per resident, comma-separated.
        Column("decision_id", Text, nullable=True),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("workflow_id", "step", "subject", name=f"pk_{prefix}_actions"),
    )


Change = Callable[[AsyncConnection], Awaitable[ActionOutcome]]


class CouncilStore(Store):
    """A service's own store. Subclasses set `metadata` (their tables), `actions`
    (`action_table(metadata, …)`) and `journal` (`journal_table(metadata, …)`), and add
    their own data access."""

    actions: Table
    journal: Table

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        # One writer at a time in this process: SQLite would otherwise fail a second
        # writer's upgrade from read to write at once rather than wait.
        self._write_lock = asyncio.Lock()

    @property
    def journaled(self) -> tuple[Table, ...]:
        """The tables a step's change may write, all journaled: every table of the store
        but its record of steps and its journal."""
        return tuple(
            table
            for table in self.metadata.sorted_tables
            if table is not self.actions and table is not self.journal
        )

    def _where(self, key: ActionKey) -> Any:
        c = self.actions.c
        return and_(c.workflow_id == key.workflow_id, c.step == key.step, c.subject == key.subject)

    async def recorded(self, key: ActionKey) -> ActionOutcome | None:
        async with self.engine.connect() as conn:
            return await self._recorded(conn, key)

    async def _recorded(self, conn: AsyncConnection, key: ActionKey) -> ActionOutcome | None:
        row = (
            await conn.execute(
                select(self.actions.c.outcome, self.actions.c.code, self.actions.c.refs).where(
                    self._where(key)
                )
            )
        ).first()
        if row is None:
            return None
        return ActionOutcome(outcome=row.outcome, code=row.code, references=json.loads(row.refs))

    async def once(
        self, key: ActionKey, change: Change, *, decision_id: str | None = None
    ) -> ActionOutcome:
        """Run `change` and record its outcome in one transaction, unless `key` is already
        recorded: then return what was recorded, and change nothing."""
        try:
            async with self._write_lock, self.engine.begin() as conn:
                first = await self._recorded(conn, key)
                if first is not None:
                    return first
                async with journaling(conn, self.journal, key, self.journaled):
                    outcome = await change(conn)
                await conn.execute(
                    insert(self.actions).values(
                        workflow_id=key.workflow_id,
                        step=key.step,
                        subject=key.subject,
                        outcome=outcome.outcome,
                        code=outcome.code,
                        refs=json.dumps(outcome.references, sort_keys=True),
                        decision_id=decision_id,
                        recorded_at=datetime.now(UTC),
                    )
                )
                return outcome
        except IntegrityError:
            # Another process recorded the same step between our read and our write: its
            # transaction won, ours rolled back whole.
            first = await self.recorded(key)
            if first is None:
                raise
            return first

    async def undone(self, key: ActionKey) -> bool:
        """Whether the step `key` was undone already (`undo`)."""
        c = self.journal.c
        async with self.engine.connect() as conn:
            found = await conn.scalar(
                select(c.undone)
                .where(
                    c.workflow_id == key.workflow_id, c.step == key.step, c.subject == key.subject
                )
                .limit(1)
            )
        return bool(found)

    async def undo(self, key: ActionKey) -> Undone:
        """Put every row the step `key` wrote back as it was before the step, in one
        transaction: all of them, or none when one has changed since (`Undone.conflicts`
        names those tables). A step undone already, or never done here, changes nothing;
        so does one done before the store kept a journal (it has no entries).
        The step stays recorded: a retried activity of it returns its first outcome and does
        not do it again."""
        async with self._write_lock, self.engine.begin() as conn:
            undone = await undo_journaled(conn, self.journal, key, self.journaled)
        log.info(
            "council.action.undone",
            store=self.actions.name.removesuffix("_actions"),
            workflow_id=key.workflow_id,
            step=key.step,
            restored=undone.restored,
            conflicts=list(undone.conflicts),
            already_undone=undone.already_undone,
        )
        return undone


# --- the activities ---------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass(frozen=True)
class Shared(Generic[M]):
    """One resident's data as the service's model, with the resident's key."""

    resident: str
    data: M


def same_for_all(values: Iterable[T]) -> T:
    """What every resident's share must agree on (the move's addresses, say): one value,
    or the shares do not describe one event and are refused as invalid."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) != 1:
        raise data_invalid("invalid_data:residents_disagree")
    return distinct[0]


class _MayHaveDied(Protocol):
    """A service's model of one person's share in a step about a death: `death` is set on
    the deceased's (`contracts.shares.PersonDeath`), absent on a survivor's."""

    @property
    def death(self) -> PersonDeath | None: ...


class _SharedMayHaveDied(Protocol):
    """`Shared` of a `_MayHaveDied` model (read-only, so any such model fits)."""

    @property
    def resident(self) -> str: ...

    @property
    def data(self) -> _MayHaveDied: ...


def the_deceased(shared: Iterable[_SharedMayHaveDied]) -> tuple[str, PersonDeath]:
    """The deceased among a step's shares: the one resident whose share has `death`, and
    that death. Else the shares do not describe one death and are refused as invalid
    (`ShareDataInvalid`): `invalid_data:no_deceased` when none has `death`,
    `invalid_data:deceased_repeated` when several have."""
    deaths = [(p.resident, p.data.death) for p in shared if p.data.death is not None]
    if not deaths:
        raise data_invalid("invalid_data:no_deceased")
    if len(deaths) > 1:
        raise data_invalid("invalid_data:deceased_repeated")
    return deaths[0]


class _MayBeBorn(Protocol):
    """A service's model of one person's share in a step about a birth: `birth` is set on
    the child's (`contracts.shares.PersonBirth`), absent on a parent's."""

    @property
    def birth(self) -> PersonBirth | None: ...


class _SharedMayBeBorn(Protocol):
    """`Shared` of a `_MayBeBorn` model (read-only, so any such model fits)."""

    @property
    def resident(self) -> str: ...

    @property
    def data(self) -> _MayBeBorn: ...


def the_child(shared: Iterable[_SharedMayBeBorn]) -> tuple[str, date]:
    """The child among a birth's shares: the one resident whose share has `birth`, and their
    date of birth. Else the shares do not describe one birth and are refused as invalid
    (`ShareDataInvalid`): `invalid_data:no_child` when none has `birth`,
    `invalid_data:child_repeated` when several have (a step acts for one child), and
    `invalid_data:birth.date_of_birth` when the child's has no date (a registered birth
    always has one)."""
    births = [(p.resident, p.data.birth) for p in shared if p.data.birth is not None]
    if not births:
        raise data_invalid("invalid_data:no_child")
    if len(births) > 1:
        raise data_invalid("invalid_data:child_repeated")
    resident, birth = births[0]
    if birth.date_of_birth is None:
        raise data_invalid("invalid_data:birth.date_of_birth")
    return resident, birth.date_of_birth


def _death_refusal(
    action: ServiceAction, claims: list[ShareClaims], *, about_a_death: bool
) -> str | None:
    """Why the gate's word on death refuses the action, or None. Nothing new is opened for
    someone who has died; and an action on a death acts only on a death the gate knows:
    whoever's share says `death` must have the gate's `deceased` claim, so no living
    resident's account is ended, nor any organisation told they died, on a share alone."""
    if not about_a_death:
        return "resident_deceased" if any(c.deceased for c in claims) else None
    for share, claim in zip(action.shares, claims, strict=True):
        if "death" in share.data and not claim.deceased:
            return "death_not_recorded"
    return None


def reversal_outcome(undone: Undone) -> ActionOutcome:
    """What undoing a step did, as the compensation's outcome (codes and counts only)."""
    if undone.conflicts:
        # Rows the step wrote changed since: restoring them would lose that change.
        return ActionOutcome(
            outcome="no_action",
            code="changed_since",
            references={"tables": ",".join(undone.conflicts)},
        )
    if undone.already_undone:
        return ActionOutcome(outcome="no_action", code="already_undone")
    if undone.restored == 0:
        return ActionOutcome(outcome="no_action", code="nothing_to_undo")
    return ActionOutcome(
        outcome="done", code="undone", references={"restored": str(undone.restored)}
    )


class CouncilActivities:
    """Base of a service's activities: `perform` does the steps in the module doc, and
    `reverse` the compensation of one of them."""

    recipient: str  # as in the data-sharing policy; also the task queue
    # What the shares are verified for; a service with a purpose per activity passes each
    # activity's to `perform` instead, and lists them here (activity name → purpose).
    purpose: str
    purposes: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def __init__(self, store: CouncilStore, keys: ShareKeySource) -> None:
        self.store = store
        self.keys = keys
        # Failpoint for the crash test: SIGKILL the process right after a change committed,
        # before the activity answers (set by `run_service` from the settings only).
        self.kill_after_commit = False

    @classmethod
    def serving(cls, store: Any, settings: CouncilSettings) -> Self:
        """The activities as `python -m services.<name>` serves them."""
        return cls(store, settings.share_keys())

    @property
    def task_queue(self) -> str:
        return self.recipient

    @property
    def acts_for(self) -> frozenset[str]:
        """Every purpose the service acts for: its own, and each activity's (`purposes`)."""
        own = getattr(self, "purpose", None)
        return frozenset({*self.purposes.values(), *([own] if own else [])})

    async def verify(
        self,
        action: ServiceAction,
        *,
        check_expiry: bool = True,
        purpose: str | None = None,
        purposes: Collection[str] | None = None,
    ) -> list[ShareClaims]:
        """Every resident's token, or `ShareRefused` for the first that does not hold. The
        tokens must be for `purpose`, by default the service's; or, given `purposes`, for
        any one of them."""
        allowed = purposes if purposes is not None else (purpose or self.purpose,)
        return [
            await _verify(
                self.keys,
                share,
                recipient=self.recipient,
                purposes=allowed,
                check_expiry=check_expiry,
            )
            for share in action.shares
        ]

    @staticmethod
    def parse(model: type[M], action: ServiceAction) -> list[Shared[M]]:
        try:
            return [
                Shared(share.resident, model.model_validate(share.data)) for share in action.shares
            ]
        except ValidationError as error:
            raise data_invalid(_validation_code(error)) from None

    async def perform(
        self,
        action: ServiceAction,
        model: type[M],
        change: Callable[
            [AsyncConnection, ServiceAction, list[Shared[M]]], Awaitable[ActionOutcome]
        ],
        *,
        about_a_death: bool = False,
        purpose: str | None = None,
    ) -> ActionOutcome:
        """The steps in the module doc. `purpose`: what the tokens must be for, where a
        service acts for a purpose per activity (the council registers); by default the
        service's `purpose`."""
        key = ActionKey(action.workflow_id, action.step)
        first = await self.store.recorded(key)
        if first is not None:
            await self.verify(action, check_expiry=False, purpose=purpose)
            self._log("council.action.repeated", action, first)
            return first
        claims = await self.verify(action, purpose=purpose)
        refusal = _death_refusal(action, claims, about_a_death=about_a_death)
        if refusal is not None:
            log.info(
                "council.action.refused",
                service=self.recipient,
                workflow_id=action.workflow_id,
                step=action.step,
                code=refusal,
            )
            raise share_refused(refusal)
        shared = self.parse(model, action)

        async def run(conn: AsyncConnection) -> ActionOutcome:
            return await change(conn, action, shared)

        decisions = ",".join(c.decision_id for c in claims)
        outcome = await self.store.once(key, run, decision_id=decisions)
        self._log("council.action", action, outcome)
        if self.kill_after_commit:
            os.kill(os.getpid(), signal.SIGKILL)
        return outcome

    async def verify_reversal(self, action: ServiceAction, *, check_expiry: bool = True) -> None:
        """The tokens of a compensation: each as `verify` checks it, for any purpose the
        service acts for, over no data at all (the gate decided about `{}`: a compensation
        hands the service nothing but the resident's key). No deceased refusal: undoing
        what was done is always allowed."""
        if any(share.data for share in action.shares):
            # Data has no business in a compensation; refused before any token is read.
            raise data_invalid("invalid_data:reversal_with_data")
        await self.verify(action, check_expiry=check_expiry, purposes=self.acts_for)

    async def reverse(self, action: ServiceAction) -> ActionOutcome:
        """The compensation of the step `action` names (`workflow_id` + `step`): every row
        it wrote put back as it was before it, or nothing (module doc). Idempotent: a
        repeat answers `already_undone` and changes nothing."""
        key = ActionKey(action.workflow_id, action.step)
        # A repeat of an undone step (a retried activity) verifies but for expiry, as a
        # repeated step does: its tokens may have expired since the first attempt.
        repeated = await self.store.undone(key)
        await self.verify_reversal(action, check_expiry=not repeated)
        outcome = reversal_outcome(await self.store.undo(key))
        self._log("council.action.reversed", action, outcome)
        return outcome

    def _log(self, event: str, action: ServiceAction, outcome: ActionOutcome) -> None:
        log.info(
            event,
            service=self.recipient,
            workflow_id=action.workflow_id,
            step=action.step,
            event_id=action.event_id,
            residents=len(action.shares),
            outcome=outcome.outcome,
            code=outcome.code,
        )

    @property
    def all(self) -> list[Callable[..., Any]]:
        raise NotImplementedError


# --- settings and the process ---------------------------------------------------------------


class CouncilSettings(Settings):
    """Settings of the council services, on top of the shared ones (same prefix)."""

    share_token_public_key: str | None = Field(
        default=None,
        description="The consent service's Ed25519 public key (PEM) that share tokens are "
        "verified with. Unset: fetched from share_token_key_url on first use.",
    )
    share_token_key_url: str = Field(
        default="http://127.0.0.1:8010/share-token-key",
        description="The consent API's public-key endpoint.",
    )
    council_kill_after_commit: bool = Field(
        default=False,
        description="Failpoint for the crash test: SIGKILL the worker after a change is "
        "committed and before the activity answers. Never set in production.",
    )

    def share_keys(self) -> ShareKeySource:
        if self.share_token_public_key is not None:
            return ShareKeySource(load_public_key(self.share_token_public_key))
        return ShareKeySource(url=self.share_token_key_url)


S = TypeVar("S", bound=CouncilStore)


class ServedActivities(Protocol):
    @property
    def task_queue(self) -> str: ...

    @property
    def all(self) -> list[Callable[..., Any]]: ...


def run_service(
    service: StoreOwner,
    store_type: type[S],
    activities: Callable[[S, CouncilSettings], ServedActivities],
) -> None:
    """`python -m services.<service>`: the shared worker process (`services.common.worker`)
    serving the activities on their task queue from the service's own store."""

    @asynccontextmanager
    async def serve(settings: CouncilSettings) -> AsyncIterator[Served]:
        async with await store_type.open(settings.database_url(service)) as store:
            served = activities(store, settings)
            if isinstance(served, CouncilActivities):
                served.kill_after_commit = settings.council_kill_after_commit
            yield Served(served.task_queue, served.all)

    run_worker(service, CouncilSettings, serve)
