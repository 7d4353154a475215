"""Reliability under process faults (issue 14), on one `lifeevents run` shared by the suite.

Poison among good events is dead-lettered with reasons and delays none of them; processes
SIGKILLed and the Temporal server restarted while events run lose and duplicate nothing; a
replay of the whole topic starts and changes nothing; a store that cannot be written makes
the service's activities fail and retry, half-writes nothing, and all completes once it can
be written again. Each test prints what it injected and what it counted.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from services.common.settings import STORE_OWNERS
from tests.deploy.local.running import BIN, REPO_ROOT
from tests.reliability.chaos import Published, Run, suite_run
from tests.reliability.phases import (
    EVENTS,
    POISON_BATCH,
    STORE_BATCH,
    faults,
    poison,
    replay,
    stores,
)
from tests.support import subprocess_env

__all__ = ["suite_run"]  # the shared run, as a fixture of this module

pytestmark = [pytest.mark.stack, pytest.mark.reliability]

# What each kind of poison is dead-lettered for: the codes the contracts define.
REASONS = {
    "junk_bytes": "contract_violation",
    "invalid_cloudevent": "contract_violation",
    "unknown_type": "unknown_event_type",
    "schema_violation": "contract_violation",
}

# Rows one move adds to the stores, for one adult moving alone and for a couple; what each
# service does for a move within the area into a home of its own (no account there before).
PER_MOVE = {
    # table: (one adult, two adults)
    "counciltax.ctax_actions": (1, 1),
    "counciltax.ctax_accounts": (2, 2),  # the account at the old home closed, one opened
    "counciltax.ctax_liable": (1, 2),
    "electoral.electoral_actions": (1, 1),
    "electoral.electoral_removals": (1, 2),
    "electoral.electoral_invitations": (1, 2),
    "benefits.benefit_actions": (1, 1),
    # A decision and a share per person for each of the three services.
    "consent.ledger": (6, 12),
    "consent.grants": (3, 6),
    # Each adult told of each of the three steps, in the portal and by e-mail.
    "notifications.notification_inbox": (3, 6),
    "notifications.notification_messages": (3, 6),
    "mail-catcher.caught": (3, 6),
    "residents.residents": (1, 2),
}


def expected_rows(moves: list[Published]) -> dict[str, int]:
    couples = sum(1 for p in moves if len(p.people) == 2)
    alone = len(moves) - couples
    return {t: alone * a + couples * b for t, (a, b) in PER_MOVE.items()}


def rows_of(added: dict[str, int]) -> dict[str, int]:
    return {t: added.get(t, 0) for t in PER_MOVE}


async def test_poison_is_dead_lettered_with_its_reason_and_delays_no_good_event(
    suite_run: Run,
) -> None:
    found = await suite_run.phase("poison", poison)
    near, rest = statistics.median(found.near), statistics.median(found.rest)
    print(
        f"\ninjected: {len(found.reasons)} poison among {POISON_BATCH} good moves "
        f"({', '.join(k for k, _ in found.reasons)}); "
        f"counted: {found.dead_letters} dead letters, reasons {[r for _, r in found.reasons]}, "
        f"{found.indexed}/{found.with_id} with an event ID in the dead-letter index; "
        f"publish->start median {near:.2f} s next to poison vs {rest:.2f} s elsewhere, "
        f"max {max(found.near):.2f} s vs {max(found.rest):.2f} s; {found.seconds:.0f} s"
    )
    assert len(found.reasons) == POISON_BATCH // 20
    assert all(reason == REASONS[kind] for kind, reason in found.reasons)
    assert found.dead_letters == len(found.reasons)
    # Junk bytes and a CloudEvent without a source name no event to index.
    assert found.indexed == found.with_id == 2
    assert near < rest + 2.0
    assert max(found.near) < max(found.rest) + 3.0


async def test_processes_killed_and_temporal_restarted_lose_and_duplicate_nothing(
    suite_run: Run,
) -> None:
    found = await suite_run.phase("faults", faults)
    print(
        f"\ninjected: {'; '.join(found.injected)}; {EVENTS} moves and "
        f"{len(suite_run.poison)} poison in all; "
        f"counted: {found.events} events, {found.workflows} workflows, runs per workflow "
        f"{found.runs_per_workflow}, {found.completed} completed once, {found.missing} "
        f"missing; rows added {found.rows}; {found.seconds:.0f} s"
    )
    assert len(found.injected) == 4
    assert found.events == POISON_BATCH + EVENTS
    assert found.missing == 0
    assert found.workflows == found.events
    assert found.runs_per_workflow == {1: found.events}
    assert found.completed == found.events
    assert rows_of(found.rows) == expected_rows(found.good)


async def test_a_replay_of_the_whole_topic_starts_nothing_and_changes_nothing(
    suite_run: Run,
) -> None:
    found = await suite_run.phase("replay", replay)
    print(
        f"\ninjected: the orchestrator's group set back to offset 0 ({found.records} records "
        f"read again); counted: {found.new_workflows} new workflows, {found.new_runs} new "
        f"runs, rows changed {found.new_rows}, dead letters {found.dead_letters_before} -> "
        f"{found.dead_letters_after}; {found.seconds:.0f} s"
    )
    assert found.records >= POISON_BATCH + EVENTS
    assert found.new_workflows == 0
    assert found.new_runs == 0
    assert found.new_rows == {}


async def test_a_store_locked_or_full_fails_its_actions_until_it_can_be_written(
    suite_run: Run,
) -> None:
    found = await suite_run.phase("stores", stores)
    print(
        f"\ninjected: {'; '.join(found.injected)}; {STORE_BATCH} moves during each; "
        f"counted: council tax rows added while locked {found.rows_while_locked}, while full "
        f"{found.rows_while_full}; activities retrying {found.retries_seen} "
        f"({found.retried_activities}); rows added in all {found.rows_after}; integrity "
        f"{found.integrity}; {found.seconds:.0f} s"
    )
    assert found.rows_while_locked == {}
    assert found.rows_while_full == {}
    assert found.retries_seen["locked"] >= 1
    assert found.retries_seen["full"] >= 1
    assert found.integrity == "ok"
    assert rows_of(found.rows_after) == expected_rows(found.sent)


# --- 5. a store that is not a database, or cannot be opened -----------------------------------

SERVICE_MODULES: dict[str, str] = {str(o): f"services.{o}" for o in STORE_OWNERS} | {
    "portal": "deploy.portal"  # composed in deploy/, its adapters being other services'
}
# Every `lifeevents` command that opens a store, with the store it opens.
COMMANDS: dict[tuple[str, ...], str] = {
    ("ledger", "verify"): "consent",
    ("keys", "list"): "intake",
    ("keys", "issue", "--source", "/housing/x", "--type", "lifeevents.address.changed.v1"): (
        "intake"
    ),
    ("keys", "revoke", "k-1"): "intake",
    ("caseworker", "add", "a.caseworker", "--name", "Case Worker", "--password-stdin"): "portal",
    ("caseworker", "disable", "a.caseworker"): "portal",
}
NOT_A_DATABASE = b"These bytes are not an SQLite database. " * 200


def unopenable(path: Path) -> str:
    """A folder where the file should be: unreadable even to root, which permissions are not."""
    path.mkdir(parents=True, exist_ok=True)
    return "unopenable"


def garbage(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(NOT_A_DATABASE)
    return "not a database"


@pytest.mark.parametrize("spoil", [garbage, unopenable], ids=["garbage", "unopenable"])
def test_every_command_and_service_on_a_spoilt_store_names_it_and_exits_non_zero(
    tmp_path: Path, spoil: Callable[[Path], str]
) -> None:
    said: list[str] = []
    for owner, module in SERVICE_MODULES.items():
        var = tmp_path / owner
        store = var / owner / f"{owner}.db"
        spoil(store)
        ran = subprocess.run(
            [sys.executable, "-m", module],
            env=subprocess_env(LIFEEVENTS_VAR_DIR=str(var), LIFEEVENTS_LOG_FORMAT="json"),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=REPO_ROOT,
        )
        out = ran.stdout + ran.stderr
        said.append(f"{module}: exit {ran.returncode}")
        assert ran.returncode == 2, (module, out[-2000:])
        assert f'"store": "{store}"' in out, (module, out[-2000:])
        assert "Traceback" not in out, (module, out[-2000:])
    for args, owner in COMMANDS.items():
        var = tmp_path / "cli" / "-".join(args[:2])
        store = var / owner / f"{owner}.db"
        spoil(store)
        ran = subprocess.run(
            [str(BIN / "lifeevents"), *args],
            env=subprocess_env(LIFEEVENTS_VAR_DIR=str(var)),
            input="a password long enough for any rule\n",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=REPO_ROOT,
        )
        said.append(f"lifeevents {' '.join(args[:2])}: exit {ran.returncode}")
        assert ran.returncode == 2, (args, ran.stdout[-2000:], ran.stderr[-2000:])
        assert ran.stderr.startswith(f"lifeevents: the store at {store} cannot be used: "), (
            args,
            ran.stderr,
        )
        assert "Traceback" not in ran.stdout + ran.stderr
    print(f"\ninjected: a {spoil(tmp_path / 'x.db')} store; counted: {'; '.join(said)}")
