"""`lifeevents db`: every store's schema, brought to the code's or shown.

    lifeevents db upgrade                      # every store the settings name, to head
    lifeevents db upgrade --service consent    # one store
    lifeevents db current                      # where each store is; exit 1 if one is behind
    lifeevents db draft --service residents    # a developer's draft of the next revision

A production deployment runs `lifeevents db upgrade` once per release, before the services
start (a Kubernetes Job, a release step), with LIFEEVENTS_DB_MIGRATE_ON_START=false so that
a service never changes a schema and refuses a store that is not at its revision. The
embedded default leaves that setting true: each process migrates what it opens, and
`lifeevents run` migrates every store before it starts the services.

A store's URL is shown without its password.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import make_url

from services.benefits.store import BenefitStore
from services.common.database import Store, StoreUnusable, UtcDateTime, make_engine, store_at
from services.common.logging import configure_logging
from services.common.migrations import Migrations
from services.common.settings import STORE_OWNERS, Settings, StoreOwner
from services.consent.store import ConsentStore
from services.counciltax.store import CouncilTaxStore
from services.electoral.store import ElectoralStore
from services.intake.store import IntakeStore
from services.notifications.store import NotificationStore
from services.partners.store import PartnerStore
from services.portal.store import PortalStore
from services.registers.store import RegistersStore
from services.residents.store import ResidentStore
from services.schools.store import SchoolStore

__all__ = [
    "STORES",
    "StoreRevision",
    "current",
    "db_app",
    "draft",
    "migrations_of",
    "upgrade",
    "upgrade_before_run",
]

STORES: Mapping[StoreOwner, type[Store]] = {
    "consent": ConsentStore,
    "intake": IntakeStore,
    "residents": ResidentStore,
    "counciltax": CouncilTaxStore,
    "electoral": ElectoralStore,
    "schools": SchoolStore,
    "benefits": BenefitStore,
    "registers": RegistersStore,
    "partners": PartnerStore,
    "notifications": NotificationStore,
    "portal": PortalStore,
}


@dataclass(frozen=True)
class StoreRevision:
    owner: StoreOwner
    where: str  # the URL without its password
    revision: str | None  # None: no schema yet (or no store at all)
    head: str

    @property
    def behind(self) -> bool:
        """Behind this release's head: its services would refuse it (or migrate it)."""
        if self.revision is None:
            return True
        return self.revision != self.head and migrations_of(self.owner).knows(self.revision)

    def line(self) -> str:
        if self.revision == self.head:
            state = "head"
        elif self.behind:
            state = f"head is {self.head}: run lifeevents db upgrade"
        else:  # a newer release's: this one, rolled back to, uses it as it is
            state = f"newer than this release's {self.head}: left as it is"
        return f"{self.owner:<14} {self.revision or 'none':<5} ({state})  {self.where}"


def migrations_of(owner: StoreOwner) -> Migrations:
    migrations = STORES[owner].migrations
    if migrations is None:
        raise RuntimeError(f"the {owner} store has no migrations")
    return migrations


