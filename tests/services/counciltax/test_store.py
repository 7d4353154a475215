"""The idempotent action store shared by the council services (`CouncilStore.once`): two
processes doing the same step at the same moment make one change, and both answer with it."""

from __future__ import annotations

import asyncio

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.actions import ActionOutcome
from services.common.council import ActionKey, Change
from services.counciltax.store import CouncilTaxStore, accounts
from tests.support.postgres import fresh_postgres_url


async def test_concurrent_duplicates_in_two_processes_change_once(postgres_socket_dir: str) -> None:
    url = await fresh_postgres_url(postgres_socket_dir)
    first, second = await CouncilTaxStore.open(url), await CouncilTaxStore.open(url)
    both_read = asyncio.Barrier(2)

    def change(reference: str) -> Change:
        async def run(conn: AsyncConnection) -> ActionOutcome:
            await both_read.wait()  # each has seen "not done yet" before either writes
            await conn.execute(
                insert(accounts).values(
                    reference=reference, property_key="p", address="{}", discount_percent=0
                )
            )
            return ActionOutcome(outcome="done", code="made", references={"account": reference})

        return run

    key = ActionKey("move-1", "council-tax")
    try:
        answers = await asyncio.gather(
            first.once(key, change("CT-A")), second.once(key, change("CT-B"))
        )
        assert answers[0] == answers[1]
        assert [a.reference for a in await first.all_accounts()] == [
            answers[0].references["account"]
        ]
    finally:
        await first.close()
        await second.close()
