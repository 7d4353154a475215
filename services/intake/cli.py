"""`lifeevents keys`: issue, revoke and list the intake API's keys for source systems.

A key is printed once, when it is issued; `list` never prints keys or their hashes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from services.intake.keys import ApiKey, ApiKeys, IssuedKey
from services.intake.settings import IntakeSettings
from services.intake.store import IntakeStore

__all__ = ["keys_app"]

T = TypeVar("T")

keys_app = typer.Typer(
    help="API keys of the intake API, one per source system.", no_args_is_help=True
)


def _with_keys(action: Callable[[ApiKeys], Awaitable[T]]) -> T:
    async def run() -> T:
        async with await IntakeStore.open(IntakeSettings().database_url("intake")) as store:
            return await action(ApiKeys(store))

    return asyncio.run(run())


@keys_app.command("issue")
def issue(
    source: Annotated[
        str, typer.Option(help="The CloudEvent `source` the key may send as, e.g. /housing/x.")
    ],
    event_type: Annotated[
        list[str],
        typer.Option("--type", help="An event type the key may send (repeat for more)."),
    ],
) -> None:
    """Issue a key for one source system; the key is printed once and cannot be shown again."""
    try:
        issued: IssuedKey = _with_keys(lambda keys: keys.issue(source, event_type))
    except ValueError as error:
        typer.secho(str(error), err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    typer.echo(f"key id: {issued.key.key_id}", err=True)
    typer.echo(f"source: {issued.key.source}", err=True)
    typer.echo(f"types:  {', '.join(sorted(issued.key.event_types))}", err=True)
    typer.echo("The key follows. It is shown only now: store it in the source system.", err=True)
    typer.echo(issued.secret)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id, as `keys list` shows.")],
) -> None:
    """Revoke a key: every request with it is refused from now on."""
    if not _with_keys(lambda keys: keys.revoke(key_id)):
        typer.secho(f"No live key with id {key_id}.", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)
    typer.echo(f"Revoked {key_id}.")


@keys_app.command("list")
def list_keys() -> None:
    """Every key: id, source, types, when issued and whether revoked (never the key itself)."""
    keys: list[ApiKey] = _with_keys(lambda keys: keys.list())
    if not keys:
        typer.echo("No keys have been issued.")
        return
    for key in keys:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "live"
        typer.echo(
            f"{key.key_id}  {state:<22} issued {key.created_at:%Y-%m-%d %H:%M}  "
            f"source={key.source}  types={','.join(sorted(key.event_types))}"
        )
