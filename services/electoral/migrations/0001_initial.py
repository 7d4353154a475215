"""The electoral store as it was when its schema began to be migrated.

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
        "electoral_actions",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=72), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("refs", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "step", "subject", name="pk_electoral_actions"),
    )
    op.create_table(
        "electoral_invitations",
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("resident_since", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("reference"),
    )
    op.create_table(
        "electoral_journal",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=72), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("table_name", sa.String(length=128), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("undone", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "workflow_id", "step", "subject", "seq", name="pk_electoral_journal"
        ),
    )
    op.create_table(
        "electoral_register",
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("entered_on", sa.Date(), nullable=True),
        sa.Column("removed_on", sa.Date(), nullable=True),
        sa.Column("removal_reason", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("reference"),
    )
    op.create_index(
        "ix_electoral_register_resident",
        "electoral_register",
        ["resident", "removed_on"],
        unique=False,
    )
    op.create_table(
        "electoral_removals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("electoral_removals")
    op.drop_index("ix_electoral_register_resident", table_name="electoral_register")
    op.drop_table("electoral_register")
    op.drop_table("electoral_journal")
    op.drop_table("electoral_invitations")
    op.drop_table("electoral_actions")
