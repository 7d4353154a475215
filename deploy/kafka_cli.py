"""`lifeevents kafka acls`: the ACLs the deployment needs, printed, and applied with --apply."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

import typer
from aiokafka.errors import KafkaError

from deploy.kafka_acls import Acl, Deployment, apply_acls, kafka_acls_lines, required_acls
from services.common.kafka import kafka_access
from services.common.settings import Settings

__all__ = ["kafka_app"]

kafka_app = typer.Typer(help="Kafka: principals and ACLs.", no_args_is_help=True)


@kafka_app.command("acls")
def acls(
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Make the topics and create the ACLs on the configured cluster, signed in as "
            "LIFEEVENTS_KAFKA_USERNAME (a principal allowed to alter ACLs).",
        ),
    ] = False,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            help="A source system's principal, allowed to write life events (besides "
            "LIFEEVENTS_KAFKA_SOURCE_PRINCIPALS). Repeat for more.",
        ),
    ] = None,
    output: Annotated[
        Literal["table", "kafka-acls"],
        typer.Option("--format", help="A table, or kafka-acls.sh commands."),
    ] = "table",
) -> None:
    """Every principal's access to every topic and consumer group: the deployment's ACLs."""
    settings = Settings()
    deployment = Deployment.from_environment(source or ())
    needed = required_acls(deployment)
    if output == "kafka-acls":
        for line in kafka_acls_lines(needed, settings.kafka_bootstrap_servers):
            typer.echo(line)
    else:
        _print_table(needed)
    if not apply:
        return
    try:
        asyncio.run(
            apply_acls(
                kafka_access(settings),
                deployment,
                settings.kafka_topic_partitions,
                settings.kafka_topic_replication,
            )
        )
    except (KafkaError, OSError) as error:
        typer.secho(
            f"Kafka at {settings.kafka_bootstrap_servers} refused the ACLs: "
            f"{type(error).__name__}. Sign in as a principal allowed to alter ACLs "
            "(LIFEEVENTS_KAFKA_USERNAME, LIFEEVENTS_KAFKA_PASSWORD_FILE).",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(1) from None
    typer.echo(f"Applied {len(needed)} ACLs to {settings.kafka_bootstrap_servers}.")


def _print_table(needed: list[Acl]) -> None:
    width = max(len(acl.principal) for acl in needed)
    typer.echo(f"{'principal':<{width}}  {'may':<8}  {'resource':<8}  name")
    for acl in needed:
        name = f"{acl.name}*" if acl.pattern == "prefixed" else acl.name
        typer.echo(f"{acl.principal:<{width}}  {acl.operation:<8}  {acl.resource:<8}  {name}")
