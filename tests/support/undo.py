"""What the council services' undo tests share: a dump of a store's own data, and the check
that undoing one step brings that dump back exactly, once.

The dump leaves out the record of steps (`*_actions`) and the journal (`*_journal`) by
their names, not by asking the code under test which tables it journals.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.common.council import ActionKey, CouncilStore
from services.common.journal import Undone

__all__ = ["Dump", "assert_undone_exactly", "dump"]

Dump = dict[str, list[tuple[Any, ...]]]


async def dump(store: CouncilStore) -> Dump:
    """Every row of every table of the store but its steps and its journal, in key order."""
    found: Dump = {}
    async with store.engine.connect() as conn:
        for table in store.metadata.sorted_tables:
            if table.name.endswith(("_actions", "_journal")):
                continue
            rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
            found[table.name] = [tuple(row) for row in rows]
    return found


async def assert_undone_exactly(store: CouncilStore, key: ActionKey, before: Dump) -> None:
    """The step `key` changed the store; undone, the store is `before` again, and the step
    is still recorded; undone again, nothing changes."""
    assert await dump(store) != before, "the step changed nothing: nothing to show undone"

    first = await store.undo(key)

    assert first.conflicts == ()
    assert not first.already_undone
    assert first.restored > 0
    assert await dump(store) == before
    assert await store.recorded(key) is not None

    assert await store.undo(key) == Undone(restored=0, already_undone=True)
    assert await dump(store) == before
