"""Temporal payload encryption: an AES-256-GCM `PayloadCodec` with a rotatable key ring.

Everything a workflow carries (inputs, results, activity arguments, memos, signal and update
arguments, failure details) passes through `EncryptionCodec` before it leaves the process, so
the Temporal server and its database only ever see ciphertext. Failure messages and stack
traces are moved into an encoded (hence encrypted) attribute by the encoded-attributes
failure converter. Search attributes are *not* encrypted (the server indexes them): they must
never carry personal data.

Keys: `LIFEEVENTS_PAYLOAD_KEYS` is a comma-separated key ring of `key-id:base64-key` (32-byte
keys). The first key encrypts; every key decrypts. Rotation: add the new key *second* on
every process, restart, then move it first and restart again; drop an old key only once no
retained history still needs it. With no key configured, the embedded stack generates one
key once into `<var_dir>/secrets/payload-keys` (mode 0600, same format, one key a line).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import os
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from services.common.settings import Settings

__all__ = [
    "ENCODING",
    "KEY_ID_METADATA",
    "EncryptionCodec",
    "KeyRing",
    "PayloadDecryptionError",
    "PayloadKey",
    "PayloadKeyConfigError",
    "UnknownPayloadKeyError",
    "data_converter",
    "key_file",
    "key_ring",
    "new_key_spec",
    "write_secret_once",
]

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM standard nonce; random per payload
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class PayloadKeyConfigError(ValueError):
    """The configured key ring is malformed (the message never contains key material)."""


class PayloadDecryptionError(ValueError):
    """A payload could not be decrypted. Messages name the key id, never payload contents."""


class UnknownPayloadKeyError(PayloadDecryptionError):
    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(
            f"payload is encrypted under key id {key_id!r}, which is not in this process's "
            "key ring (LIFEEVENTS_PAYLOAD_KEYS)"
        )


@dataclasses.dataclass(frozen=True)
class PayloadKey:
    key_id: str
    key: bytes = dataclasses.field(repr=False)

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.key_id):
            raise PayloadKeyConfigError(
                f"payload key id {self.key_id!r} must be 1-64 of A-Z a-z 0-9 . _ -"
            )
        if len(self.key) != KEY_BYTES:
            raise PayloadKeyConfigError(
                f"payload key {self.key_id!r} must be {KEY_BYTES} bytes (base64), "
                f"got {len(self.key)}"
            )


@dataclasses.dataclass(frozen=True)
class KeyRing:
    """Ordered keys: `keys[0]` encrypts, all of them decrypt."""

    keys: tuple[PayloadKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise PayloadKeyConfigError("the payload key ring is empty")
        ids = [k.key_id for k in self.keys]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise PayloadKeyConfigError(f"payload key ids appear twice: {duplicates}")

    @property
    def primary(self) -> PayloadKey:
        return self.keys[0]

    def get(self, key_id: str) -> PayloadKey | None:
        return next((k for k in self.keys if k.key_id == key_id), None)

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        """`id:base64key` entries separated by commas or new lines; `#` starts a comment."""
        keys: list[PayloadKey] = []
        for line in spec.splitlines():
            for entry in line.split("#", 1)[0].split(","):
                entry = entry.strip()
                if not entry:
                    continue
                key_id, sep, encoded = entry.partition(":")
                if not sep:
                    raise PayloadKeyConfigError(
                        "each payload key must be written `key-id:base64-key`"
                    )
                try:
                    key = base64.b64decode(encoded.strip(), validate=True)
                except (binascii.Error, ValueError):
                    raise PayloadKeyConfigError(
                        f"payload key {key_id.strip()!r} is not valid base64"
                    ) from None
                keys.append(PayloadKey(key_id.strip(), key))
        return cls(tuple(keys))

    def spec(self) -> str:
        return ",".join(_entry(k) for k in self.keys)


def _entry(key: PayloadKey) -> str:
    return f"{key.key_id}:{base64.b64encode(key.key).decode()}"


def new_key_spec(now: datetime | None = None) -> str:
    """A fresh `id:base64key` entry; the id says when it was made, never what it protects."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d")
    return _entry(PayloadKey(f"k{stamp}-{secrets.token_hex(4)}", AESGCM.generate_key(256)))


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over the whole serialized payload (metadata and data).

    The key id is bound into the ciphertext as associated data, so relabelling a payload
    with another key id fails authentication like any other tampering. Payloads that are
    already `binary/encrypted` are passed through on encode (not wrapped twice: they are
    ciphertext already, and one decode must give the plaintext back); payloads that are not
    encrypted are passed through on decode, so history written before encryption was
    switched on still reads (the price: a plain payload is accepted unauthenticated).
    """

    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys
        self._ciphers = {k.key_id: AESGCM(k.key) for k in keys.keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") == ENCODING:
            return payload
        key_id = self._keys.primary.key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        raw_id = payload.metadata.get(KEY_ID_METADATA)
        if raw_id is None:
            raise PayloadDecryptionError(f"encrypted payload has no {KEY_ID_METADATA!r} metadata")
        key_id = raw_id.decode("utf-8", errors="replace")[:64]  # echoed in errors: bounded
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownPayloadKeyError(key_id)
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise PayloadDecryptionError(
                f"payload under key id {key_id!r} failed authentication: "
                "it was altered, or encrypted with another key of the same id"
            ) from None
        return Payload.FromString(plain)


def key_file(settings: Settings) -> Path:
    return settings.var_dir / "secrets" / "payload-keys"


def key_ring(settings: Settings) -> KeyRing:
    """The configured key ring; for the embedded stack, the generated one (made once)."""
    if settings.payload_keys is not None:
        return KeyRing.parse(settings.payload_keys.get_secret_value())
    path = key_file(settings)
    if not path.exists():
        if not settings.embedded_stack:
            raise PayloadKeyConfigError(
                "set LIFEEVENTS_PAYLOAD_KEYS (id:base64key,...): keys are generated only for "
                "the embedded stack"
            )
        write_secret_once(
            path, f"# Temporal payload keys: first encrypts, all decrypt.\n{new_key_spec()}\n"
        )
    return KeyRing.parse(path.read_text(encoding="utf-8"))


def write_secret_once(path: Path, content: str) -> None:
    """Write `content` to `path` unless it exists, atomically, readable by the owner only.

    Every process of `lifeevents run` may get here at once; exactly one file wins and all of
    them then read the same keys.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use its file
            os.link(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def data_converter(settings: Settings) -> DataConverter:
    """The project's converter: pydantic payloads, encrypted; failures with encoded attributes."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(key_ring(settings)),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
