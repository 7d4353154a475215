"""Production: the Temporal UI passes its OIDC access token, and the codec server decodes only
for a token the identity provider signed, current, for this issuer and audience, with the
role. The IdP here is a locally made RSA key whose JWKS a tiny local HTTP server serves."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from google.protobuf import json_format
from pydantic import SecretStr, ValidationError
from structlog.testing import capture_logs
from temporalio.api.common.v1 import Payload, Payloads

from services.codec.api import codec_tokens, create_app
from services.codec.settings import CodecSettings
from services.common.codec import EncryptionCodec, KeyRing, new_key_spec

ISSUER = "https://id.council.example/realms/ops"
AUDIENCE = "temporal-ui"
ROLE = "temporal-codec"
KID = "idp-key-1"
KEY = new_key_spec()
SECRET = b'{"family_name": "Placeholder"}'

IDP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(autouse=True)
def unconfigured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("LIFEEVENTS_PAYLOAD_KEYS", "LIFEEVENTS_CODEC_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def jwks_url(free_port: Callable[[], int]) -> Iterator[str]:
    """The IdP's JWKS endpoint, on this machine."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(IDP_KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/protocol/openid-connect/certs"
    server.shutdown()
    server.server_close()


def oidc_settings(tmp_path: Path, jwks_url: str, **overrides: Any) -> CodecSettings:
    values: dict[str, Any] = {
        "var_dir": tmp_path,
        "embedded_stack": False,
        "payload_keys": SecretStr(KEY),
        "codec_oidc_issuer": ISSUER,
        "codec_oidc_audience": AUDIENCE,
        "codec_oidc_jwks_url": jwks_url,
        "codec_oidc_role": f"other-role,{ROLE}",
        **overrides,
    }
    return CodecSettings(**values)


@pytest.fixture
async def http(tmp_path: Path, jwks_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(oidc_settings(tmp_path, jwks_url))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://codec.council.example"
    ) as client:
        yield client


def access_token(
    *,
    key: rsa.RSAPrivateKey = IDP_KEY,
    kid: str = KID,
    lifetime: int = 300,
    **claims: Any,
) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "engineer-1",
        "iat": now,
        "exp": now + lifetime,
        "groups": [ROLE],
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


async def decode(http: httpx.AsyncClient, token: str) -> httpx.Response:
    codec = EncryptionCodec(KeyRing.parse(KEY))
    (sealed,) = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=SECRET)])
    return await http.post(
        "/decode",
        content=json_format.MessageToJson(Payloads(payloads=[sealed])),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


async def test_a_current_token_with_the_role_decodes(http: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        response = await decode(http, access_token())
    assert response.status_code == 200, response.text
    assert json_format.Parse(response.text, Payloads()).payloads[0].data == SECRET
    assert "engineer-1" not in repr(logs)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: access_token(groups=["caseworkers"]), "missing_role"),
        (lambda: access_token(groups=None), "missing_role"),
        (lambda: access_token(lifetime=-120), "expired"),
        (lambda: access_token(iss="https://id.elsewhere.example"), "wrong_issuer"),
        (lambda: access_token(aud="another-app"), "wrong_audience"),
        (lambda: access_token(key=OTHER_KEY), "bad_signature"),
        (lambda: access_token(key=OTHER_KEY, kid="not-the-idps"), "unknown_key"),
        (lambda: jwt.encode({"iss": ISSUER, "aud": AUDIENCE}, "s" * 32), "unknown_key"),
        (lambda: "not.a.jwt", "invalid_token"),
    ],
    ids=[
        "wrong role",
        "no role",
        "expired",
        "wrong issuer",
        "wrong audience",
        "wrong key",
        "unknown key",
        "shared secret",
        "garbage",
    ],
)
async def test_anything_else_is_refused(
    http: httpx.AsyncClient, token: Callable[[], str], reason: str
) -> None:
    presented = token()
    with capture_logs() as logs:
        response = await decode(http, presented)
    assert response.status_code == 401
    assert "invalid_token" in response.headers["www-authenticate"]
    assert "Placeholder" not in response.text
    assert [e.get("reason") for e in logs] == [reason]
    assert presented not in repr(logs)


async def test_the_role_claim_may_be_nested(tmp_path: Path, jwks_url: str) -> None:
    app = create_app(oidc_settings(tmp_path, jwks_url, codec_oidc_role_claim="realm_access.roles"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://c") as c:
        nested = await decode(c, access_token(realm_access={"roles": [ROLE]}, groups=[]))
        flat_only = await decode(c, access_token())
    assert (nested.status_code, flat_only.status_code) == (200, 401)


async def test_static_tokens_still_work_beside_oidc(tmp_path: Path, jwks_url: str) -> None:
    app = create_app(oidc_settings(tmp_path, jwks_url, codec_tokens=SecretStr("static-token")))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://c") as c:
        assert (await decode(c, "static-token")).status_code == 200
        assert (await decode(c, access_token())).status_code == 200


def test_with_oidc_static_tokens_are_optional(tmp_path: Path, jwks_url: str) -> None:
    assert codec_tokens(oidc_settings(tmp_path, jwks_url)) == ()


def test_oidc_is_configured_whole_or_not_at_all(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="OIDC needs all of"):
        CodecSettings(var_dir=tmp_path, codec_oidc_issuer=ISSUER)
