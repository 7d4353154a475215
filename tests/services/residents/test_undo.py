"""Undoing what a withdrawn life event's workflow wrote to the resident index
(`residents.undo_workflow`): every journaled step of the workflow, newest first, in one
transaction, all or nothing, once.

A wrongly recorded death: the resident is alive again, the survivor's support flag and the
report are gone. A wrongly reported move: the movers are back where they were. A wrongly
registered birth: the child the workflow's match created is gone, with the birth recorded.
A later workflow that wrote the same rows since, or a row that refers to a resident the
workflow created, makes the undo refuse whole (`changed_since`, naming the tables) until
that one is undone. Each store is compared whole before and after (every table but the
lock and the journal's own), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import structlog
from sqlalchemy import select

from contracts.actions import ActionOutcome, UndoRequest
from contracts.events.common import EventReference
from contracts.residents import (
    CaseworkerDecision,
    DeathRecord,
    LifeEventReport,
    MoveRecord,
    PersonDetails,
    PreferenceUpdate,
    SupportFlag,
)
from services.residents.activities import ResidentActivities
from services.residents.index import MatchRequest, ResidentIndex, open_index
from services.residents.store import journal
from tests.services.residents.support import address, person
from tests.services.residents.test_births import BORN, HOME, birth, child, key_of, parents
from tests.support.postgres import fresh_postgres_url

Dump = dict[str, list[tuple[Any, ...]]]

# Left out of the comparison by name, as every store's bookkeeping is (`*_journal`): the lock
# row changes on every write, and the journals record the undo itself.
NOT_COMPARED = ("resident_index_lock", "resident_journal", "resident_change_journal")

OLD_HOME = address(7, uprn="999000000007")
NEW_HOME = address(8, uprn="999000000008")
ELSEWHERE = address(9, uprn="999000000009")
DIED = date(2025, 8, 7)
MOVED = date(2025, 10, 18)


@pytest.fixture(params=["sqlite", "postgres"])
async def index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ResidentIndex]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'residents.db'}"
    else:
        url = await fresh_postgres_url(request.getfixturevalue("postgres_socket_dir"))
    opened = await open_index(url)
    yield opened
    await opened.store.close()


async def dump(index: ResidentIndex) -> Dump:
    found: Dump = {}
    async with index.store.reading() as conn:
        for table in index.store.metadata.sorted_tables:
            if table.name in NOT_COMPARED:
                continue
            rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
            found[table.name] = [tuple(row) for row in rows]
    return found


def workflow() -> str:
    return f"lifeevent-{uuid.uuid4().hex}"


def undo(workflow_id: str) -> UndoRequest:
    return UndoRequest(workflow_id=workflow_id, undone_by=workflow())


async def matched(
    index: ResidentIndex, workflow_id: str, people: list[PersonDetails], step: str = "1"
) -> list[str]:
    """The people matched as `workflow_id`'s `match_people` activity matches them."""
    request = MatchRequest(key=uuid.uuid4().hex, workflow_id=workflow_id, step=step)
    return [key_of(result) for result in await index.match_people(people, request=request)]


def report(
    kind: str, workflow_id: str, residents: tuple[str, ...], on: date, **more: Any
) -> LifeEventReport:
    return LifeEventReport.model_validate(
        {
            "kind": kind,
            "event": EventReference(source="/test/source", id=uuid.uuid4().hex),
            "residents": residents,
            "on": on,
            "workflow_id": workflow_id,
            **more,
        }
    )


async def moved(index: ResidentIndex, workflow_id: str, residents: tuple[str, ...]) -> None:
    await index.record_move(
        MoveRecord(
            residents=residents,
            new_address=NEW_HOME,
            move_date=MOVED,
            direction="within",
            workflow_id=workflow_id,
            step="resident-index",
        )
    )


