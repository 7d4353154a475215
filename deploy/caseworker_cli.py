"""`lifeevents caseworker`: caseworker accounts for the console, in the portal's database.

    lifeevents caseworker add a.caseworker --name "Alex Caseworker"        # asks twice
    printf '%s\\n' "$PASSWORD" | lifeevents caseworker add a.caseworker --name "…" --password-stdin
    lifeevents caseworker disable a.caseworker    # signs in no more (its claims stay)
    lifeevents caseworker enable a.caseworker

The password never appears on the command line (where `ps` and shell history would keep
it): it is asked for, hidden, or read from standard input.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, NoReturn

import typer

from services.common.database import make_engine, store_at
from services.common.logging import configure_logging
from services.portal.caseworkers import (
    MIN_PASSWORD_LENGTH,
    AccountExists,
    Caseworker,
    Caseworkers,
    InvalidAccount,
)
from services.portal.security import portal_key
from services.portal.settings import PortalSettings

__all__ = ["caseworker_app"]

caseworker_app = typer.Typer(help="Caseworker accounts for the console.", no_args_is_help=True)

_INVALID = {
    "username": "A username is 2 to 64 characters: lower-case letters, digits, '.', '_' or '-'.",
    "display_name": "Give a name of 1 to 100 characters with --name.",
    "password_too_short": f"The password must be at least {MIN_PASSWORD_LENGTH} characters.",
    "password_too_long": "The password must be at most 1024 characters.",
}


def _fail(message: str) -> NoReturn:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(1)


def _settings() -> PortalSettings:
    settings = PortalSettings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


async def _add(settings: PortalSettings, username: str, name: str, password: str) -> Caseworker:
    url = settings.database_url("portal")
    engine = make_engine(url)
    try:
        caseworkers = Caseworkers(engine, portal_key(settings))
        with store_at(url):
            await caseworkers.create_tables()
            return await caseworkers.add(username, name, password)
    finally:
        await engine.dispose()


async def _set_active(settings: PortalSettings, username: str, active: bool) -> bool:
    url = settings.database_url("portal")
    engine = make_engine(url)
    try:
        caseworkers = Caseworkers(engine, portal_key(settings))
        with store_at(url):
            await caseworkers.create_tables()
            return await caseworkers.set_active(username, active)
    finally:
        await engine.dispose()


@caseworker_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="What they sign in with, e.g. a.caseworker.")],
    name: Annotated[str, typer.Option("--name", help="Their name, as the console shows it.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add a caseworker account (active at once)."""
    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        added = asyncio.run(_add(settings, username, name, password))
    except AccountExists:
        _fail("A caseworker with that username exists already.")
    except InvalidAccount as error:
        _fail(_INVALID.get(str(error), "That account cannot be made."))
    typer.echo(f"Added caseworker {added.username} ({added.id}).")


@caseworker_app.command("disable")
def disable(username: Annotated[str, typer.Argument()]) -> None:
    """Stop an account signing in."""
    if not asyncio.run(_set_active(_settings(), username, False)):
        _fail("No caseworker has that username.")
    typer.echo("Disabled.")


@caseworker_app.command("enable")
def enable(username: Annotated[str, typer.Argument()]) -> None:
    """Let a disabled account sign in again."""
    if not asyncio.run(_set_active(_settings(), username, True)):
        _fail("No caseworker has that username.")
    typer.echo("Enabled.")
