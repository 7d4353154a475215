"""`lifeevents kafka acls`: the ACLs the deployment needs, printed, and applied with --apply;
`lifeevents kafka add-source`: a source system's principal, allowed to publish life events."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Annotated, Literal

import typer
from aiokafka.errors import KafkaError

from deploy.kafka_acls import Acl, Deployment, apply_acls, kafka_acls_lines, required_acls
from deploy.kafka_users import upsert_scram_user
from services.common.kafka import EmbeddedKafkaSecrets, kafka_access
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


@kafka_app.command("add-source")
def add_source(
    principal: Annotated[str, typer.Argument(help="The source system's principal.")],
    password_file: Annotated[
        Path | None,
        typer.Option(
            help="Its password. Unset on the embedded secured Kafka: one is made and kept "
            "under the var folder's secrets/kafka."
        ),
    ] = None,
    credential: Annotated[
        bool,
        typer.Option(
            help="Create its SCRAM-SHA-512 credential; --no-credential where the cluster's "
            "provider makes its users."
        ),
    ] = True,
) -> None:
    """Let a source system publish life events: its credential, then the ACLs (add it to
    LIFEEVENTS_KAFKA_SOURCE_PRINCIPALS too, so that `acls` keeps naming it)."""
    settings = Settings()
    admin = kafka_access(settings)
    if credential:
        if password_file is None and not (
            settings.embedded_stack and settings.kafka_embedded_security
        ):
            typer.secho("Give its password with --password-file.", err=True, fg=typer.colors.RED)
            raise typer.Exit(2)
        if password_file is None:
            password_file = EmbeddedKafkaSecrets.under(settings.var_dir).password_file(principal)
            if not password_file.exists():
                with os.fdopen(
                    os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w"
                ) as out:
                    out.write(secrets.token_hex(24) + "\n")
        password = password_file.read_text().strip()
    try:
        if credential:
            asyncio.run(upsert_scram_user(admin, principal, password))
        asyncio.run(
            apply_acls(
                admin,
                Deployment.from_environment([principal]),
                settings.kafka_topic_partitions,
                settings.kafka_topic_replication,
            )
        )
    except (KafkaError, OSError) as error:
        typer.secho(
            f"Kafka at {settings.kafka_bootstrap_servers} refused: {type(error).__name__}.",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(1) from None
    kept = f"; its password is in {password_file}" if credential else ""
    typer.echo(f"{principal} may publish to {settings.life_events_topic}{kept}.")


def _print_table(needed: list[Acl]) -> None:
    width = max(len(acl.principal) for acl in needed)
    typer.echo(f"{'principal':<{width}}  {'may':<8}  {'resource':<8}  name")
    for acl in needed:
        name = f"{acl.name}*" if acl.pattern == "prefixed" else acl.name
        typer.echo(f"{acl.principal:<{width}}  {acl.operation:<8}  {acl.resource:<8}  {name}")
