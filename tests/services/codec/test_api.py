"""The codec server in memory: Temporal's codec protocol, bearer tokens, namespaces, CORS."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from pydantic import SecretStr
from structlog.testing import capture_logs
from temporalio.api.common.v1 import Payload, Payloads

from services.codec.api import CodecTokenError, TokenCheck, codec_tokens, create_app
from services.codec.settings import CodecSettings
from services.common.codec import ENCODING, KEY_ID_METADATA, EncryptionCodec, KeyRing, new_key_spec

TOKEN = "ops-token-for-tests"
UI = "http://localhost:8233"
KEY = new_key_spec()
SECRET = b'{"family_name": "Placeholder", "postcode": "AB2 4FG"}'


def settings(tmp_path: Path, **overrides: object) -> CodecSettings:
    values: dict[str, object] = {
        "var_dir": tmp_path,
        "payload_keys": SecretStr(KEY),
        "codec_tokens": SecretStr(f"another-token,{TOKEN}"),
    }
    values.update(overrides)
    return CodecSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def unconfigured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No secret from the environment or a `.env` file: each test says what it configures."""
    for name in ("LIFEEVENTS_PAYLOAD_KEYS", "LIFEEVENTS_CODEC_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings(tmp_path))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://codec"
    ) as client:
        yield client


def as_json(*payloads: Payload) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


def from_json(text: str) -> list[Payload]:
    return list(json_format.Parse(text, Payloads()).payloads)


async def encrypted(*data: bytes) -> list[Payload]:
    codec = EncryptionCodec(KeyRing.parse(KEY))
    return await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=d) for d in data])


def bearer(token: str = TOKEN, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **extra}


# -- the protocol ------------------------------------------------------------------------------


async def test_decode_with_a_valid_token_returns_the_plain_payloads(
    http: httpx.AsyncClient,
) -> None:
    body = as_json(*await encrypted(SECRET, b"2"))
    assert b"Placeholder" not in body.encode()
    response = await http.post(
        "/decode", content=body, headers=bearer(**{"X-Namespace": "default"})
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert [p.data for p in from_json(response.text)] == [SECRET, b"2"]
    assert response.json()["payloads"][0]["metadata"] == {"encoding": "anNvbi9wbGFpbg=="}


async def test_encode_then_decode_round_trips(http: httpx.AsyncClient) -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=SECRET)
    encoded = await http.post("/encode", content=as_json(plain), headers=bearer())
    assert encoded.status_code == 200
    (sealed,) = from_json(encoded.text)
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_METADATA] == KEY.split(":")[0].encode()
    decoded = await http.post("/decode", content=encoded.text, headers=bearer())
    assert from_json(decoded.text) == [plain]


@pytest.mark.parametrize("path", ["/default/decode", "/codec/v1/decode"])
async def test_only_the_last_path_segment_counts(http: httpx.AsyncClient, path: str) -> None:
    response = await http.post(path, content=as_json(*await encrypted(SECRET)), headers=bearer())
    assert response.status_code == 200
    assert from_json(response.text)[0].data == SECRET


@pytest.mark.parametrize("body", ["not json", '{"payloads": 3}', '{"unknown": []}'])
async def test_a_body_that_is_not_payloads_json_is_a_bad_request(
    http: httpx.AsyncClient, body: str
) -> None:
    response = await http.post("/decode", content=body, headers=bearer())
    assert response.status_code == 400


async def test_an_unknown_key_is_a_bad_request_naming_only_the_key_id(
    http: httpx.AsyncClient,
) -> None:
    other = new_key_spec()
    (sealed,) = await EncryptionCodec(KeyRing.parse(other)).encode([Payload(data=SECRET)])
    with capture_logs() as logs:
        response = await http.post("/decode", content=as_json(sealed), headers=bearer())
    assert response.status_code == 400
    assert other.split(":")[0] in response.json()["detail"]
    assert "Placeholder" not in response.text
    assert "Placeholder" not in repr(logs)


async def test_a_body_over_the_limit_is_refused(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, codec_max_body_bytes=100))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c") as c:
        response = await c.post(
            "/decode", content=as_json(*await encrypted(SECRET * 5)), headers=bearer()
        )
    assert response.status_code == 413


