"""The hash-chained ledger: append under one lock, verify from the first entry to the head.

Each entry's hash is SHA-256 over the previous entry's hash and the canonical JSON of the
entry's fields, its sequence number included. `verify` walks the entries in sequence order
and names the first bad one:

- ``altered``: the entry's fields (or its stored hash) are not what was hashed, or the entry
  was altered and re-hashed (then the next entry no longer links to it);
- ``missing``: an entry was removed (a gap, a renumbered tail, or fewer entries than the head);
- ``inserted``: an entry was added that the chain never linked;
- ``out_of_order``: the entry links to an entry that now stands later in the ledger.

The chain proves nothing against someone who can rewrite every later entry and the head
with them; publishing the head hash outside the database (see the report) closes that gap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.consent.store import (
    GENESIS_HASH,
    LEDGER_COLUMNS,
    LedgerRow,
    ledger,
    ledger_head,
    ledger_row,
)

__all__ = [
    "ChainTail",
    "NewEntry",
    "Problem",
    "Verification",
    "append",
    "entry_hash",
    "lock_tail",
    "verify_ledger",
]


@dataclass(frozen=True, slots=True)
class NewEntry:
    """What the gate appends; categories as the comma-joined sorted codes."""

    at: datetime
    kind: str
    resident: str
    purpose: str
    recipient: str
    categories: str
    basis: str | None
    outcome: str
    reason: str
    ref: str


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(prev_hash: str, seq: int, entry: NewEntry | LedgerRow) -> str:
    fields: dict[str, Any] = {
        "seq": seq,
        "at": _timestamp(entry.at),
        "kind": entry.kind,
        "resident": entry.resident,
        "purpose": entry.purpose,
        "recipient": entry.recipient,
        "categories": entry.categories.split(",") if entry.categories else [],
        "basis": entry.basis,
        "outcome": entry.outcome,
        "reason": entry.reason,
        "ref": entry.ref,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


# Built once: the hot path then skips statement construction and cache-key generation.
_LOCK_HEAD = (
    update(ledger_head)
    .where(ledger_head.c.id == 1)
    .values(seq=ledger_head.c.seq)
    .returning(ledger_head.c.seq, ledger_head.c.hash)
)
_INSERT_ENTRIES = insert(ledger)
_MOVE_HEAD = (
    update(ledger_head)
    .where(ledger_head.c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


@dataclass(frozen=True, slots=True)
class ChainTail:
    seq: int
    hash: str


async def lock_tail(conn: AsyncConnection) -> ChainTail:
    """Take the chain-head lock for the rest of the transaction and return the tail.

    An UPDATE (not a SELECT) so that SQLite takes its write lock now, before the reads the
    caller bases its decision on; on PostgreSQL it locks the head row. Either way, decisions,
    withdrawals and shares are serialised, and nothing reads a consent that a concurrent
    withdrawal is about to change.
    """
    row = (await conn.execute(_LOCK_HEAD)).one()
    return ChainTail(int(row[0]), str(row[1]))


async def append(conn: AsyncConnection, tail: ChainTail, entries: Sequence[NewEntry]) -> ChainTail:
    """Append entries after `tail` (from `lock_tail` in this transaction); return the new tail."""
    rows = []
    seq, prev = tail.seq, tail.hash
    for entry in entries:
        seq += 1
        digest = entry_hash(prev, seq, entry)
        rows.append(
            {
                "seq": seq,
                "at": entry.at,
                "kind": entry.kind,
                "resident": entry.resident,
                "purpose": entry.purpose,
                "recipient": entry.recipient,
                "categories": entry.categories,
                "basis": entry.basis,
                "outcome": entry.outcome,
                "reason": entry.reason,
                "ref": entry.ref,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    if rows:
        await conn.execute(_INSERT_ENTRIES, rows)
        await conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
    return ChainTail(seq, prev)


class Problem(StrEnum):
    ALTERED = "altered"
    MISSING = "missing"
    INSERTED = "inserted"
    OUT_OF_ORDER = "out_of_order"


@dataclass(frozen=True)
class Verification:
    entries: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: Problem | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None


def _hash_at(row: LedgerRow, seq: int) -> str:
    return entry_hash(row.prev_hash, seq, row)


async def verify_ledger(engine: AsyncEngine, *, batch: int = 20_000) -> Verification:
    """Walk the ledger in sequence order; stop at the first bad entry and say why.

    The walk covers the chain up to the head read at the start, so that entries appended
    while it runs are neither checked nor mistaken for insertions."""
    async with engine.connect() as conn:
        head_seq, head_hash = await _head(conn)
        result = await conn.stream(
            select(*LEDGER_COLUMNS)
            .where(ledger.c.seq <= head_seq)
            .order_by(ledger.c.seq)
            .execution_options(yield_per=batch)
        )
        count = 0
        expected_seq = 1
        prev_hash = GENESIS_HASH
        previous: LedgerRow | None = None
        async for chunk in result.partitions(batch):
            for raw in chunk:
                row = ledger_row(raw)
                if row.seq != expected_seq:
                    await result.close()
                    return Verification(
                        count,
                        head_seq,
                        head_hash,
                        expected_seq,
                        Problem.MISSING,
                        f"entry {expected_seq} is missing: the next entry is {row.seq}",
                    )
                if row.prev_hash != prev_hash or entry_hash(prev_hash, row.seq, row) != row.hash:
                    await result.close()
                    seq, problem, detail = await _diagnose(engine, row, previous, prev_hash)
                    return Verification(count, head_seq, head_hash, seq, problem, detail)
                prev_hash = row.hash
                previous = row
                expected_seq += 1
                count += 1
    last_seq = expected_seq - 1
    if last_seq < head_seq:
        detail = f"the head says {head_seq} entries, the ledger ends at {last_seq}"
        return Verification(count, head_seq, head_hash, last_seq + 1, Problem.MISSING, detail)
    if prev_hash != head_hash:
        detail = "the last entry's hash differs from the head: altered and re-hashed"
        return Verification(count, head_seq, head_hash, last_seq, Problem.ALTERED, detail)
    async with engine.connect() as conn:
        # The highest entry first, then the head: a genuine append moves the head in the
        # transaction that adds the entry, so only an entry added around the chain can stand
        # beyond the head read after it.
        highest = int(await conn.scalar(select(func.max(ledger.c.seq))) or 0)
        now_seq, _ = await _head(conn)
    if highest > now_seq:
        detail = f"entries after the head ({now_seq}) were never appended through the chain"
        return Verification(count, head_seq, head_hash, now_seq + 1, Problem.INSERTED, detail)
    return Verification(count, head_seq, head_hash)


async def _head(conn: AsyncConnection) -> tuple[int, str]:
    head = (await conn.execute(select(ledger_head.c.seq, ledger_head.c.hash))).first()
    return (int(head[0]), str(head[1])) if head else (0, GENESIS_HASH)


async def _diagnose(
    engine: AsyncEngine,
    row: LedgerRow,
    previous: LedgerRow | None,
    prev_hash: str,
) -> tuple[int, Problem, str]:
    """`row` fails its link or its hash; say which entry is the first bad one, and how."""
    async with engine.connect() as conn:
        following = (
            await conn.execute(
                select(*LEDGER_COLUMNS)
                .where(ledger.c.seq > row.seq)
                .order_by(ledger.c.seq)
                .limit(1)
            )
        ).first()
        nxt = ledger_row(following) if following is not None else None
        later_twin = await conn.scalar(
            select(ledger.c.seq).where(ledger.c.hash == row.prev_hash, ledger.c.seq > row.seq)
        )
    # The next entry links where this one should have: this one was slipped in.
    next_skips_row = (
        nxt is not None and nxt.prev_hash == prev_hash and _hash_at(nxt, nxt.seq - 1) == nxt.hash
    )
    if row.prev_hash == prev_hash:
        if next_skips_row:
            return row.seq, Problem.INSERTED, f"entry {row.seq} was never linked into the chain"
        return row.seq, Problem.ALTERED, f"entry {row.seq} does not match its hash"
    if later_twin is not None:
        return (
            row.seq,
            Problem.OUT_OF_ORDER,
            f"entry {row.seq} follows entry {later_twin}, which now stands after it",
        )
    if next_skips_row:
        return row.seq, Problem.INSERTED, f"entry {row.seq} was never linked into the chain"
    if previous is not None and _hash_at(row, row.seq - 1) == row.hash:
        return (
            previous.seq,
            Problem.INSERTED,
            f"entry {previous.seq} was slipped in before entry {row.seq} and the rest renumbered",
        )
    if _hash_at(row, row.seq) == row.hash:
        where = previous.seq if previous is not None else row.seq
        return (
            where,
            Problem.ALTERED,
            f"entry {row.seq} no longer links to entry {where}: {where} was altered and re-hashed",
        )
    if _hash_at(row, row.seq + 1) == row.hash:
        return (
            row.seq,
            Problem.MISSING,
            f"the entry before this one was removed and later entries renumbered "
            f"(entry {row.seq} was {row.seq + 1})",
        )
    return row.seq, Problem.ALTERED, f"entry {row.seq} does not match its hash or its link"
