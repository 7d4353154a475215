from __future__ import annotations

from pathlib import Path

import pytest

from services.common.settings import Settings, split_host_port


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


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("LIFEEVENTS_TEMPORAL_ADDRESS=temporal.internal:7233\n")
    monkeypatch.chdir(tmp_path)
    assert Settings().temporal_address == "temporal.internal:7233"


def test_the_environment_beats_the_dotenv_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("LIFEEVENTS_TEMPORAL_NAMESPACE=from-file\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIFEEVENTS_TEMPORAL_NAMESPACE", "from-env")
    assert Settings().temporal_namespace == "from-env"


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
