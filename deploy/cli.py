"""The `lifeevents` command line: the embedded stack, and `run` for the whole system.

It lives in `deploy`, the composition root, because it wires everything together: the
stack, every service's commands and the workflows' catalogue. Nothing else imports it.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from contracts import ContractError, from_structured
from deploy.bench.command import bench
from deploy.caseworker_cli import caseworker_app
from deploy.db import db_app, upgrade_before_run
from deploy.kafka_acls import Deployment, apply_acls
from deploy.kafka_cli import kafka_app
from deploy.local.demo import DEMO_RESIDENT_EMAIL, publish_demo_events
from deploy.local.demo_caseworker import DemoCaseworker, ensure_demo_caseworker, password_file
from deploy.local.kafka_security import service_kafka_env
from deploy.local.metrics import metrics_ports, with_metrics_ports
from deploy.local.seed import seed_demo_data
from deploy.local.services import SERVICES
from deploy.local.stack import Stack, StackConfig, StackError, ensure_kafka_jars
from deploy.local.supervisor import Supervisor
from deploy.report import render_json, render_table
from deploy.report_histories import read_report
from services.codec.api import CodecTokenError, codec_tokens
from services.codec.settings import CodecSettings
from services.common.codec import PayloadKeyConfigError, key_ring
from services.common.council import CouncilSettings
from services.common.database import StoreUnusable
from services.common.kafka import kafka_access
from services.common.lifecycle import STORE_UNUSABLE_EXIT, wait_for_shutdown_signal
from services.common.logging import configure_logging
from services.common.probes import kafka_answers, temporal_answers, temporal_cli
from services.common.settings import Settings
from services.common.temporal import TemporalTlsError, cli_env
from services.consent.cli import ledger_app
from services.intake.cli import keys_app
from services.notifications.settings import MailCatcherSettings
from services.orchestrator.cli import dlq_app
from services.portal.build import prepare_portal_assets
from services.portal.settings import PortalSettings
from workflows.catalogue import plan_for
from workflows.lifeevents import AROUND_THE_PLAN, DUE_DATES, plan_request

__all__ = ["app"]

app = typer.Typer(
    help="Life Events: act on residents' life events before they have to ask.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stack_app = typer.Typer(
    help="The embedded Kafka and Temporal on this machine.", no_args_is_help=True
)
app.add_typer(stack_app, name="stack")
app.add_typer(dlq_app, name="dlq")
app.add_typer(ledger_app, name="ledger")
app.add_typer(keys_app, name="keys")
app.add_typer(caseworker_app, name="caseworker")
app.add_typer(kafka_app, name="kafka")
app.add_typer(db_app, name="db")
app.command("bench")(bench)


def _fail(message: str) -> NoReturn:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _embedded(settings: Settings) -> Stack:
    if not settings.embedded_stack:
        _fail(
            "LIFEEVENTS_EMBEDDED_STACK is false: this machine runs no Kafka or Temporal of its "
            f"own (using Kafka at {settings.kafka_bootstrap_servers} and Temporal at "
            f"{settings.temporal_address})."
        )
    try:
        return Stack(StackConfig.from_settings(settings))
    except ValueError as error:
        _fail(f"Bad endpoint setting: {error}")


@stack_app.command("prepare")
def stack_prepare() -> None:
    """Check Java and the Temporal CLI, and fetch the Kafka jars if they are missing."""
    settings = _settings()
    typer.echo(prepare_portal_assets())
    if not settings.embedded_stack:
        # `make run` and `make test` prepare first; bringing your own stack needs nothing here.
        typer.echo(
            "LIFEEVENTS_EMBEDDED_STACK is false: nothing to prepare, this machine runs no Kafka "
            f"or Temporal of its own (using Kafka at {settings.kafka_bootstrap_servers} and "
            f"Temporal at {settings.temporal_address}, namespace {settings.temporal_namespace})."
        )
        return
    stack = _embedded(settings)
    try:
        fetched = ensure_kafka_jars(stack.config.kafka_lib_dir)
        cli = temporal_cli()
    except (StackError, FileNotFoundError) as error:
        _fail(str(error))
    typer.echo(
        f"Kafka jars: {'fetched' if fetched else 'up to date'} in {stack.config.kafka_lib_dir}"
    )
    typer.echo(f"Temporal CLI: {cli}")


@stack_app.command("up")
def stack_up() -> None:
    """Start Kafka and Temporal (what is already running is left alone)."""
    settings = _settings()
    stack = _embedded(settings)
    try:
        started = stack.up()
    except StackError as error:
        _fail(str(error))
    for name, now in started.items():
        typer.echo(f"{name}: {'started' if now else 'already running'}")
    _print_status(stack)
    if settings.kafka_embedded_security:
        _apply_embedded_acls(settings)


@stack_app.command("down")
def stack_down() -> None:
    """Stop exactly the Kafka and Temporal that `stack up` started."""
    stack = _embedded(_settings())
    for name, stopped in stack.down().items():
        typer.echo(f"{name}: {'stopped' if stopped else 'was not running'}")


@stack_app.command("status")
def stack_status() -> None:
    """Each component, its address, and whether it answers."""
    settings = _settings()
    if settings.embedded_stack:
        _print_status(_embedded(settings))
        return
    ok = _report_external(settings)
    raise typer.Exit(0 if ok else 1)


def _print_status(stack: Stack) -> None:
    for status in stack.status():
        pid = f"pid {status.pid}" if status.pid else "not running"
        answers = "answers" if status.answers else "does not answer"
        ui = f"  UI {status.url}" if status.url else ""
        typer.echo(f"{status.name:<9} {status.address:<22} {pid:<12} {answers}{ui}")


def _report_external(settings: Settings) -> bool:
    kafka_ok = asyncio.run(kafka_answers(kafka_access(settings)))
    temporal_ok = asyncio.run(
        temporal_answers(
            settings.temporal_address, settings.temporal_namespace, env=_temporal_env(settings)
        )
    )
    _print_external(settings, kafka_ok, temporal_ok)
    return kafka_ok and temporal_ok


def _temporal_env(settings: Settings) -> dict[str, str]:
    """The Temporal connection for the CLI probe; a TLS setting that cannot work is said once."""
    try:
        return cli_env(settings)
    except TemporalTlsError as error:
        _fail(f"Bad Temporal TLS setting: {error}")


def _print_external(settings: Settings, kafka_ok: bool, temporal_ok: bool) -> None:
    """A bring-your-own Kafka and Temporal, in the columns of `_print_status`."""
    answers = {True: "answers", False: "does not answer"}
    kafka, temporal = settings.kafka_bootstrap_servers, settings.temporal_address
    typer.echo(f"{'kafka':<9} {kafka:<22} external     {answers[kafka_ok]}")
    typer.echo(
        f"{'temporal':<9} {temporal:<22} external     {answers[temporal_ok]}"
        f"  namespace {settings.temporal_namespace}"
    )


_REASONS = {
    "direction": "not for this direction of move",
    "no_school_age_child": "no child of school age moves",
    "adults_remaining": "not for who remains at the address",
    "not_chosen_by_informant": "the informant did not choose to tell them",
}

_CHANGES = {"moved_out_of_area": "the family moves out of the council's area"}


@app.command()
def plan(
    event_file: Annotated[Path, typer.Argument(help="A structured-mode CloudEvent (JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Print what the council would do about an event, without running anything."""
    try:
        event = from_structured(event_file.read_bytes())
    except OSError as error:
        _fail(f"Cannot read {event_file}: {error.strerror}")
    except ContractError as error:
        _fail(f"{event_file} is not a valid life event: {error}")
    made = plan_for(plan_request(event))
    if as_json:
        typer.echo(made.model_dump_json(indent=2))
        return
    typer.echo(f"Plan for {made.event_type} {made.event_id} (catalogue {made.catalogue_version})")
    before, after = AROUND_THE_PLAN.get(made.event_type, ((), ()))
    due = DUE_DATES[made.event_type](event.data) if made.event_type in DUE_DATES else {}
    for line in before:
        typer.echo(f"  {line}")
    width = max([20, *(len(step.name) for step in made.steps)])
    for number, step in enumerate(made.steps, 1):
        if not step.applies:
            why = _REASONS.get(step.reason, step.reason)
            typer.echo(f"  -  {step.name:<{width}} does not apply: {why}")
            continue
        confirm = "  [resident confirms first]" if step.confirm else ""
        to = f"{step.service} to {step.recipient}" if step.recipient else step.service
        typer.echo(f"  {number}. {step.name:<{width}} {to} for {step.purpose}{confirm}")
        if step.at in due:
            typer.echo(f"     on {due[step.at]:%-d %B %Y}")
        elif step.at is not None:
            typer.echo(f"     only if: {_CHANGES.get(step.at, step.at)}")
        told = f"tells the resident: {step.notification}" if step.notify else "tells nobody"
        typer.echo(f"     receives: {', '.join(step.categories)}; {told}")
        typer.echo(f"     {step.description}")
    for line in after:
        typer.echo(f"  {line}")


