"""The two keys of the consent service: the share-token signing key and the API auth key.

Both come from settings when set (production: from the secret store); otherwise each is made
once under the var folder, readable by this user only, and reused after a restart.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from services.consent.settings import ConsentSettings

__all__ = [
    "api_auth_key",
    "private_key_pem",
    "share_token_key",
]

_SIGNING_KEY_FILE = "share-token-key.pem"
_API_KEY_FILE = "api-auth.key"


def _write_private(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)


def _load_private(pem: bytes) -> Ed25519PrivateKey:
    key = load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the share-token key must be an Ed25519 private key")
    return key


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def share_token_key(settings: ConsentSettings) -> Ed25519PrivateKey:
    if settings.consent_share_token_private_key is not None:
        return _load_private(settings.consent_share_token_private_key.get_secret_value().encode())
    path = settings.consent_key_dir / _SIGNING_KEY_FILE
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it first
            _write_private(path, private_key_pem(Ed25519PrivateKey.generate()))
    return _load_private(path.read_bytes())


def api_auth_key(settings: ConsentSettings) -> bytes:
    if settings.consent_api_auth_key is not None:
        return settings.consent_api_auth_key.get_secret_value().encode()
    path = settings.consent_key_dir / _API_KEY_FILE
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            _write_private(path, secrets.token_urlsafe(48).encode())
    return path.read_bytes().strip()
