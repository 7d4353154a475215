"""The benefits store as it was when its schema began to be migrated.

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
        "benefit_actions",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=72), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("refs", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "step", "subject", name="pk_benefit_actions"),
    )
    op.create_table(
        "benefit_claims",
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("reference"),
    )
    op.create_index(
        "ix_benefit_claims_resident", "benefit_claims", ["resident", "status"], unique=False
    )
    op.create_table(
        "benefit_journal",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=72), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("table_name", sa.String(length=128), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("undone", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "step", "subject", "seq", name="pk_benefit_journal"),
    )
    op.create_table(
        "benefit_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("claim", sa.String(length=20), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("new_address", sa.Text(), nullable=True),
        sa.Column("household_members", sa.Integer(), nullable=False),
        sa.Column("adults", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim"],
            ["benefit_claims.reference"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "benefit_claim_ends",
        sa.Column("claim", sa.String(length=20), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim"],
            ["benefit_claims.reference"],
        ),
        sa.PrimaryKeyConstraint("claim"),
    )
    op.create_table(
        "benefit_dependants",
        sa.Column("claim", sa.String(length=20), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim"],
            ["benefit_claims.reference"],
        ),
        sa.PrimaryKeyConstraint("claim", "resident", name="pk_benefit_dependants"),
    )
    op.create_index(
        "ix_benefit_dependants_resident", "benefit_dependants", ["resident"], unique=False
    )
    op.create_table(
        "benefit_reviews",
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("claim", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim"],
            ["benefit_claims.reference"],
        ),
        sa.PrimaryKeyConstraint("reference"),
    )
    op.create_index("ix_benefit_reviews_resident", "benefit_reviews", ["resident"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_benefit_reviews_resident", table_name="benefit_reviews")
    op.drop_table("benefit_reviews")
    op.drop_index("ix_benefit_dependants_resident", table_name="benefit_dependants")
    op.drop_table("benefit_dependants")
    op.drop_table("benefit_claim_ends")
    op.drop_table("benefit_changes")
    op.drop_table("benefit_journal")
    op.drop_index("ix_benefit_claims_resident", table_name="benefit_claims")
    op.drop_table("benefit_claims")
    op.drop_table("benefit_actions")
