"""The `lifeevents bench` command: its options, read into `runner.Options`."""

from __future__ import annotations

import asyncio
import re
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from deploy.bench.generator import Mix
from deploy.bench.runner import DOCS, Options, run

__all__ = ["bench", "duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600}


def duration(text: str) -> float:
    """`90s`, `30m`, `1h` or plain seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not found:
        raise typer.BadParameter(f"{text!r} is not a duration such as 90s, 30m or 1h")
    return float(found[1]) * _UNITS[found[2] or "s"]


def bench(
    burst: Annotated[int, typer.Option(help="Events of the mix published at once.")] = 100,
    steady_seconds: Annotated[
        float, typer.Option(help="How long the steady phase publishes.")
    ] = 120.0,
    rate: Annotated[
        float | None,
        typer.Option(
            help="Events/s of the steady phase or the soak. Default (steady): half "
            "the burst's capacity."
        ),
    ] = None,
    moves: Annotated[float, typer.Option(help="Share of moves among new life events.")] = 0.6,
    deaths: Annotated[float, typer.Option(help="Share of deaths among new life events.")] = 0.2,
    births: Annotated[float, typer.Option(help="Share of births among new life events.")] = 0.2,
    duplicates: Annotated[
        float,
        typer.Option(
            help="Share of what is published that repeats an event: half re-sent "
            "(same id), half the same fact from another source (new id)."
        ),
    ] = 0.1,
    invalid: Annotated[
        float, typer.Option(help="Share of invalid events (dead-lettered, or refused).")
    ] = 0.05,
    intake: Annotated[
        float, typer.Option(help="Share sent through the intake API rather than to Kafka.")
    ] = 0.25,
    soak: Annotated[
        str | None,
        typer.Option(
            help="Instead of burst and steady: the mix at --rate for this long "
            "(e.g. 30m), memory of every process sampled each minute."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="The mix's random seed.")] = 14,
    docs: Annotated[
        Path | None, typer.Option(help="Where the report is written; --no-docs: nowhere.")
    ] = DOCS,
    no_docs: Annotated[bool, typer.Option("--no-docs", help="Print only.")] = False,
) -> None:
    """Load the whole system (`lifeevents run --no-demo` in a temporary folder) with synthetic
    life events and print throughput, latency and every process's CPU and memory, beside
    raw aiokafka and no-op Temporal workflows of the same shape."""
    try:
        mix = Mix(moves, deaths, births, duplicates, invalid, intake)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    options = Options(
        burst=burst,
        steady_seconds=steady_seconds,
        rate=rate,
        mix=mix,
        soak_seconds=duration(soak) if soak is not None else None,
        seed=seed,
        docs=None if no_docs else docs,
        command=shlex.join(["lifeevents", *sys.argv[1:]]),
    )
    if options.soak_seconds is not None and rate is None:
        raise typer.BadParameter("a soak needs --rate: events/s, twice the expected peak")
    asyncio.run(run(options))