def _where(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def upgrade(
    settings: Settings, owners: Iterable[StoreOwner] = STORE_OWNERS
) -> list[StoreRevision]:
    """Bring each store to its head revision, one after another, as the services would on
    opening it (and with the rows a new store starts with)."""
    done = []
    for owner in owners:
        url = settings.database_url(owner)
        async with await STORES[owner].open(url, migrate=True) as store:
            revision = await store.revision()
        done.append(StoreRevision(owner, _where(url), revision, migrations_of(owner).head))
    return done


async def current(
    settings: Settings, owners: Iterable[StoreOwner] = STORE_OWNERS
) -> list[StoreRevision]:
    """Where each store is, changing nothing (a SQLite file that is not there stays so)."""
    found = []
    for owner in owners:
        url = settings.database_url(owner)
        migrations = migrations_of(owner)
        revision = await _revision(url, migrations)
        found.append(StoreRevision(owner, _where(url), revision, migrations.head))
    return found


def _no_file(url: str) -> bool:
    parsed = make_url(url)
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in {None, ":memory:"}
    return on_disk and not Path(str(parsed.database)).exists()


async def _revision(url: str, migrations: Migrations) -> str | None:
    if _no_file(url):  # opening it would make it
        return None
    engine = make_engine(url)
    try:
        with store_at(url):
            async with engine.connect() as conn:
                return await conn.run_sync(migrations.current)
    finally:
        await engine.dispose()


def draft(migrations: Migrations) -> str:
    """The next revision's `upgrade()` body, drafted by Alembic's autogenerate: what would
    bring a store at head to the code's tables; empty when they agree. A draft to review:
    autogenerate sees a renamed column as one dropped and one added, and compares here on
    SQLite, in batch mode (what SQLite needs for most changes, and PostgreSQL runs as plain
    ALTER TABLE)."""
    expected = MetaData()
    for table in (t for metadata in migrations.metadata for t in metadata.sorted_tables):
        table.to_metadata(expected)
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            migrations.upgrade(conn)
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_name": lambda name, kind, _parents: (
                        not (kind == "table" and name == migrations.version_table)
                    ),
                    "render_as_batch": True,
                },
            )
            ops = produce_migrations(context, expected).upgrade_ops
            if ops is None or ops.is_empty():
                return ""
            return render_python_code(
                ops, render_as_batch=True, render_item=_render_item, migration_context=context
            )
    finally:
        engine.dispose()


def _render_item(kind: str, item: Any, _context: Any) -> str | Literal[False]:
    # A revision stays as it was written whatever the code's types become: the column type
    # `UtcDateTime` stores, not the code's class.
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


db_app = typer.Typer(help="The services' stores: their schema migrations.", no_args_is_help=True)

_Service = Annotated[
    list[str] | None,
    typer.Option(
        "--service",
        help=f"Only this service's store (repeat for more): {', '.join(STORE_OWNERS)}.",
        show_default=False,
    ),
]


def _owners(services: list[str] | None) -> list[StoreOwner]:
    if not services:
        return list(STORE_OWNERS)
    unknown = [s for s in services if s not in STORE_OWNERS]
    if unknown:
        typer.secho(
            f"No store named {', '.join(unknown)}; the stores are {', '.join(STORE_OWNERS)}.",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(2)
    return [o for o in STORE_OWNERS if o in services]


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


@db_app.command("upgrade")
def upgrade_command(service: _Service = None) -> None:
    """Bring every store (or those named) to the code's schema, and say where each is."""
    for store in asyncio.run(upgrade(_settings(), _owners(service))):
        typer.echo(store.line())


@db_app.command("current")
def current_command(service: _Service = None) -> None:
    """Say which schema revision each store is at; exit 1 if one is behind the code's."""
    stores = asyncio.run(current(_settings(), _owners(service)))
    for store in stores:
        typer.echo(store.line())
    if any(store.behind for store in stores):
        raise typer.Exit(1)


def upgrade_before_run(settings: Settings) -> str:
    """For `lifeevents run` (with LIFEEVENTS_DB_MIGRATE_ON_START): every store migrated here,
    once, before the services start, rather than by services starting together and waiting
    on each other's migration. What it did, in a line; a store that cannot be used is left
    for its service to say, as it starts."""
    try:
        stores = asyncio.run(upgrade(settings))
    except StoreUnusable as error:
        return f"stores: not migrated ({error})"
    return f"stores: {len(stores)} at the code's schema"


@db_app.command("draft")
def draft_command(
    service: Annotated[str, typer.Option("--service", help="The store whose code changed.")],
) -> None:
    """Print a draft of a store's next revision, for a change to its tables: review it and
    save it as services/<service>/migrations/<NNNN>_<what>.py with `revision` and
    `down_revision` set."""
    (owner,) = _owners([service])
    body = draft(migrations_of(owner))
    if not body:
        typer.echo(f"The {owner} store's tables and its migrations agree: nothing to draft.")
        return
    typer.echo(body)
