"""The intake store as it was when its schema began to be migrated.

A store made before then, by `create_all`, has exactly these tables and is stamped at this
revision rather than made again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None


def upgrade() -> None:
    op.create_table(
        "intake_accepted_events",
        sa.Column("source", sa.String(length=256), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "event_id"),
    )
    op.create_table(
        "intake_api_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=256), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_index(op.f("ix_intake_api_keys_source"), "intake_api_keys", ["source"], unique=False)
    op.create_table(
        "intake_dead_letters",
        sa.Column("source", sa.String(length=256), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "event_id"),
    )


def downgrade() -> None:
    op.drop_table("intake_dead_letters")
    op.drop_index(op.f("ix_intake_api_keys_source"), table_name="intake_api_keys")
    op.drop_table("intake_api_keys")
    op.drop_table("intake_accepted_events")
