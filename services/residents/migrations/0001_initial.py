"""The residents store as it was when its schema began to be migrated.

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
        "resident_change_journal",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=72), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_id", "step", "subject", name="uq_resident_change_journal"),
    )
    op.create_index(
        "ix_resident_change_journal_workflow",
        "resident_change_journal",
        ["workflow_id", "id"],
        unique=False,
    )
    op.create_table(
        "resident_index_lock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "resident_journal",
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
            "workflow_id", "step", "subject", "seq", name="pk_resident_journal"
        ),
    )
    op.create_table(
        "resident_match_requests",
        sa.Column("request", sa.String(length=400), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("request"),
    )
    op.create_table(
        "resident_reports",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("event_source", sa.String(length=256), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("new_address", sa.Text(), nullable=True),
        sa.Column("first_workflow", sa.String(length=255), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id"),
    )
    op.create_table(
        "resident_steps",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "step", "kind", name="pk_resident_steps"),
    )
    op.create_table(
        "residents",
        sa.Column("key", sa.String(length=72), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "resident_contacts",
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("portal_account", sa.Boolean(), nullable=False),
        sa.Column("channels", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident"],
            ["residents.key"],
        ),
        sa.PrimaryKeyConstraint("resident"),
    )
    op.create_table(
        "resident_flags",
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("flag", sa.String(length=32), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident"],
            ["residents.key"],
        ),
        sa.PrimaryKeyConstraint("resident", "flag", name="pk_resident_flags"),
    )
    op.create_table(
        "resident_identifiers",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=16), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident"],
            ["residents.key"],
        ),
        sa.PrimaryKeyConstraint("kind", "value", name="pk_resident_identifiers"),
        sa.UniqueConstraint("resident", "kind", name="uq_resident_identifier_kind"),
    )
    op.create_table(
        "resident_names",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("given_names", sa.Text(), nullable=True),
        sa.Column("family_name", sa.Text(), nullable=True),
        sa.Column("given_key", sa.Text(), nullable=False),
        sa.Column("family_key", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident"],
            ["residents.key"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("resident", "given_key", "family_key", name="uq_resident_names"),
    )
    op.create_index("ix_resident_names_family", "resident_names", ["family_key"], unique=False)
    op.create_table(
        "resident_residences",
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("lines", sa.Text(), nullable=True),
        sa.Column("town", sa.String(length=100), nullable=True),
        sa.Column("postcode", sa.String(length=8), nullable=True),
        sa.Column("uprn", sa.String(length=12), nullable=True),
        sa.Column("lines_key", sa.Text(), nullable=True),
        sa.Column("since", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident"],
            ["residents.key"],
        ),
        sa.PrimaryKeyConstraint("resident"),
    )
    op.create_index(
        "ix_resident_residences_postcode",
        "resident_residences",
        ["postcode", "lines_key"],
        unique=False,
    )
    op.create_index("ix_resident_residences_uprn", "resident_residences", ["uprn"], unique=False)
    op.create_table(
        "resident_step_residents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident"],
            ["residents.key"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "workflow_id", "step", "kind", "resident", name="uq_resident_step_residents"
        ),
    )
    op.create_index(
        "ix_resident_step_residents_resident",
        "resident_step_residents",
        ["resident", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_resident_step_residents_resident", table_name="resident_step_residents")
    op.drop_table("resident_step_residents")
    op.drop_index("ix_resident_residences_uprn", table_name="resident_residences")
    op.drop_index("ix_resident_residences_postcode", table_name="resident_residences")
    op.drop_table("resident_residences")
    op.drop_index("ix_resident_names_family", table_name="resident_names")
    op.drop_table("resident_names")
    op.drop_table("resident_identifiers")
    op.drop_table("resident_flags")
    op.drop_table("resident_contacts")
    op.drop_table("residents")
    op.drop_table("resident_steps")
    op.drop_table("resident_reports")
    op.drop_table("resident_match_requests")
    op.drop_table("resident_journal")
    op.drop_table("resident_index_lock")
    op.drop_index("ix_resident_change_journal_workflow", table_name="resident_change_journal")
    op.drop_table("resident_change_journal")
