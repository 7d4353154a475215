"""The Temporal UI of the embedded default, in a real headless Chromium: a move's input is
ciphertext until an engineer signs in to the codec server, and decoded after.

The parts are the embedded default's own: the dev server started as `lifeevents run` starts
it (deploy/local/stack.py, which points the UI at the codec server) and the codec server as
its own process (`python -m services.codec`), with the token it generates. No worker runs:
a started move keeps its input in history, which is all the UI needs to show.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
from playwright.async_api import Page, Response, expect
from pydantic import SecretStr
from starlette.types import ASGIApp
from temporalio.client import Client

from contracts import AddressChangedV1, CloudEvent, from_structured
from contracts.temporal import TaskQueue, workflow_id_for
from deploy.cli import _print_codec_sign_in
from deploy.local.stack import StackConfig, TemporalProcess
from services.codec.api import create_app
from services.codec.settings import CodecSettings
from services.common.codec import data_converter
from services.common.probes import port_open
from services.common.settings import Settings
from tests.browser.checks import axe, fits_320
from tests.browser.conftest import TIMEOUT_MS
from tests.support import ServiceProcess, subprocess_env
from workflows.move import MoveWorkflow

REPO_ROOT = Path(__file__).resolve().parents[2]
MOVE = json.loads((REPO_ROOT / "contracts/examples/address-changed-household.json").read_text())
# Synthetic, and near the top of the move's input (the UI's editor draws only what is in view).
RECOGNISABLE = "pat.placeholder@example.org"
assert RECOGNISABLE in json.dumps(MOVE)

# The UI loads a workflow's history after its page; on a busy machine (CI, two cores shared
# by everything else running) that has taken over ten seconds.
HISTORY_MS = 30_000

# How the UI shows an encrypted payload it could not decode: its data, base64.
CIPHERTEXT = re.compile(r"[A-Za-z0-9+/]{40}")

# The UI's own words (Temporal UI 2.54.1): its per-browser Codec Server settings.
BROWSER_SETTING = "Use my browser setting and ignore Cluster-level setting."
ENDPOINT_FIELD = "Paste your endpoint here"
INCLUDE_CREDENTIALS = "Include cross-origin credentials"


@dataclass(frozen=True)
class EmbeddedUi:
    settings: Settings
    config: StackConfig
    codec_env: dict[str, str]

    @property
    def ui(self) -> str:
        return f"http://{self.config.temporal_host}:{self.config.temporal_ui_port}"

    @property
    def codec(self) -> str:
        assert self.config.temporal_ui_codec_endpoint is not None
        return self.config.temporal_ui_codec_endpoint

    @property
    def token(self) -> str:
        return (self.settings.var_dir / "secrets" / "codec-tokens").read_text().split()[0]


def what_lifeevents_run_prints(config: StackConfig, capsys: pytest.CaptureFixture[str]) -> str:
    """The sign-in URL and token `lifeevents run` prints for ops engineers."""
    _print_codec_sign_in(config)
    printed = re.search(r"sign in at (\S+) with the codec token (\S+) ", capsys.readouterr().out)
    assert printed is not None
    assert printed[1] == f"{config.temporal_ui_codec_endpoint}/sign-in"
    return printed[2]


@pytest.fixture
def embedded_ui(
    tmp_path: Path, free_port: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmbeddedUi]:
    """The dev server with its UI, configured from settings as `lifeevents run` does."""
    ports = {"ui": free_port(), "codec": free_port(), "temporal": free_port()}
    # StackConfig and what `lifeevents run` prints read the codec server's settings from the
    # environment, as the CLI does.
    monkeypatch.setenv("LIFEEVENTS_CODEC_PORT", str(ports["codec"]))
    monkeypatch.setenv("LIFEEVENTS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("LIFEEVENTS_CODEC_TOKENS", raising=False)
    settings = Settings(
        var_dir=tmp_path / "var",
        temporal_address=f"localhost:{ports['temporal']}",
        temporal_ui_port=ports["ui"],
        payload_keys=SecretStr(subprocess_env()["LIFEEVENTS_PAYLOAD_KEYS"]),
    )
    config = StackConfig.from_settings(settings)
    temporal = TemporalProcess(config)
    temporal.start(timeout=60)
    try:
        yield EmbeddedUi(
            settings,
            config,
            subprocess_env(
                LIFEEVENTS_VAR_DIR=str(settings.var_dir),
                LIFEEVENTS_CODEC_PORT=str(ports["codec"]),
                LIFEEVENTS_TEMPORAL_UI_PORT=str(ports["ui"]),
            ),
        )
    finally:
        temporal.stop()


async def start_a_move(embedded: EmbeddedUi) -> str:
    """The move's page in the UI."""
    client = await Client.connect(
        embedded.config.temporal_address, data_converter=data_converter(embedded.settings)
    )
    # from_structured types the data as any life event; this one is a move.
    event = cast("CloudEvent[AddressChangedV1]", from_structured({**MOVE, "id": str(uuid.uuid4())}))
    handle = await client.start_workflow(
        MoveWorkflow.run,
        event,
        id=workflow_id_for(event.source, event.id),
        task_queue=TaskQueue.WORKFLOWS,
    )
    return f"{embedded.ui}/namespaces/default/workflows/{handle.id}/{handle.result_run_id}/history"


