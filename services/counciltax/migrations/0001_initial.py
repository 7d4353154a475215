"""The counciltax store as it was when its schema began to be migrated.

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
        "ctax_accounts",
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("property_key", sa.String(length=400), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("adults", sa.Integer(), nullable=True),
        sa.Column("discount_percent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("reference"),
    )
    op.create_index(
        "ix_ctax_accounts_property", "ctax_accounts", ["property_key", "closed_on"], unique=False
    )
    op.create_table(
        "ctax_actions",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=72), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("refs", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "step", "subject", name="pk_ctax_actions"),
    )
    op.create_table(
        "ctax_journal",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=72), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("table_name", sa.String(length=128), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("undone", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "step", "subject", "seq", name="pk_ctax_journal"),
    )
    op.create_table(
        "ctax_contacts",
        sa.Column("account", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account"],
            ["ctax_accounts.reference"],
        ),
        sa.PrimaryKeyConstraint("account"),
    )
    op.create_table(
        "ctax_discounts",
        sa.Column("account", sa.String(length=20), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account"],
            ["ctax_accounts.reference"],
        ),
        sa.PrimaryKeyConstraint("account", "starts_on", name="pk_ctax_discounts"),
    )
    op.create_table(
        "ctax_exemptions",
        sa.Column("account", sa.String(length=20), nullable=False),
        sa.Column("exemption_class", sa.String(length=4), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account"],
            ["ctax_accounts.reference"],
        ),
        sa.PrimaryKeyConstraint("account"),
    )
    op.create_table(
        "ctax_liability_ends",
        sa.Column("account", sa.String(length=20), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["account"],
            ["ctax_accounts.reference"],
        ),
        sa.PrimaryKeyConstraint("account", "resident", name="pk_ctax_liability_ends"),
    )
    op.create_table(
        "ctax_liable",
        sa.Column("account", sa.String(length=20), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account"],
            ["ctax_accounts.reference"],
        ),
        sa.PrimaryKeyConstraint("account", "resident", name="pk_ctax_liable"),
    )


def downgrade() -> None:
    op.drop_table("ctax_liable")
    op.drop_table("ctax_liability_ends")
    op.drop_table("ctax_exemptions")
    op.drop_table("ctax_discounts")
    op.drop_table("ctax_contacts")
    op.drop_table("ctax_journal")
    op.drop_table("ctax_actions")
    op.drop_index("ix_ctax_accounts_property", table_name="ctax_accounts")
    op.drop_table("ctax_accounts")
