"""The partners store as it was when its schema began to be migrated.

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
        "partner_actions",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=72), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("refs", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "step", "subject", name="pk_partner_actions"),
    )
    op.create_table(
        "partner_journal",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=72), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("table_name", sa.String(length=128), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("undone", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "step", "subject", "seq", name="pk_partner_journal"),
    )
    op.create_table(
        "partner_notices",
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("organisation", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reference"),
    )


def downgrade() -> None:
    op.drop_table("partner_notices")
    op.drop_table("partner_journal")
    op.drop_table("partner_actions")
