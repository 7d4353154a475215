"""The portal store as it was when its schema began to be migrated.

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
        "portal_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=24), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_portal_attempts_lookup", "portal_attempts", ["scope", "key_hash", "at"], unique=False
    )
    op.create_table(
        "portal_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(
        "ix_portal_sessions_subject", "portal_sessions", ["role", "subject"], unique=False
    )
    op.create_table(
        "portal_signins",
        sa.Column("signin_hash", sa.String(length=64), nullable=False),
        sa.Column("contact_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("signin_hash"),
    )
    op.create_index("ix_portal_signins_expires", "portal_signins", ["expires_at"], unique=False)
    op.create_table(
        "caseworker_accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "caseworker_signin_failures",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("scope", "key_hash", name="pk_caseworker_signin_failures"),
    )
    op.create_table(
        "caseworker_claims",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("task", sa.String(length=200), nullable=False),
        sa.Column("caseworker", sa.String(length=40), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["caseworker"],
            ["caseworker_accounts.id"],
        ),
        sa.PrimaryKeyConstraint("workflow_id", "task", name="pk_caseworker_claims"),
    )


def downgrade() -> None:
    op.drop_table("caseworker_claims")
    op.drop_table("caseworker_signin_failures")
    op.drop_table("caseworker_accounts")
    op.drop_index("ix_portal_signins_expires", table_name="portal_signins")
    op.drop_table("portal_signins")
    op.drop_index("ix_portal_sessions_subject", table_name="portal_sessions")
    op.drop_table("portal_sessions")
    op.drop_index("ix_portal_attempts_lookup", table_name="portal_attempts")
    op.drop_table("portal_attempts")