def _require_external(settings: Settings) -> None:
    if not asyncio.run(kafka_answers(kafka_access(settings))):
        _fail(
            f"Kafka at {settings.kafka_bootstrap_servers} does not answer. Check "
            "LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS, and that the broker is reachable from here."
        )
    if not asyncio.run(
        temporal_answers(
            settings.temporal_address, settings.temporal_namespace, env=_temporal_env(settings)
        )
    ):
        _fail(
            f"Temporal at {settings.temporal_address} (namespace {settings.temporal_namespace}) "
            "does not answer. Check LIFEEVENTS_TEMPORAL_ADDRESS and LIFEEVENTS_TEMPORAL_NAMESPACE, "
            "and the LIFEEVENTS_TEMPORAL_TLS_* settings or LIFEEVENTS_TEMPORAL_API_KEY it needs."
        )
    _print_external(settings, kafka_ok=True, temporal_ok=True)
    # The embedded stack generates these in var/secrets/; with your own Temporal, every
    # process on every machine must share them, so they are configured, never made up here.
    # Checked once, rather than every service crashing on it and being restarted forever.
    try:
        key_ring(settings)
        codec_tokens(CodecSettings())
    except (PayloadKeyConfigError, CodecTokenError) as error:
        _fail(
            f"Bringing your own Temporal: {error}. Make a key with `python -m services.codec "
            "new-key` and a token with `python -m services.codec new-token`."
        )


