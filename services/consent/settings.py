"""The consent service's own settings, on top of the shared ones (same `LIFEEVENTS_` prefix)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from contracts.topics import CONSENT
from services.common.settings import Settings
from services.consent.policy import DEFAULT_POLICY_PATH

__all__ = ["ConsentSettings"]


class ConsentSettings(Settings):
    consent_policy_path: Path = Field(
        default=DEFAULT_POLICY_PATH, description="The data-sharing policy (TOML)."
    )
    consent_topic: str = CONSENT
    consent_http_host: str = "127.0.0.1"
    consent_http_port: int = Field(default=8010, ge=1, le=65535)
    consent_share_token_ttl_seconds: int = Field(default=300, ge=5, le=3600)
    consent_share_token_private_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 private key (PEM) that signs share tokens. Unset: a key is "
        "made once in <var_dir>/consent/share-token-key.pem and kept there.",
    )
    consent_api_auth_key: SecretStr | None = Field(
        default=None,
        description="HMAC key for the API's bearer tokens (residents' from the portal, "
        "services'). Unset: made once in <var_dir>/consent/api-auth.key.",
    )
    consent_relay_interval_seconds: float = Field(
        default=2.0, gt=0, description="How often unpublished consent changes are retried."
    )

    @property
    def consent_key_dir(self) -> Path:
        return self.var_dir / "consent"
