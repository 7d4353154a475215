"""The codec server's own settings, on top of the shared ones (same `LIFEEVENTS_` prefix)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

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