async def test_nothing_personal_or_secret_is_logged(http: httpx.AsyncClient) -> None:
    body = as_json(*await encrypted(SECRET))
    with capture_logs() as logs:
        await http.post("/decode", content=body, headers=bearer())
        await http.post("/decode", content=body, headers=bearer("wrong"))
    assert [e["event"] for e in logs] == ["codec.decoded", "codec.refused"]
    assert "Placeholder" not in repr(logs)
    assert TOKEN not in repr(logs)
    assert "wrong" not in repr(logs)


# -- who may ask -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ],
    ids=["none", "empty bearer", "basic", "no scheme"],
)
async def test_without_a_bearer_token_it_answers_401(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = as_json(*await encrypted(SECRET))
    response = await http.post("/decode", content=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Placeholder" not in response.text


@pytest.mark.parametrize("path", ["/decode", "/encode"])
async def test_a_wrong_token_answers_401(http: httpx.AsyncClient, path: str) -> None:
    body = as_json(*await encrypted(SECRET))
    for wrong in (f"{TOKEN}x", TOKEN[:-1], TOKEN.upper()):
        response = await http.post(path, content=body, headers=bearer(wrong))
        assert response.status_code == 401
        assert "invalid_token" in response.headers["www-authenticate"]
        assert "Placeholder" not in response.text


async def test_a_namespace_not_served_answers_403(http: httpx.AsyncClient) -> None:
    body = as_json(*await encrypted(SECRET))
    response = await http.post("/decode", content=body, headers=bearer(**{"X-Namespace": "other"}))
    assert response.status_code == 403
    assert "Placeholder" not in response.text


async def test_allowed_namespaces_are_configurable(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, codec_namespaces="lifeevents, lifeevents-staging"))
    body = as_json(*await encrypted(SECRET))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c") as c:
        ok = await c.post("/decode", content=body, headers=bearer(**{"X-Namespace": "lifeevents"}))
        no = await c.post("/decode", content=body, headers=bearer(**{"X-Namespace": "default"}))
    assert (ok.status_code, no.status_code) == (200, 403)


def test_tokens_are_compared_as_digests() -> None:
    check = TokenCheck(("first-token", "second-token"))
    assert check.allows("second-token")
    assert not check.allows("third-token")
    assert not check.allows("")
    assert "first-token" not in repr(vars(check))


def test_the_embedded_stack_generates_a_private_token_once(tmp_path: Path) -> None:
    config = CodecSettings(var_dir=tmp_path, embedded_stack=True)
    (token,) = codec_tokens(config)
    assert len(token) >= 40
    assert stat.S_IMODE(config.token_file.stat().st_mode) == 0o600
    assert codec_tokens(config) == (token,)


def test_without_the_embedded_stack_tokens_must_be_configured(tmp_path: Path) -> None:
    with pytest.raises(CodecTokenError, match="LIFEEVENTS_CODEC_TOKENS"):
        codec_tokens(CodecSettings(var_dir=tmp_path, embedded_stack=False))


# -- which browsers may ask (CORS) -------------------------------------------------------------


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }


async def test_a_preflight_from_the_temporal_ui_is_allowed(http: httpx.AsyncClient) -> None:
    response = await http.options("/decode", headers=preflight(UI))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == UI
    assert response.headers["access-control-allow-credentials"] == "true"
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "content-type", "x-namespace"} <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "http://localhost:8234", "https://localhost:8233"]
)
async def test_a_preflight_from_another_origin_gets_no_allow_origin(
    http: httpx.AsyncClient, origin: str
) -> None:
    response = await http.options("/decode", headers=preflight(origin))
    assert response.status_code >= 400
    assert "access-control-allow-origin" not in response.headers


async def test_responses_name_only_the_allowed_origin(http: httpx.AsyncClient) -> None:
    body = as_json(*await encrypted(SECRET))
    ui = await http.post("/decode", content=body, headers=bearer(Origin=UI))
    other = await http.post("/decode", content=body, headers=bearer(Origin="http://evil.example"))
    assert ui.headers["access-control-allow-origin"] == UI
    assert "access-control-allow-origin" not in other.headers


async def test_the_ui_origin_follows_the_ui_port(tmp_path: Path) -> None:
    config = settings(tmp_path, temporal_ui_port=18233)
    assert config.allowed_origins == ("http://localhost:18233", "http://127.0.0.1:18233")
    explicit = settings(tmp_path, codec_allowed_origins="https://temporal.council.example")
    assert explicit.allowed_origins == ("https://temporal.council.example",)
