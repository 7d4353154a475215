"""The codec server's own settings, on top of the shared ones (same `LIFEEVENTS_` prefix)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from services.common.settings import Settings

__all__ = ["CodecSettings"]

MIB = 1024 * 1024


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


class CodecSettings(Settings):
    codec_host: str = Field(
        default="127.0.0.1", description="Interface to listen on (0.0.0.0 behind a proxy)."
    )
    codec_port: int = Field(default=8081, ge=1, le=65535)
    codec_tokens: SecretStr | None = Field(
        default=None,
        description="Comma-separated bearer tokens allowed to encode/decode; unset: the "
        "embedded stack's generated var_dir/secrets/codec-tokens.",
    )
    codec_allowed_origins: str | None = Field(
        default=None,
        description="Comma-separated browser origins of the Temporal UI (CORS); default "
        "http://localhost:<temporal_ui_port> and http://127.0.0.1:<temporal_ui_port>.",
    )
    codec_namespaces: str | None = Field(
        default=None,
        description="Comma-separated namespaces a request's X-Namespace may name; default "
        "the temporal_namespace.",
    )
    codec_max_body_bytes: int = Field(default=8 * MIB, ge=1, description="One request.")
    codec_session_minutes: int = Field(
        default=480,
        ge=1,
        le=7 * 24 * 60,
        description="How long an engineer's sign-in on the codec server's page lasts.",
    )
    codec_oidc_issuer: str | None = Field(
        default=None,
        description="Issuer (`iss`) of the OIDC access tokens the Temporal UI passes; unset: "
        "no OIDC, only the static tokens and sign-in sessions.",
    )
    codec_oidc_audience: str | None = Field(
        default=None, description="Audience (`aud`) those access tokens must name."
    )
    codec_oidc_jwks_url: str | None = Field(
        default=None, description="The identity provider's signing keys (JWKS) URL."
    )
    codec_oidc_role: str | None = Field(
        default=None,
        description="Comma-separated roles or groups, one of which allows decoding.",
    )
    codec_oidc_role_claim: str = Field(
        default="groups",
        description="The claim holding them; a dotted path reaches into objects "
        "(Keycloak: realm_access.roles).",
    )

    @model_validator(mode="after")
    def _oidc_complete(self) -> CodecSettings:
        oidc = (
            self.codec_oidc_issuer,
            self.codec_oidc_audience,
            self.codec_oidc_jwks_url,
            self.codec_oidc_role,
        )
        if any(oidc) and not all(oidc):
            raise ValueError(
                "OIDC needs all of LIFEEVENTS_CODEC_OIDC_ISSUER, _AUDIENCE, _JWKS_URL and _ROLE"
            )
        return self

    @property
    def oidc_enabled(self) -> bool:
        return self.codec_oidc_issuer is not None

    @property
    def oidc_roles(self) -> frozenset[str]:
        return frozenset(_split(self.codec_oidc_role or ""))

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        if self.codec_allowed_origins is not None:
            return _split(self.codec_allowed_origins)
        port = self.temporal_ui_port
        return (f"http://localhost:{port}", f"http://127.0.0.1:{port}")

    @property
    def allowed_namespaces(self) -> frozenset[str]:
        if self.codec_namespaces is not None:
            return frozenset(_split(self.codec_namespaces))
        return frozenset({self.temporal_namespace})

    @property
    def token_file(self) -> Path:
        return self.var_dir / "secrets" / "codec-tokens"
