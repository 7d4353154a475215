"""The portal's own settings, on top of the shared ones (same `LIFEEVENTS_` prefix)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr

from services.common.settings import Settings

__all__ = ["PORTAL_DIR", "PortalSettings"]

PORTAL_DIR = Path(__file__).resolve().parent


class PortalSettings(Settings):
    portal_public_url: str = Field(
        default="http://localhost:8030",
        description="The base URL residents reach the portal at (links in messages).",
    )
    portal_host: str = Field(
        default="127.0.0.1", description="Interface to listen on (0.0.0.0 behind a proxy)."
    )
    portal_port: int = Field(default=8030, ge=1, le=65535)
    portal_council_name: str = Field(
        default="Exampleshire Council",
        min_length=1,
        max_length=100,
        description="The council's name, as its header, page titles and footer show it.",
    )
    portal_service_name: str = Field(default="Life events", min_length=1, max_length=60)
    portal_secret_key: SecretStr | None = Field(
        default=None,
        description="The key sign-in codes, session tokens, contacts and the pre-session "
        "CSRF token are hashed and signed with (HMAC-SHA256). Unset: made once in "
        "<var_dir>/portal/secret.key (mode 0600) and kept there.",
    )
    portal_cookie_secure: bool = Field(
        default=True,
        description="Cookies only over HTTPS, with the `__Host-` prefix. Browsers treat "
        "http://localhost and 127.0.0.1 as secure, so this holds locally too; false only "
        "behind plain HTTP on another host (never in production).",
    )
    portal_session_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="A session unused this long ends."
    )
    portal_session_absolute_hours: int = Field(
        default=12, ge=1, le=7 * 24, description="A session ends this long after sign-in."
    )
    portal_code_minutes: int = Field(
        default=10, ge=1, le=60, description="How long a sign-in code may be used."
    )
    portal_code_max_tries: int = Field(
        default=5, ge=1, le=20, description="Wrong tries before a code is spent."
    )
    portal_codes_per_contact: int = Field(
        default=5, ge=1, description="Codes one e-mail address or number may ask for per window."
    )
    portal_signins_per_client: int = Field(
        default=20,
        ge=1,
        description="Codes asked for from one client address per window, whatever the contact.",
    )
    portal_wrong_codes_per_client: int = Field(
        default=10,
        ge=1,
        description="Wrong codes from one client address per window before it is locked out.",
    )
    portal_rate_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    portal_static_dir: Path = Field(
        default=PORTAL_DIR / "static",
        description="Where the asset build puts the compiled CSS, GOV.UK Frontend's JS and "
        "images; served at /static.",
    )

    @property
    def portal_key_dir(self) -> Path:
        return self.var_dir / "portal"

    @property
    def session_idle(self) -> timedelta:
        return timedelta(minutes=self.portal_session_idle_minutes)

    @property
    def session_absolute(self) -> timedelta:
        return timedelta(hours=self.portal_session_absolute_hours)

    @property
    def code_lifetime(self) -> timedelta:
        return timedelta(minutes=self.portal_code_minutes)

    @property
    def rate_window(self) -> timedelta:
        return timedelta(minutes=self.portal_rate_window_minutes)