async def assert_undone(index: ResidentIndex, workflow_id: str, before: Dump) -> ActionOutcome:
    """Undone: the index is `before` again; asked again, nothing changes."""
    assert await dump(index) != before, "the workflow wrote nothing: nothing to show undone"

    outcome = await index.undo_workflow(undo(workflow_id))

    assert outcome.outcome == "done"
    assert outcome.code == "undone"
    assert int(outcome.references["restored"]) > 0
    assert await dump(index) == before
    again = await index.undo_workflow(undo(workflow_id))
    assert again == ActionOutcome(outcome="no_action", code="already_undone")
    assert await dump(index) == before
    return outcome


# --- each kind of life event ------------------------------------------------------------------


async def test_a_wrongly_recorded_death_is_taken_back_whole(index: ResidentIndex) -> None:
    dead, spouse = [
        key_of(r)
        for r in await index.match_people(
            [
                person("Imaginary", "Testworth", date(1938, 2, 14), address=OLD_HOME),
                person("Madeup", "Testworth", date(1941, 3, 1), address=OLD_HOME),
            ]
        )
    ]
    before = await dump(index)
    bereavement = workflow()
    [again] = await matched(
        index,
        bereavement,
        [person("Imaginary", "Testworth", date(1938, 2, 14), address=OLD_HOME, nhs="9991000011")],
    )
    assert again == dead  # matched, and an identifier the index did not know added
    await index.claim_report(report("death", bereavement, (dead,), DIED))
    record = DeathRecord(
        resident=dead, date_of_death=DIED, workflow_id=bereavement, step="resident-index"
    )
    assert (await index.mark_deceased(record)).deceased
    await index.flag_support(
        SupportFlag(
            resident=spouse,
            reason="bereaved_living_alone",
            workflow_id=bereavement,
            step="support-flag",
        )
    )

    with structlog.testing.capture_logs() as logs:
        outcome = await assert_undone(index, bereavement, before)

    assert outcome.references["steps"] == "4"
    resident = await index.resident(dead)
    assert resident is not None
    assert not resident.deceased
    survivor = await index.resident(spouse)
    assert survivor is not None
    assert survivor.flags == ()
    assert (await index.contact_for(dead)).channels == ("letter",)
    # Codes, counts and keys only.
    assert [line["code"] for line in logs] == ["undone", "already_undone"]
    assert set(logs[0]) == {
        "event",
        "log_level",
        "workflow_id",
        "undone_by",
        "outcome",
        "code",
        "references",
    }
    assert "Testworth" not in str(logs)
    assert "9991000011" not in str(logs)


async def test_a_wrongly_reported_move_puts_the_movers_back(index: ResidentIndex) -> None:
    movers = tuple(
        key_of(r)
        for r in await index.match_people(
            [
                person("Ada", "Quill", date(1980, 1, 2), address=OLD_HOME),
                person("Bea", "Quill", date(1981, 3, 4), address=OLD_HOME),
            ]
        )
    )
    before = await dump(index)
    moving = workflow()
    await matched(index, moving, [person("Ada", "Quill", date(1980, 1, 2), email="a@example.org")])
    await index.claim_report(report("move", moving, movers, MOVED, new_address=NEW_HOME))
    await moved(index, moving, movers)
    assert (await index.resident(movers[0])).address == NEW_HOME  # type: ignore[union-attr]

    await assert_undone(index, moving, before)

    for mover in movers:
        assert (await index.resident(mover)).address == OLD_HOME  # type: ignore[union-attr]


async def test_a_wrongly_registered_birth_removes_the_child_and_the_birth(
    index: ResidentIndex,
) -> None:
    mother, father = await parents(index)
    before = await dump(index)
    registration = workflow()
    created = await child(index, registration)
    assert created.outcome == "created"
    wren = key_of(created)
    await index.claim_report(report("birth", registration, (wren,), BORN))
    await index.record_birth(birth(wren, (mother, father), registration))
    assert await index.reminders_for([wren]) == [registration]

    await assert_undone(index, registration, before)

    assert await index.resident(wren) is None
    assert await index.reminders_for([wren]) == []
    assert wren not in (await index.resident(mother)).household  # type: ignore[union-attr]
    # The same birth reported again is a new child, recorded by its own workflow.
    again = workflow()
    newborn = key_of(await child(index, again))
    assert (await index.record_birth(birth(newborn, (mother, father), again))).recorded_by == again


