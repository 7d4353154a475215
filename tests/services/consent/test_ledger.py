"""The ledger's hash chain: an untouched ledger verifies; an entry edited, deleted, inserted or
reordered directly in the database is named by verify, every time. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from typer.testing import CliRunner

from contracts.consent import ShareRequest
from contracts.shares import DataCategory, data_hash
from deploy.cli import app
from services.common.database import make_engine
from services.common.sharetokens import ShareTokenIssuer
from services.consent.gate import ConsentGate
from services.consent.ledger import Problem, entry_hash, verify_ledger
from services.consent.policy import load_policy
from services.consent.store import LEDGER_COLUMNS, ConsentStore, LedgerRow, ledger, ledger_row

ENTRIES = 12


async def fill(gate: ConsentGate, count: int = ENTRIES) -> None:
    for i in range(count):
        await gate.decide_share(
            ShareRequest(
                resident=f"res_synthetic{i:09d}",
                purpose="council-tax-liability",
                recipient="council-tax",
                data_categories=[DataCategory.IDENTITY],
                data_hash=data_hash({"case_ref": f"CASE-{i:04d}"}),
            )
        )


async def row(conn: AsyncConnection, seq: int) -> LedgerRow:
    found = (await conn.execute(select(*LEDGER_COLUMNS).where(ledger.c.seq == seq))).one()
    return ledger_row(found)


async def move(conn: AsyncConnection, where: object, by: int) -> None:
    # Two steps through negative numbers, so that no step collides with the primary key.
    await conn.execute(update(ledger).where(where).values(seq=-(ledger.c.seq + by)))  # type: ignore[arg-type]
    await conn.execute(update(ledger).where(ledger.c.seq < 0).values(seq=-ledger.c.seq))


def as_values(entry: LedgerRow) -> dict[str, object]:
    return dataclasses.asdict(entry)


# --- tampering, as someone with database access would do it ------------------------------


async def edit_field(conn: AsyncConnection) -> None:
    await conn.execute(update(ledger).where(ledger.c.seq == 5).values(recipient="libraries"))


async def edit_categories(conn: AsyncConnection) -> None:
    await conn.execute(update(ledger).where(ledger.c.seq == 5).values(categories="health"))


async def edit_and_rehash(conn: AsyncConnection) -> None:
    entry = dataclasses.replace(await row(conn, 5), outcome="deny")
    rehashed = entry_hash(entry.prev_hash, 5, entry)
    await conn.execute(
        update(ledger).where(ledger.c.seq == 5).values(outcome="deny", hash=rehashed)
    )


async def edit_stored_hash(conn: AsyncConnection) -> None:
    await conn.execute(update(ledger).where(ledger.c.seq == 5).values(hash="f" * 64))


async def delete_entry(conn: AsyncConnection) -> None:
    await conn.execute(delete(ledger).where(ledger.c.seq == 5))


async def delete_and_renumber(conn: AsyncConnection) -> None:
    await conn.execute(delete(ledger).where(ledger.c.seq == 5))
    await move(conn, ledger.c.seq > 5, -1)


async def delete_first(conn: AsyncConnection) -> None:
    await conn.execute(delete(ledger).where(ledger.c.seq == 1))


async def delete_last(conn: AsyncConnection) -> None:
    await conn.execute(delete(ledger).where(ledger.c.seq == ENTRIES))


async def insert_linked(conn: AsyncConnection) -> None:
    """A well-forged entry at 5: linked to 4, correctly hashed; the rest renumbered."""
    before = await row(conn, 4)
    await move(conn, ledger.c.seq >= 5, 1)
    forged = dataclasses.replace(
        before, seq=5, resident="res_forgedentry0000001", prev_hash=before.hash
    )
    forged = dataclasses.replace(forged, hash=entry_hash(before.hash, 5, forged))
    await conn.execute(insert(ledger).values(**as_values(forged)))


async def insert_unlinked(conn: AsyncConnection) -> None:
    """A crude entry at 5 with made-up hashes; the rest renumbered."""
    template = await row(conn, 4)
    await move(conn, ledger.c.seq >= 5, 1)
    forged = dataclasses.replace(template, seq=5, prev_hash="a" * 64, hash="b" * 64)
    await conn.execute(insert(ledger).values(**as_values(forged)))


async def append_forged(conn: AsyncConnection) -> None:
    """A correctly chained entry after the last one (the head is not updated)."""
    last = await row(conn, ENTRIES)
    forged = dataclasses.replace(last, seq=ENTRIES + 1, prev_hash=last.hash)
    forged = dataclasses.replace(forged, hash=entry_hash(last.hash, ENTRIES + 1, forged))
    await conn.execute(insert(ledger).values(**as_values(forged)))


async def swap_adjacent(conn: AsyncConnection) -> None:
    await swap(conn, 5, 6)


async def swap_distant(conn: AsyncConnection) -> None:
    await swap(conn, 5, 10)


async def swap(conn: AsyncConnection, a: int, b: int) -> None:
    await conn.execute(update(ledger).where(ledger.c.seq == a).values(seq=-1))
    await conn.execute(update(ledger).where(ledger.c.seq == b).values(seq=a))
    await conn.execute(update(ledger).where(ledger.c.seq == -1).values(seq=b))


Tamper = Callable[[AsyncConnection], Awaitable[None]]


@pytest.mark.parametrize(
    ("tamper", "first_bad", "problem"),
    [
        (edit_field, 5, Problem.ALTERED),
        (edit_categories, 5, Problem.ALTERED),
        (edit_and_rehash, 5, Problem.ALTERED),
        (edit_stored_hash, 5, Problem.ALTERED),
        (delete_entry, 5, Problem.MISSING),
        (delete_and_renumber, 5, Problem.MISSING),
        (delete_first, 1, Problem.MISSING),
        (delete_last, ENTRIES, Problem.MISSING),
        (insert_linked, 5, Problem.INSERTED),
        (insert_unlinked, 5, Problem.INSERTED),
        (append_forged, ENTRIES + 1, Problem.INSERTED),
        (swap_adjacent, 5, Problem.OUT_OF_ORDER),
        (swap_distant, 5, Problem.OUT_OF_ORDER),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
async def test_verify_names_the_first_bad_entry(
    gate: ConsentGate, tamper: Tamper, first_bad: int, problem: Problem
) -> None:
    await fill(gate)
    assert (await verify_ledger(gate.store.engine)).ok
    async with gate.store.transaction() as conn:
        await tamper(conn)
    result = await verify_ledger(gate.store.engine)
    assert (result.first_bad_seq, result.problem) == (first_bad, problem), result.detail
    assert not result.ok


async def test_an_untouched_ledger_verifies(gate: ConsentGate) -> None:
    await fill(gate)
    result = await verify_ledger(gate.store.engine)
    assert result.ok
    assert (result.entries, result.head_seq) == (ENTRIES, ENTRIES)


async def test_an_empty_ledger_verifies(store: ConsentStore) -> None:
    result = await verify_ledger(store.engine)
    assert result.ok
    assert result.entries == 0


async def test_verify_while_entries_are_appended(gate: ConsentGate) -> None:
    await fill(gate)
    appending = asyncio.create_task(fill(gate, 30))
    results = []
    while not appending.done():
        results.append(await verify_ledger(gate.store.engine, batch=4))
    await appending
    results.append(await verify_ledger(gate.store.engine))
    assert all(r.ok for r in results), [r.detail for r in results if not r.ok]
    assert results[-1].entries == ENTRIES + 30


async def test_verify_streams_in_batches(gate: ConsentGate) -> None:
    await fill(gate)
    assert (await verify_ledger(gate.store.engine, batch=5)).ok


# --- `lifeevents ledger verify` ------------------------------------------------------------


def test_cli_verify_reports_ok_and_the_first_bad_entry(tmp_path: Path) -> None:
    # A plain (not async) test: the CLI runs its own event loop, as it does in a terminal.
    url = f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}"

    async def build() -> None:
        async with await ConsentStore.open(url) as store:
            issuer = ShareTokenIssuer(Ed25519PrivateKey.generate(), ttl=timedelta(minutes=5))
            await fill(ConsentGate(store, load_policy(), issuer, topic="consent.v1"))

    async def break_it() -> None:
        engine = make_engine(url)
        async with engine.begin() as conn:
            await edit_field(conn)
        await engine.dispose()

    asyncio.run(build())
    runner = CliRunner()
    ok = runner.invoke(app, ["ledger", "verify", "--database-url", url])
    assert ok.exit_code == 0, ok.output
    assert f"ledger verified: {ENTRIES} entries" in ok.output

    asyncio.run(break_it())
    broken = runner.invoke(app, ["ledger", "verify", "--database-url", url])
    assert broken.exit_code == 1
    assert "ledger broken at entry 5: altered" in broken.output
