"""The registers store as it was when its schema began to be migrated.

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
        "reg_actions",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=72), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("refs", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "step", "subject", name="pk_reg_actions"),
    )
    op.create_table(
        "reg_assisted_collections",
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("property_key", sa.String(length=400), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("changed_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("reference"),
    )
    op.create_index(
        "ix_reg_assisted_collections_resident",
        "reg_assisted_collections",
        ["resident", "property_key", "status"],
        unique=False,
    )
    op.create_table(
        "reg_blue_badges",
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("return_requested", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("reference"),
    )
    op.create_index(
        "ix_reg_blue_badges_resident", "reg_blue_badges", ["resident", "cancelled_on"], unique=False
    )
    op.create_table(
        "reg_journal",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=72), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("table_name", sa.String(length=128), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("undone", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "step", "subject", "seq", name="pk_reg_journal"),
    )
    op.create_table(
        "reg_library_cards",
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("resident", sa.String(length=72), nullable=False),
        sa.Column("charges_pence", sa.Integer(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("waived_pence", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("reference"),
    )
    op.create_index(
        "ix_reg_library_cards_resident",
        "reg_library_cards",
        ["resident", "closed_on"],
        unique=False,
    )
    op.create_table(
        "reg_parking_permits",
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("holder", sa.String(length=72), nullable=False),
        sa.Column("property_key", sa.String(length=400), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("transferred_from", sa.String(length=72), nullable=True),
        sa.Column("transferred_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("reference"),
    )
    op.create_index(
        "ix_reg_parking_permits_holder",
        "reg_parking_permits",
        ["holder", "property_key", "status"],
        unique=False,
    )
    op.create_table(
        "reg_junior_cards",
        sa.Column("card", sa.String(length=20), nullable=False),
        sa.Column("responsible_adult", sa.String(length=72), nullable=True),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["card"],
            ["reg_library_cards.reference"],
        ),
        sa.PrimaryKeyConstraint("card"),
    )


def downgrade() -> None:
    op.drop_table("reg_junior_cards")
    op.drop_index("ix_reg_parking_permits_holder", table_name="reg_parking_permits")
    op.drop_table("reg_parking_permits")
    op.drop_index("ix_reg_library_cards_resident", table_name="reg_library_cards")
    op.drop_table("reg_library_cards")
    op.drop_table("reg_journal")
    op.drop_index("ix_reg_blue_badges_resident", table_name="reg_blue_badges")
    op.drop_table("reg_blue_badges")
    op.drop_index("ix_reg_assisted_collections_resident", table_name="reg_assisted_collections")
    op.drop_table("reg_assisted_collections")
    op.drop_table("reg_actions")