async def test_a_caseworkers_decisions_for_the_workflow_are_taken_back(
    index: ResidentIndex,
) -> None:
    """Two doubtful people of the workflow, one linked to a resident (who gains an
    identifier), one created: both decisions go."""
    [known] = [
        key_of(r) for r in await index.match_people([person("Jo", "Pike", date(1966, 4, 4))])
    ]
    before = await dump(index)
    moving = workflow()
    linked, created = (
        person("Jo", "Pike", nhs="9991000038"),
        person("Jo", "Pike", date(1999, 9, 9), address=NEW_HOME),
    )
    decisions = [
        CaseworkerDecision(
            person=linked, decision="link", resident=known, workflow_id=moving, step="match-0"
        ),
        CaseworkerDecision(person=created, decision="create", workflow_id=moving, step="match-1"),
    ]
    made = [await index.resolve_doubtful(decision) for decision in decisions]
    assert [r.rule for r in made] == ["caseworker_linked", "caseworker_created"]

    outcome = await assert_undone(index, moving, before)

    assert outcome.references["steps"] == "2"
    assert await index.resident(key_of(made[1])) is None


# --- what there is to undo --------------------------------------------------------------------


async def test_a_workflow_that_wrote_nothing_has_nothing_to_undo(index: ResidentIndex) -> None:
    await index.match_people([person("Ivo", "Fenn", date(1950, 1, 1))])
    before = await dump(index)

    outcome = await index.undo_workflow(undo(workflow()))

    assert outcome == ActionOutcome(outcome="no_action", code="nothing_to_undo")
    assert await dump(index) == before


async def test_undoing_a_second_report_of_a_death_leaves_the_first_standing(
    index: ResidentIndex,
) -> None:
    """The second workflow's mark changed nothing (the first stands): undoing it takes back
    only its own note that its step was about the resident."""
    [dead] = [
        key_of(r) for r in await index.match_people([person("Ivo", "Fenn", date(1950, 1, 1))])
    ]
    first, second = workflow(), workflow()
    for by in (first, second):
        await index.mark_deceased(
            DeathRecord(resident=dead, date_of_death=DIED, workflow_id=by, step="resident-index")
        )

    outcome = await index.undo_workflow(undo(second))

    assert outcome.references == {"restored": "1", "steps": "1"}
    resident = await index.resident(dead)
    assert resident is not None
    assert resident.deceased


async def test_a_repeated_step_is_journaled_once(index: ResidentIndex) -> None:
    before = await dump(index)
    moving = workflow()
    request = MatchRequest(key="the-same-activity", workflow_id=moving, step="1")
    people = [person("Cy", "Vale", date(1970, 5, 5), address=OLD_HOME)]
    first = await index.match_people(people, request=request)
    assert await index.match_people(people, request=request) == first

    outcome = await assert_undone(index, moving, before)

    assert outcome.references["steps"] == "1"


async def test_the_same_step_written_twice_is_two_changes_both_undone(
    index: ResidentIndex,
) -> None:
    """A second run of the workflow numbers its activities from 1 again: the same step name,
    another match request. Each is its own change, and both go."""
    before = await dump(index)
    twice = workflow()
    await matched(index, twice, [person("Dee", "Wick", date(1975, 6, 6))], step="1")
    await matched(index, twice, [person("Eli", "Wick", date(1977, 7, 7))], step="1")
    async with index.store.reading() as conn:
        subjects = set(
            await conn.scalars(select(journal.c.subject).where(journal.c.workflow_id == twice))
        )
    assert subjects == {"match_people", "match_people#2"}

    outcome = await assert_undone(index, twice, before)

    assert outcome.references["steps"] == "2"


# --- changed since ----------------------------------------------------------------------------


