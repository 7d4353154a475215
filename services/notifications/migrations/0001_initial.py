"""The notifications store as it was when its schema began to be migrated.

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
        "notification_actions",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=72), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("refs", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "step", "subject", name="pk_notification_actions"),
    )
    op.create_table(
        "notification_deceased",
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("resident"),
    )
    op.create_table(
        "notification_inbox",
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reference"),
    )
    op.create_index(
        "ix_notification_inbox_resident",
        "notification_inbox",
        ["resident", "created_at"],
        unique=False,
    )
    op.create_table(
        "notification_journal",
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
            "workflow_id", "step", "subject", "seq", name="pk_notification_journal"
        ),
    )
    op.create_table(
        "notification_messages",
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.Column("receipt", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reference", "channel"),
    )
    op.create_index(
        "ix_notification_messages_resident",
        "notification_messages",
        ["resident", "created_at"],
        unique=False,
    )
    op.create_table(
        "notification_preferences",
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("large_print", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("resident"),
    )


def downgrade() -> None:
    op.drop_table("notification_preferences")
    op.drop_index("ix_notification_messages_resident", table_name="notification_messages")
    op.drop_table("notification_messages")
    op.drop_table("notification_journal")
    op.drop_index("ix_notification_inbox_resident", table_name="notification_inbox")
    op.drop_table("notification_inbox")
    op.drop_table("notification_deceased")
    op.drop_table("notification_actions")
