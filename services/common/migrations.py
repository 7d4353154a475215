"""Each store's schema history, run by Alembic: what `Store.open` and `lifeevents db upgrade`
bring a database to.

A store's revisions live beside it, in `services/<owner>/migrations/` (`0001_initial.py`…,
each an ordinary Alembic revision using `op`). Its version is kept in a table of its own,
`alembic_version_<owner>`, not the usual `alembic_version`: a council may put several
stores, or all of them, in one PostgreSQL database (as the embedded default may put them in
one SQLite file), and each store's history must still be its own.

No `alembic.ini` or `env.py`: the revisions are run here on the connection the store was
opened with, so they run the same from a service starting, the command line and the tests.
A new revision: `lifeevents db draft --service <owner>` drafts it from the difference between
the revisions and the code's tables; save it as `<NNNN>_<what>.py` with `revision` and
`down_revision`, and tests/services/common/test_migrations.py checks that the revisions make
exactly the code's schema, on SQLite and PostgreSQL. A revision that alters a table uses
`op.batch_alter_table`, which SQLite needs for most changes and PostgreSQL runs as plain
`ALTER TABLE`. A revision keeps the release before it working on the schema it leaves (add
now, drop what the old code still reads only in a later release): during a rollout both
releases run, and a release rolled back to uses a store a newer one migrated as it is.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext, RevisionStep
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, MetaData, inspect, text

__all__ = ["Migrations"]

# The standard library's logger, not structlog's: a command whose output is its answer (an
# API key on stdout) must not have this line on stdout where logging is not configured.
log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Migrations:
    """One store's schema history: `owner` names its version table, `folder` holds its
    revisions, and `metadata` is the schema the code expects once they have all run."""

    owner: str
    folder: Path
    metadata: tuple[MetaData, ...] = field(default=())

    @classmethod
    def beside(cls, module_file: str, owner: str, *metadata: MetaData) -> Migrations:
        """The history in the `migrations` folder beside a store's module."""
        return cls(owner, Path(module_file).with_name("migrations"), metadata)

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.owner}"

    @cached_property
    def script(self) -> ScriptDirectory:
        # Read once per process: the revision files are parsed here, not on every open.
        return ScriptDirectory(str(self.folder), version_locations=[str(self.folder)])

    @cached_property
    def head(self) -> str:
        head = self.script.get_current_head()
        if head is None:
            raise RuntimeError(f"no revisions in {self.folder}")
        return head

    @cached_property
    def initial(self) -> str:
        """The first revision: the schema every store had before there were migrations."""
        (base,) = self.script.get_bases()
        return base

    @cached_property
    def tables(self) -> frozenset[str]:
        return frozenset(name for metadata in self.metadata for name in metadata.tables)

    def knows(self, revision: str) -> bool:
        """Whether `revision` is one of this history's (a newer release's is not)."""
        try:
            return self.script.get_revision(revision) is not None
        except CommandError:
            return False

    def current(self, connection: Connection) -> str | None:
        """The revision the database on `connection` is at; None if it has none."""
        _quiet_alembic()
        return self._context(connection).get_current_revision()

    def upgrade(self, connection: Connection) -> str:
        """Bring the store on `connection` to the head revision; the revision it is then at.
        A store at a revision this history does not know (a newer release migrated it, and
        this one was rolled back to) is left as it is.

        A store made before there were migrations (its tables there, no version table) is
        stamped at the initial revision, which is the schema it was made with, and the later
        revisions run from there: its rows stay. On PostgreSQL, processes starting together
        take turns (an advisory lock held to the end of the transaction) and the later ones
        find the work done."""
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": self._lock_key})
        _quiet_alembic()
        context = self._context(connection, fn=self._to_head)
        was = context.get_current_revision()
        if was is not None and not self.knows(was):
            return was
        if was is None and self._has_tables(connection):
            context.stamp(self.script, self.initial)
            log.info("store.stamped", extra={"store": self.owner, "revision": self.initial})
            was = self.initial
        if was != self.head:
            with Operations.context(context):
                context.run_migrations()
            log.info(
                "store.migrated", extra={"store": self.owner, "revision": self.head, "was": was}
            )
        return self.head

    def _to_head(
        self, heads: tuple[str, ...], _context: MigrationContext
    ) -> Iterable[RevisionStep]:
        # As `alembic upgrade head` does (alembic.command.upgrade), which passes the heads
        # tuple where the annotation says one revision.
        return self.script._upgrade_revs("head", heads)  # type: ignore[arg-type]

    def _context(self, connection: Connection, **opts: Any) -> MigrationContext:
        return MigrationContext.configure(
            connection, opts={"version_table": self.version_table, **opts}
        )

    def _has_tables(self, connection: Connection) -> bool:
        return not self.tables.isdisjoint(inspect(connection).get_table_names())

    @cached_property
    def _lock_key(self) -> int:
        # A stable 32-bit number per store (PostgreSQL advisory locks are keyed by integer).
        return zlib.crc32(self.version_table.encode())


def _quiet_alembic() -> None:
    """Alembic says at INFO which dialect it found, twice on every open; what a migration
    did is logged above, once, as this project logs."""
    logger = logging.getLogger("alembic")
    if logger.level < logging.WARNING:  # NOTSET too: the root's level must not reach it
        logger.setLevel(logging.WARNING)
