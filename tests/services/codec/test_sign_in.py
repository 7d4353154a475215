"""An engineer signs in on the codec server's page; the session cookie then decodes, as the
Temporal UI sends it ("include cross-origin credentials"). In memory; the browser test
(tests/browser/test_temporal_ui_codec.py) shows the same with the real UI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from pydantic import SecretStr
from structlog.testing import capture_logs
from temporalio.api.common.v1 import Payload, Payloads

from services.codec.api import create_app
from services.codec.sessions import COOKIE, MAX_SESSIONS, Sessions
from services.codec.settings import CodecSettings
from services.common.codec import EncryptionCodec, KeyRing, new_key_spec

TOKEN = "ops-token-for-tests"
UI = "http://localhost:8233"
KEY = new_key_spec()
SECRET = b'{"family_name": "Placeholder"}'


@pytest.fixture(autouse=True)
def unconfigured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("LIFEEVENTS_PAYLOAD_KEYS", "LIFEEVENTS_CODEC_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    config = CodecSettings(
        var_dir=tmp_path, payload_keys=SecretStr(KEY), codec_tokens=SecretStr(TOKEN)
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(config)), base_url="http://localhost:8081"
    ) as client:
        yield client


async def encrypted_body() -> str:
    codec = EncryptionCodec(KeyRing.parse(KEY))
    (sealed,) = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=SECRET)])
    return json_format.MessageToJson(Payloads(payloads=[sealed]))


async def decode_as_the_ui(http: httpx.AsyncClient) -> httpx.Response:
    """What the UI sends: no Authorization, its origin and namespace, the browser's cookies."""
    return await http.post(
        "/decode?preserveStorageRefs=true",
        content=await encrypted_body(),
        headers={"Content-Type": "application/json", "X-Namespace": "default", "Origin": UI},
    )


async def sign_in(http: httpx.AsyncClient, token: str = TOKEN) -> httpx.Response:
    return await http.post(
        "/sign-in",
        content=f"token={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def test_the_page_asks_for_a_codec_token_and_says_what_to_set_in_the_ui(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/sign-in")
    assert page.status_code == 200
    assert 'type="password"' in page.text
    assert "Include cross-origin credentials" in page.text
    assert "http://localhost:8081" in page.text  # the endpoint to enter in the UI
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_before_signing_in_the_ui_is_refused(http: httpx.AsyncClient) -> None:
    response = await decode_as_the_ui(http)
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == UI  # the UI can read the 401
    assert "Placeholder" not in response.text


async def test_signing_in_sets_a_private_expiring_cookie_that_decodes(
    http: httpx.AsyncClient,
) -> None:
    signed_in = await sign_in(http)
    assert signed_in.status_code == 303
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=strict", "Max-Age=28800", "Path=/"):
        assert attribute.lower() in cookie.lower()
    session = http.cookies[COOKIE]
    assert len(session) >= 40
    assert TOKEN not in cookie

    response = await decode_as_the_ui(http)
    assert response.status_code == 200
    assert json_format.Parse(response.text, Payloads()).payloads[0].data == SECRET
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["cache-control"] == "no-store"
    assert "Signed in until" in (await http.get("/sign-in")).text


async def test_a_wrong_token_signs_nobody_in_and_is_not_logged(http: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        refused = await sign_in(http, "not-the-token")
    assert refused.status_code == 401
    assert "set-cookie" not in refused.headers
    assert "not a codec token" in refused.text
    assert [e["event"] for e in logs] == ["codec.sign_in_refused"]
    assert "not-the-token" not in repr(logs)
    assert (await decode_as_the_ui(http)).status_code == 401


async def test_a_made_up_cookie_decodes_nothing(http: httpx.AsyncClient) -> None:
    http.cookies.set(COOKIE, "a" * 43)
    with capture_logs() as logs:
        response = await decode_as_the_ui(http)
    assert response.status_code == 401
    assert logs[-1]["reason"] == "session_expired"
    assert "a" * 43 not in repr(logs)


async def test_signing_out_ends_the_session_on_the_server(http: httpx.AsyncClient) -> None:
    await sign_in(http)
    session = http.cookies[COOKIE]
    out = await http.post("/sign-out")
    assert out.status_code == 303
    assert f'{COOKIE}=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    # Even a copy of the old cookie no longer decodes.
    http.cookies.set(COOKIE, session)
    assert (await decode_as_the_ui(http)).status_code == 401


async def test_the_preflight_lets_the_ui_send_credentials(http: httpx.AsyncClient) -> None:
    response = await http.options(
        "/decode",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == UI
    assert response.headers["access-control-allow-credentials"] == "true"


def test_a_session_ends_when_it_expires() -> None:
    now = [1000.0]
    sessions = Sessions(60, clock=lambda: now[0])
    session, expires = sessions.open()
    assert expires == 1060.0
    assert sessions.expiry(session) == 1060.0
    now[0] = 1060.0
    assert sessions.expiry(session) is None
    assert sessions.expiry(None) is None


def test_sessions_are_kept_only_as_digests_and_bounded() -> None:
    sessions = Sessions(60)
    session, _ = sessions.open()
    assert session not in repr(vars(sessions))
    for _ in range(MAX_SESSIONS + 5):
        sessions.open()
    assert len(sessions._expiry) == MAX_SESSIONS


async def test_over_https_the_cookie_is_secure(tmp_path: Path) -> None:
    config = CodecSettings(
        var_dir=tmp_path, payload_keys=SecretStr(KEY), codec_tokens=SecretStr(TOKEN)
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(config)),
        base_url="https://codec.council.example",
    ) as https:
        signed_in = await sign_in(https)
    assert "secure" in signed_in.headers["set-cookie"].lower()
