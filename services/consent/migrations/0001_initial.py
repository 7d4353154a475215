"""The consent store as it was when its schema began to be migrated.

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
        "caseworker_actions",
        sa.Column("action_id", sa.String(length=40), nullable=False),
        sa.Column("caseworker", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("task", sa.String(length=200), nullable=False),
        sa.Column("residents", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("action_id"),
    )
    op.create_index(
        "ix_caseworker_actions_workflow",
        "caseworker_actions",
        ["workflow_id", "task"],
        unique=False,
    )
    op.create_table(
        "consents",
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("controller", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("special_category", sa.Boolean(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notice_version", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("consent_id"),
    )
    op.create_index(
        "ix_consents_lookup",
        "consents",
        ["resident", "purpose", "recipient", "given_at"],
        unique=False,
    )
    op.create_table(
        "death_withdrawals",
        sa.Column("death_id", sa.String(length=40), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("undone_by", sa.String(length=255), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("death_id"),
    )
    op.create_index(
        "ix_death_withdrawals_workflow", "death_withdrawals", ["workflow_id"], unique=False
    )
    op.create_table(
        "deaths",
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("date_of_death", sa.Date(), nullable=False),
        sa.Column("death_id", sa.String(length=40), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("resident"),
    )
    op.create_table(
        "grants",
        sa.Column("decision_id", sa.String(length=40), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=True),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision_seq", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("share_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    op.create_index("ix_grants_consent", "grants", ["consent_id"], unique=False)
    op.create_table(
        "ledger",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("basis", sa.String(length=20), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_ledger_resident", "ledger", ["resident", "seq"], unique=False)
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "objections",
        sa.Column("objection_id", sa.String(length=40), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("objection_id"),
    )
    op.create_index("ix_objections_lookup", "objections", ["resident", "purpose"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_pending", "outbox", ["published_at", "id"], unique=False)
    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consents.consent_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_events_consent", "consent_events", ["consent_id"], unique=False)
    op.create_table(
        "informant_consents",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consents.consent_id"],
        ),
        sa.PrimaryKeyConstraint("workflow_id", "step", "recipient", name="pk_informant_consents"),
    )


def downgrade() -> None:
    op.drop_table("informant_consents")
    op.drop_index("ix_consent_events_consent", table_name="consent_events")
    op.drop_table("consent_events")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_objections_lookup", table_name="objections")
    op.drop_table("objections")
    op.drop_table("ledger_head")
    op.drop_index("ix_ledger_resident", table_name="ledger")
    op.drop_table("ledger")
    op.drop_index("ix_grants_consent", table_name="grants")
    op.drop_table("grants")
    op.drop_table("deaths")
    op.drop_index("ix_death_withdrawals_workflow", table_name="death_withdrawals")
    op.drop_table("death_withdrawals")
    op.drop_index("ix_consents_lookup", table_name="consents")
    op.drop_table("consents")
    op.drop_index("ix_caseworker_actions_workflow", table_name="caseworker_actions")
    op.drop_table("caseworker_actions")
