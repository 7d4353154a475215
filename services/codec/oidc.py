"""OIDC access tokens from the Temporal UI (its `passAccessToken`), checked for a role.

A token decodes payloads only if the identity provider signed it (a key from its JWKS), it
is current, it was issued by the configured issuer for the configured audience, and its role
claim holds one of the configured roles. Refusals carry a reason code, never the token or
its claims (which name a person).
"""

from __future__ import annotations

from typing import Any

import jwt

from services.codec.settings import CodecSettings

__all__ = ["ALGORITHMS", "OidcCheck", "OidcRefused"]

# Asymmetric only: a token signed with a shared secret (or `none`) is never the IdP's.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")

# Clocks of the IdP and this server differ a little.
LEEWAY_SECONDS = 30


class OidcRefused(Exception):
    """The token is not accepted; `reason` is a code safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _claim(claims: dict[str, Any], path: str) -> object:
    value: object = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _roles_in(value: object) -> set[str]:
    """IdPs put one role as a string or several as a list."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str)}
    return set()


class OidcCheck:
    """Verifies access tokens against the IdP's keys, fetched and cached by PyJWKClient."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str,
        roles: frozenset[str],
        role_claim: str,
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._roles = roles
        self._role_claim = role_claim
        # Keys are cached; an unknown `kid` refetches the set once (key rotation at the IdP).
        self._keys = jwt.PyJWKClient(jwks_url, cache_jwk_set=True, lifespan=300, timeout=5)

    @classmethod
    def from_settings(cls, settings: CodecSettings) -> OidcCheck | None:
        issuer, audience = settings.codec_oidc_issuer, settings.codec_oidc_audience
        jwks_url = settings.codec_oidc_jwks_url
        # CodecSettings has checked that these come all together or not at all.
        if not (issuer and audience and jwks_url):
            return None
        return cls(
            issuer=issuer,
            audience=audience,
            jwks_url=jwks_url,
            roles=settings.oidc_roles,
            role_claim=settings.codec_oidc_role_claim,
        )

    def check(self, token: str) -> None:
        """Returns if the token may decode; raises OidcRefused otherwise. Blocks on the JWKS
        fetch when its cache is cold, so call it off the event loop."""
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=list(ALGORITHMS),
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise OidcRefused("expired") from None
        except jwt.InvalidAudienceError:
            raise OidcRefused("wrong_audience") from None
        except jwt.InvalidIssuerError:
            raise OidcRefused("wrong_issuer") from None
        except jwt.InvalidSignatureError:
            raise OidcRefused("bad_signature") from None
        except jwt.PyJWKClientConnectionError:
            raise OidcRefused("jwks_unreachable") from None
        except jwt.PyJWKClientError:
            raise OidcRefused("unknown_key") from None
        except jwt.PyJWTError:
            raise OidcRefused("invalid_token") from None
        if not _roles_in(_claim(claims, self._role_claim)) & self._roles:
            raise OidcRefused("missing_role")