async def use_the_codec_server_with_credentials(page: Page, endpoint: str) -> None:
    """The engineer's one-time step in this browser: the dev server cannot tell its UI to
    send cookies, the UI's own Codec Server settings can."""
    await page.get_by_test_id(re.compile(r"^data-encoder-status")).click()
    await page.get_by_text(BROWSER_SETTING).click()
    await page.get_by_placeholder(ENDPOINT_FIELD).fill(endpoint)
    await page.get_by_text(INCLUDE_CREDENTIALS, exact=True).click()
    await page.get_by_role("button", name="Apply").click()


async def test_the_ui_shows_a_moves_input_decoded_only_after_an_engineer_signs_in(
    embedded_ui: EmbeddedUi, page: Page, capsys: pytest.CaptureFixture[str]
) -> None:
    token = what_lifeevents_run_prints(embedded_ui.config, capsys)
    async with ServiceProcess("services.codec", embedded_ui.codec_env) as codec:
        move_page = await start_a_move(embedded_ui)
        port = int(embedded_ui.codec.rsplit(":", 1)[1])
        for _ in range(200):
            if port_open("localhost", port):
                break
            await page.wait_for_timeout(100)
        else:
            pytest.fail(f"the codec server is not listening on {port}")
        decodes: list[int] = []

        def seen(response: Response) -> None:
            if response.url.startswith(f"{embedded_ui.codec}/decode"):
                decodes.append(response.status)

        page.on("response", seen)
        input_card = page.get_by_label("Input", exact=True)

        # Before: the UI asks the codec server (as the dev server tells it) and is refused.
        await page.goto(move_page)
        await expect(input_card).to_contain_text(CIPHERTEXT, timeout=HISTORY_MS)
        await expect(page.get_by_test_id("data-encoder-status-error")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        await use_the_codec_server_with_credentials(page, embedded_ui.codec)
        await page.reload()
        await expect(input_card).to_contain_text(CIPHERTEXT, timeout=HISTORY_MS)
        await expect(page.get_by_test_id("data-encoder-status-error")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        assert RECOGNISABLE not in await page.content()
        assert decodes
        assert set(decodes) == {401}

        # The engineer signs in to the codec server, in the same browser.
        await page.goto(f"{embedded_ui.codec}/sign-in")
        await page.get_by_label("Codec token").fill(token)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("status")).to_contain_text("Signed in until")

        # After: the same page shows the move's input decoded.
        await page.goto(move_page)
        await expect(input_card).to_contain_text(RECOGNISABLE, timeout=HISTORY_MS)
        assert 200 in decodes

        # Signed out, ciphertext again.
        await page.goto(f"{embedded_ui.codec}/sign-in")
        await page.get_by_role("button", name="Sign out").click()
        await page.goto(move_page)
        await expect(input_card).to_contain_text(CIPHERTEXT, timeout=HISTORY_MS)
        assert RECOGNISABLE not in await page.content()

        code, output = await codec.stop()
    assert code == 0
    assert RECOGNISABLE not in output
    assert token == embedded_ui.token  # the codec server's own
    assert token not in output


async def test_the_sign_in_page_is_usable_by_everyone(
    serve: Callable[[ASGIApp], str], phone: Page, tmp_path: Path
) -> None:
    token = "ops-token-for-tests"
    codec = serve(
        create_app(
            CodecSettings(
                var_dir=tmp_path,
                payload_keys=SecretStr(subprocess_env()["LIFEEVENTS_PAYLOAD_KEYS"]),
                codec_tokens=SecretStr(token),
            )
        )
    )
    await phone.goto(f"{codec}/sign-in")
    await phone.get_by_label("Codec token").fill("not-the-token")
    await phone.get_by_role("button", name="Sign in").click()
    await expect(phone.get_by_role("alert")).to_contain_text("not a codec token")
    await axe(phone)
    await fits_320(phone)
    await phone.get_by_label("Codec token").fill(token)
    await phone.get_by_role("button", name="Sign in").click()
    await expect(phone.get_by_role("status")).to_contain_text("Signed in until")
    await axe(phone)
    await fits_320(phone)