@app.command()
def report(
    as_json: Annotated[bool, typer.Option("--json", help="JSON rather than a table.")] = False,
) -> None:
    """The figures councils publish, by life-event type and month: time from each life event
    to each action, and take-up of offers (read from Temporal's workflow histories)."""
    figures = asyncio.run(read_report(_settings()))
    typer.echo(render_json(figures) if as_json else render_table(figures))


@app.command()
def run(
    demo: Annotated[
        bool | None,
        typer.Option(
            "--demo/--no-demo",
            help="Publish the example life events (synthetic people). Default: only on the "
            "embedded stack, never into a Kafka you brought.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start the stack and every service, supervised; Ctrl-C stops them all."""
    settings = _settings()
    if demo is None:
        demo = settings.embedded_stack
    stack: Stack | None = None
    started: dict[str, bool] = {}
    if settings.embedded_stack:
        stack = _embedded(settings)
        try:
            started = stack.up()
        except StackError as error:
            _fail(str(error))
        _print_status(stack)
        if settings.kafka_embedded_security:
            _apply_embedded_acls(settings)
    else:
        _require_external(settings)
    # Children write JSON when piped; on a terminal, ask them for the readable format.
    child_env = {"LIFEEVENTS_LOG_FORMAT": "console"} if sys.stdout.isatty() else {}
    if settings.log_format != "auto":
        child_env = {}
    if settings.db_migrate_on_start:
        typer.echo(upgrade_before_run(settings))
    if demo:
        _seed_demo()
    _print_ways_in(_seed_demo_caseworker() if demo else None)
    if stack is not None:
        _print_codec_sign_in(stack.config)
    supervisor = Supervisor(
        SERVICES,
        settings.var_dir.resolve() / "log",
        env=child_env,
        # On the secured embedded Kafka each service signs in as itself; with metrics on,
        # each serves /metrics on a port of its own.
        env_for=with_metrics_ports(
            settings,
            service_kafka_env(settings) if stack and settings.kafka_embedded_security else None,
        ),
    )
    _print_metrics_ports(settings)
    typer.echo("Running. Ctrl-C stops everything this command started.")
    try:
        asyncio.run(_supervise(supervisor, settings, demo))
    finally:
        if stack is not None:
            for component in stack.components:
                if started.get(component.name):
                    component.stop()
                    typer.echo(f"{component.name}: stopped")


def _apply_embedded_acls(settings: Settings) -> None:
    """The secured embedded Kafka's topics and ACLs, as its admin (`lifeevents kafka acls
    --apply`), before any service signs in."""
    acls = asyncio.run(
        apply_acls(
            kafka_access(settings),
            Deployment.from_environment(),
            settings.kafka_topic_partitions,
            settings.kafka_topic_replication,
        )
    )
    typer.echo(f"kafka: TLS, SASL/SCRAM-SHA-512, {len(acls)} ACLs (`lifeevents kafka acls`)")


async def _supervise(supervisor: Supervisor, settings: Settings, demo: bool) -> None:
    publishing = asyncio.create_task(_publish_demo(settings)) if demo else None
    try:
        await supervisor.run_until(wait_for_shutdown_signal())
    finally:
        if publishing is not None:
            publishing.cancel()


def _seed_demo() -> None:
    """The services' demo data, before any service opens its store (safe to repeat)."""
    try:
        added = asyncio.run(seed_demo_data(CouncilSettings()))
    except Exception as error:  # the demo is a courtesy; the system runs without it
        typer.secho(f"demo: not seeded ({type(error).__name__})", fg=typer.colors.YELLOW)
        return
    typer.echo("demo: seeded " + ", ".join(f"{k} {v}" for k, v in added.items()))


def _seed_demo_caseworker() -> DemoCaseworker | None:
    try:
        return asyncio.run(ensure_demo_caseworker(PortalSettings()))
    except Exception as error:  # the demo is a courtesy; the system runs without it
        typer.secho(f"demo: no demo caseworker ({type(error).__name__})", fg=typer.colors.YELLOW)
        return None


def _print_ways_in(caseworker: DemoCaseworker | None) -> None:
    """Where a newcomer goes next, and how they sign in."""
    portal = PortalSettings().portal_public_url.rstrip("/")
    catcher = MailCatcherSettings()
    mailbox = f"http://{catcher.mail_catcher_host}:{catcher.mail_catcher_http_port}"
    typer.echo(f"Resident portal: {portal}/")
    typer.echo(f"Caseworker console: {portal}/caseworker")
    typer.echo(f"Mail and SMS catcher (what residents are sent): {mailbox}/")
    if caseworker is None:
        return
    typer.echo(
        f"  A resident signs in with {DEMO_RESIDENT_EMAIL}: the code arrives in the catcher."
    )
    typer.echo(
        f"  The demo caseworker signs in as {caseworker.username}, password "
        f"{caseworker.password} (kept in {password_file(PortalSettings())})."
    )


def _print_metrics_ports(settings: Settings) -> None:
    ports = metrics_ports(settings)
    if ports:
        listed = ", ".join(f"{name} {port}" for name, port in ports.items())
        typer.echo(f"Prometheus metrics at http://{settings.metrics_host}:<port>/metrics: {listed}")


def _print_codec_sign_in(config: StackConfig) -> None:
    """How an ops engineer gets the Temporal UI to show payloads decoded (embedded only: the
    token printed is this machine's own)."""
    endpoint = config.temporal_ui_codec_endpoint
    if config.temporal_ui_port is None or endpoint is None:
        return
    codec = CodecSettings()
    try:
        token = codec_tokens(codec)[0]
    except (CodecTokenError, IndexError):
        return
    typer.echo(
        f"Temporal UI payloads (ops engineers): sign in at {endpoint}/sign-in with the codec "
        f"token {token} (kept in {codec.token_file}); then, once per browser, in the UI's "
        f"Codec Server settings: use my browser setting, endpoint {endpoint}, include "
        "cross-origin credentials."
    )


async def _publish_demo(settings: Settings) -> None:
    try:
        count = await publish_demo_events(settings)
    except Exception as error:  # the demo is a courtesy; the system runs without it
        typer.secho(f"demo: not published ({type(error).__name__})", fg=typer.colors.YELLOW)
        return
    typer.echo(f"demo: published {count} example life events to {settings.life_events_topic}")


def main() -> None:
    """The `lifeevents` command. A store that cannot be used is said in one line, which store
    and what is wrong, and the command exits non-zero: the fault is the store's, and a
    traceback would only hide that."""
    try:
        app()
    except StoreUnusable as error:
        typer.secho(f"lifeevents: {error}", err=True, fg=typer.colors.RED)
        raise SystemExit(STORE_UNUSABLE_EXIT) from None


if __name__ == "__main__":
    main()
