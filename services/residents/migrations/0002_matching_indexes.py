"""Matching's indexes: namesakes born on a day, and the full-name look-up that replaces the
family-name one.

A store made by `create_all` before there were migrations may have either set (it depends on
the code that made it); both are stamped at 0001, so this revision makes what is missing and
drops what is not wanted, whichever it finds.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    op.create_index(
        "ix_residents_date_of_birth", "residents", ["date_of_birth"], if_not_exists=True
    )
    op.create_index(
        "ix_resident_names_full", "resident_names", ["family_key", "given_key"], if_not_exists=True
    )
    op.drop_index("ix_resident_names_family", table_name="resident_names", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_resident_names_family", "resident_names", ["family_key"])
    op.drop_index("ix_resident_names_full", table_name="resident_names")
    op.drop_index("ix_residents_date_of_birth", table_name="residents")
