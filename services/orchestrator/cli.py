"""`lifeevents dlq`: list dead-lettered life events and re-publish chosen ones after a fix."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from contracts.topics import (
    DLQ_ATTEMPTS_HEADER,
    DLQ_ORIGINAL_OFFSET_HEADER,
    DLQ_ORIGINAL_PARTITION_HEADER,
    DLQ_ORIGINAL_TOPIC_HEADER,
    DLQ_REASON_HEADER,
)
from services.common.kafka import kafka_access
from services.common.settings import Settings
from services.orchestrator.deadletter import DLQ_VIOLATIONS_HEADER
from services.orchestrator.dlq import read_dead_letters, republish

__all__ = ["dlq_app"]

dlq_app = typer.Typer(help="Dead-lettered life events.", no_args_is_help=True)


@dlq_app.command("list")
def list_dead_letters() -> None:
    """Each dead letter: its ref, why, and where it came from (no personal data)."""
    settings = Settings()
    letters = asyncio.run(read_dead_letters(kafka_access(settings), settings.life_events_dlq_topic))
    if not letters:
        typer.echo("The dead-letter topic is empty.")
        return
    for d in letters:
        origin = (
            f"{d.header(DLQ_ORIGINAL_TOPIC_HEADER)}/{d.header(DLQ_ORIGINAL_PARTITION_HEADER)}"
            f"@{d.header(DLQ_ORIGINAL_OFFSET_HEADER)}"
        )
        typer.echo(
            f"{d.ref:<8} {d.header(DLQ_REASON_HEADER):<20} attempts={d.header(DLQ_ATTEMPTS_HEADER)}"
            f"  from {origin}  type={d.header('ce_type') or '-'}"
            f"  source={d.header('ce_source') or '-'}  id={d.header('ce_id') or '-'}"
        )
        if violations := d.header(DLQ_VIOLATIONS_HEADER):
            typer.echo(f"{'':<8} {violations.replace(';', '; ')}")


@dlq_app.command("republish")
def republish_dead_letters(
    refs: Annotated[
        list[str], typer.Argument(help="Dead letters to re-publish, as partition:offset.")
    ],
) -> None:
    """Put chosen dead letters back on their original topic, as they first arrived."""
    settings = Settings()
    bootstrap = kafka_access(settings)
    read = read_dead_letters(bootstrap, settings.life_events_dlq_topic)
    letters = {d.ref: d for d in asyncio.run(read)}
    unknown = [ref for ref in refs if ref not in letters]
    if unknown:
        typer.secho(f"No such dead letter: {', '.join(unknown)}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    sent = asyncio.run(republish(bootstrap, (letters[ref] for ref in refs)))
    typer.echo(f"Re-published {sent} record(s).")