async def test_a_move_a_later_workflow_moved_on_is_refused_until_that_one_is_undone(
    index: ResidentIndex,
) -> None:
    [mover] = [
        key_of(r)
        for r in await index.match_people(
            [person("Fay", "Lorn", date(1985, 8, 8), address=OLD_HOME)]
        )
    ]
    before = await dump(index)
    wrong, later = workflow(), workflow()
    await moved(index, wrong, (mover,))
    after_wrong = await dump(index)
    await index.record_move(
        MoveRecord(
            residents=(mover,),
            new_address=ELSEWHERE,
            move_date=date(2025, 11, 1),
            direction="within",
            workflow_id=later,
            step="resident-index",
        )
    )
    after_later = await dump(index)

    refused = await index.undo_workflow(undo(wrong))

    assert refused == ActionOutcome(
        outcome="no_action",
        code="changed_since",
        references={"tables": "resident_residences"},
    )
    assert await dump(index) == after_later
    assert await index.undo_workflow(undo(wrong)) == refused  # nothing was marked undone
    assert (await index.undo_workflow(undo(later))).code == "undone"
    assert await dump(index) == after_wrong
    await assert_undone(index, wrong, before)


async def test_a_resident_a_later_workflow_is_about_is_not_removed(index: ResidentIndex) -> None:
    """The birth's match created the child; a later move is about the child too. Removing
    the child would break the later step's record: refused whole, nothing restored."""
    mother, father = await parents(index)
    before = await dump(index)
    registration, move = workflow(), workflow()
    wren = key_of(await child(index, registration))
    await index.record_birth(birth(wren, (mother, father), registration))
    after_birth = await dump(index)
    [again] = await matched(index, move, [person("Wren", "Larkspur", BORN, address=HOME)])
    assert again == wren
    after_match = await dump(index)
    assert after_match != after_birth  # the move's step names the child

    refused = await index.undo_workflow(undo(registration))

    assert refused == ActionOutcome(
        outcome="no_action",
        code="changed_since",
        references={"tables": "resident_step_residents"},
    )
    assert await dump(index) == after_match
    assert (await index.undo_workflow(undo(move))).code == "undone"
    await assert_undone(index, registration, before)


async def test_all_or_nothing_a_conflict_in_an_older_step_keeps_the_newer_ones(
    index: ResidentIndex,
) -> None:
    """The workflow's match added an e-mail address the index did not know, then its next
    step marked the resident deceased; the resident chose their channels since. The mark,
    undone first, would leave a half-undone workflow: nothing is restored."""
    [dead] = [
        key_of(r) for r in await index.match_people([person("Gil", "Marsh", date(1940, 9, 9))])
    ]
    bereavement = workflow()
    await matched(
        index, bereavement, [person("Gil", "Marsh", date(1940, 9, 9), email="g@example.org")]
    )
    await index.mark_deceased(
        DeathRecord(resident=dead, date_of_death=DIED, workflow_id=bereavement, step="mark")
    )
    await index.set_preferences(
        PreferenceUpdate(resident=dead, channels=("email", "letter"), portal_account=None)
    )
    after = await dump(index)

    outcome = await index.undo_workflow(undo(bereavement))

    assert outcome == ActionOutcome(
        outcome="no_action", code="changed_since", references={"tables": "resident_contacts"}
    )
    assert await dump(index) == after
    resident = await index.resident(dead)
    assert resident is not None
    assert resident.deceased


# --- the activity -----------------------------------------------------------------------------


async def test_the_activity_undoes_the_workflow(index: ResidentIndex) -> None:
    before = await dump(index)
    moving = workflow()
    await matched(index, moving, [person("Hal", "Reed", date(1960, 10, 10), address=OLD_HOME)])
    activities = ResidentActivities(index)
    assert activities.undo_workflow in activities.all

    outcome = await activities.undo_workflow(undo(moving))

    assert outcome == ActionOutcome(outcome="done", code="undone", references=outcome.references)
    assert await dump(index) == before
    assert (await activities.undo_workflow(undo(moving))).code == "already_undone"
