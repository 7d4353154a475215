from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.settings import STORE_OWNERS, Settings, StoreOwner, split_host_port
from tests.support import subprocess_env

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_every_endpoint_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS", "kafka.example.internal:9094")
    monkeypatch.setenv("LIFEEVENTS_TEMPORAL_ADDRESS", "council.tmprl.cloud:7233")
    monkeypatch.setenv("LIFEEVENTS_TEMPORAL_NAMESPACE", "council.a1b2c")
    monkeypatch.setenv("LIFEEVENTS_EMBEDDED_STACK", "false")
    settings = Settings()
    assert settings.kafka_bootstrap_servers == "kafka.example.internal:9094"
    assert settings.temporal_address == "council.tmprl.cloud:7233"
    assert settings.temporal_namespace == "council.a1b2c"
    assert settings.embedded_stack is False


@pytest.fixture
def no_store_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No store URL set, and var_dir in the test's folder; returns var_dir."""
    for service in STORE_OWNERS:
        monkeypatch.delenv(f"LIFEEVENTS_{service.upper()}_DATABASE_URL", raising=False)
    monkeypatch.delenv("LIFEEVENTS_COUNCIL_TAX_DATABASE_URL", raising=False)
    monkeypatch.setenv("LIFEEVENTS_VAR_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


@pytest.mark.parametrize("service", STORE_OWNERS)
def test_every_store_is_under_var_dir_unless_its_setting_names_another(
    service: StoreOwner, no_store_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = f"sqlite+aiosqlite:///{no_store_settings / service / f'{service}.db'}"
    assert Settings().database_url(service) == default

    url = f"postgresql+asyncpg://db.internal/{service}"
    monkeypatch.setenv(f"LIFEEVENTS_{service.upper()}_DATABASE_URL", url)
    settings = Settings()
    assert settings.database_url(service) == url
    # One service's setting moves that service's store only.
    assert all(
        settings.database_url(other).startswith(f"sqlite+aiosqlite:///{no_store_settings}/")
        for other in STORE_OWNERS
        if other != service
    )


def test_council_tax_store_setting_keeps_its_earlier_name(
    no_store_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFEEVENTS_COUNCIL_TAX_DATABASE_URL", "postgresql+asyncpg://db/ctax")
    assert Settings().database_url("counciltax") == "postgresql+asyncpg://db/ctax"


def test_every_service_with_a_store_has_a_store_setting() -> None:
    with_a_store = {path.parent.name for path in (REPO_ROOT / "services").glob("*/store.py")}
    assert with_a_store == set(STORE_OWNERS)
    with pytest.raises(ValueError, match="no store setting"):
        Settings().database_url("orchestrator")  # type: ignore[arg-type]


def settings_seen_in(directory: Path, **environ: str) -> dict[str, str]:
    """The settings a process started in `directory` reads, with only the given `LIFEEVENTS_`
    variables: a process of its own, because the test run itself reads no `.env` file
    (tests/conftest.py) and the file is chosen when services.common.settings is imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFEEVENTS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    script = "from services.common.settings import Settings; print(Settings().model_dump_json())"
    seen = subprocess.run(
        [sys.executable, "-c", script],
        cwd=directory,
        env={**env, **environ},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    values: dict[str, str] = json.loads(seen.stdout)
    return values


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LIFEEVENTS_TEMPORAL_ADDRESS=temporal.internal:7233\n")
    assert settings_seen_in(tmp_path)["temporal_address"] == "temporal.internal:7233"


def test_the_environment_beats_the_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LIFEEVENTS_TEMPORAL_NAMESPACE=from-file\n")
    seen = settings_seen_in(tmp_path, LIFEEVENTS_TEMPORAL_NAMESPACE="from-env")
    assert seen["temporal_namespace"] == "from-env"


def test_env_file_names_another_file_or_none(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LIFEEVENTS_TEMPORAL_NAMESPACE=from-dotenv\n")
    (tmp_path / "prod.env").write_text("LIFEEVENTS_TEMPORAL_NAMESPACE=from-prod\n")
    named = settings_seen_in(tmp_path, LIFEEVENTS_ENV_FILE="prod.env")
    assert named["temporal_namespace"] == "from-prod"
    assert settings_seen_in(tmp_path, LIFEEVENTS_ENV_FILE="")["temporal_namespace"] == "default"


def test_the_tests_read_no_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's `.env` may point at a real Kafka and Temporal; no test may use it.
    (tmp_path / ".env").write_text("LIFEEVENTS_EMBEDDED_STACK=false\n")
    monkeypatch.chdir(tmp_path)
    assert Settings().embedded_stack is True
    assert subprocess_env()["LIFEEVENTS_ENV_FILE"] == ""


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("localhost:9092", ("localhost", 9092)),
        ("b1:9092,b2:9092", ("b1", 9092)),
        ("[::1]:7233", ("::1", 7233)),
    ],
)
def test_split_host_port(address: str, expected: tuple[str, int]) -> None:
    assert split_host_port(address) == expected


@pytest.mark.parametrize("address", ["localhost", "localhost:http", ""])
def test_split_host_port_rejects_what_is_not_host_port(address: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        split_host_port(address)
