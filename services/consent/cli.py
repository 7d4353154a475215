"""`lifeevents ledger`: check the data-use ledger's hash chain."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer

from services.common.database import make_engine, store_at
from services.consent.ledger import Verification, verify_ledger
from services.consent.settings import ConsentSettings

__all__ = ["ledger_app"]

ledger_app = typer.Typer(help="The consent ledger.", no_args_is_help=True)


async def _verify(url: str) -> Verification:
    engine = make_engine(url)
    try:
        with store_at(url):
            return await verify_ledger(engine)
    finally:
        await engine.dispose()


@ledger_app.command("verify")
def verify(
    database_url: Annotated[
        str | None,
        typer.Option(help="The consent store (default: LIFEEVENTS_CONSENT_DATABASE_URL)."),
    ] = None,
) -> None:
    """Walk the hash chain; name the first altered, removed, inserted or reordered entry."""
    url = database_url or ConsentSettings().database_url("consent")
    started = time.perf_counter()
    result = asyncio.run(_verify(url))
    took = time.perf_counter() - started
    if result.ok:
        typer.echo(
            f"ledger verified: {result.entries} entries, head {result.head_hash[:16]}… "
            f"({took:.2f} s)"
        )
        return
    typer.secho(
        f"ledger broken at entry {result.first_bad_seq}: {result.problem} — {result.detail}",
        err=True,
        fg=typer.colors.RED,
    )
    raise typer.Exit(1)
