"""Bad configuration gets a clear message and exit code 2, never a traceback."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

Cli = Callable[..., subprocess.CompletedProcess[str]]


def assert_clear_failure(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for needle in needles:
        assert needle in result.stderr


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A PATH of our making: only the tools a test puts there."""
    path = tmp_path / "bin"
    path.mkdir()
    return path


def link(bin_dir: Path, tool: str) -> None:
    found = shutil.which(tool)
    assert found, f"{tool} is needed on this machine for the test"
    (bin_dir / tool).symlink_to(found)


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("localhost", 0))
        server.listen()
        yield server.getsockname()[1]


def test_java_missing(cli_env: Callable[..., dict[str, str]], run_cli: Cli, bin_dir: Path) -> None:
    env = cli_env(PATH=str(bin_dir))
    env.pop("JAVA_HOME", None)
    assert_clear_failure(run_cli("stack", "up", env=env), "Java 17 or newer", "JAVA_HOME")


def test_java_too_old(cli_env: Callable[..., dict[str, str]], run_cli: Cli, bin_dir: Path) -> None:
    fake = bin_dir / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.21\" 2023-10-17' >&2\n")
    fake.chmod(0o755)
    env = cli_env(PATH=str(bin_dir))
    env.pop("JAVA_HOME", None)
    assert_clear_failure(run_cli("stack", "up", env=env), "is Java 11", "Java 17 or newer")


def test_maven_missing(
    cli_env: Callable[..., dict[str, str]], run_cli: Cli, bin_dir: Path, tmp_path: Path
) -> None:
    link(bin_dir, "java")
    env = cli_env(PATH=str(bin_dir), LIFEEVENTS_VAR_DIR=str(tmp_path / "fresh-var"))
    env.pop("JAVA_HOME", None)
    assert_clear_failure(run_cli("stack", "prepare", env=env), "Maven", "mvn")


def test_kafka_port_taken(
    cli_env: Callable[..., dict[str, str]],
    run_cli: Cli,
    listening: int,
    live_processes: Callable[[str], list[int]],
) -> None:
    env = cli_env(LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS=f"localhost:{listening}")
    assert_clear_failure(
        run_cli("stack", "up", env=env),
        f"port {listening} is already in use",
        "LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS",
    )
    assert live_processes(env["LIFEEVENTS_VAR_DIR"]) == []


@pytest.mark.stack
def test_temporal_ui_port_taken_leaves_nothing_running(
    cli_env: Callable[..., dict[str, str]],
    run_cli: Cli,
    listening: int,
    live_processes: Callable[[str], list[int]],
) -> None:
    # Kafka launches first; when Temporal then cannot start, Kafka must not be left behind.
    env = cli_env(LIFEEVENTS_TEMPORAL_UI_PORT=str(listening))
    assert_clear_failure(
        run_cli("stack", "up", env=env),
        f"UI port {listening} is already in use",
        "LIFEEVENTS_TEMPORAL_UI_PORT",
    )
    assert live_processes(env["LIFEEVENTS_VAR_DIR"]) == []


def test_unreachable_bring_your_own_kafka(
    cli_env: Callable[..., dict[str, str]], run_cli: Cli
) -> None:
    env = cli_env(LIFEEVENTS_EMBEDDED_STACK="false")
    assert_clear_failure(
        run_cli("run", env=env, timeout=60),
        f"Kafka at {env['LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS']} does not answer",
        "LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS",
    )
