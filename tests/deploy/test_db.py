"""`lifeevents db draft`: a developer's draft of a store's next revision, from the difference
between its migrations and its code's tables."""

from __future__ import annotations

from sqlalchemy import Column, Index, MetaData, Text

from deploy.db import STORES, draft, migrations_of
from services.common.migrations import Migrations


def test_there_is_nothing_to_draft_while_every_store_agrees_with_its_migrations() -> None:
    assert {owner: draft(migrations_of(owner)) for owner in STORES} == dict.fromkeys(STORES, "")


def test_a_change_to_a_stores_tables_is_drafted_in_batch_mode_for_sqlite() -> None:
    intake = migrations_of("intake")
    changed = MetaData()
    for table in intake.metadata[0].sorted_tables:
        table.to_metadata(changed)
    letters = changed.tables["intake_dead_letters"]
    letters.append_column(Column("note", Text, nullable=True))
    Index("ix_intake_dead_letters_reason", letters.c.reason)

    drafted = draft(Migrations(intake.owner, intake.folder, (changed,)))

    assert "with op.batch_alter_table('intake_dead_letters'" in drafted
    assert "batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))" in drafted
    assert "batch_op.create_index('ix_intake_dead_letters_reason', ['reason']" in drafted
