"""`python -m services.intake` serves, answers 503 while Kafka is down, and stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.services.intake.support import REPO_ROOT, SOURCE, bearer_header, example


def test_serves_with_kafka_down_and_stops_cleanly_on_sigterm(
    cli_env: Callable[..., dict[str, str]],
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
    free_port: Callable[[], int],
    tmp_path: Path,
) -> None:
    port = free_port()
    env = cli_env(
        LIFEEVENTS_INTAKE_PORT=str(port),
        LIFEEVENTS_INTAKE_KAFKA_STARTUP_GRACE_SECONDS="0.5",
        LIFEEVENTS_LOG_FORMAT="json",
    )
    issued = run_cli("keys", "issue", "--source", SOURCE, "--type", example()["type"], env=env)
    assert issued.returncode == 0, issued.stderr
    key = issued.stdout.strip()

    log = tmp_path / "intake.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.intake"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the intake did not start serving"
                time.sleep(0.2)
        assert health.json() == {"status": "ok", "kafka": "connecting"}
        answer = httpx.post(f"{base}/v1/events", json=example(), headers=bearer_header(key))
        assert answer.status_code == 503
        assert answer.headers["retry-after"]
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "Life Events intake"
        # The size limit holds over a real connection too, with and without a length.
        limit = 256 * 1024
        headers = {**bearer_header(key), "Content-Type": "application/json"}
        declared = httpx.post(f"{base}/v1/events", content=b" " * (limit + 1), headers=headers)
        chunked = httpx.post(
            f"{base}/v1/events", content=(b" " * 1024 for _ in range(400)), headers=headers
        )
        assert (declared.status_code, chunked.status_code) == (413, 413)
        assert chunked.request.headers["transfer-encoding"] == "chunked"

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text()
    assert "intake.stopping" in text
    assert "Traceback" not in text
