"""SCRAM credentials on a Kafka cluster that keeps its own (KRaft or ZooKeeper, not a managed
service whose console makes its users): how a new source system gets a principal to sign in
as, without restarting or re-formatting the cluster.

The credential is what Kafka stores for SCRAM (RFC 5802): a random salt and the password
salted with PBKDF2-HMAC over the mechanism's hash. The password itself never leaves this
process. aiokafka has no AlterUserScramCredentials, so its request is spelled here in
aiokafka's protocol types and sent through its admin client's connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from typing import Any, ClassVar, TypeAlias

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from services.common.kafka import KafkaAccess

__all__ = ["ITERATIONS", "salted_password", "upsert_scram_user"]

# Kafka's mechanism codes, and its hash for each.
_MECHANISMS = {"SCRAM-SHA-256": (1, "sha256"), "SCRAM-SHA-512": (2, "sha512")}
ITERATIONS = 8192  # Kafka accepts 4096 and up


def salted_password(password: str, salt: bytes, iterations: int, hash_name: str) -> bytes:
    """SCRAM's Hi(): PBKDF2 with HMAC over the mechanism's hash, the hash's length out."""
    return hashlib.pbkdf2_hmac(hash_name, password.encode(), salt, iterations)


class _AlterUserScramCredentialsResponse_v0(Response):  # type: ignore[misc]  # untyped base
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterUserScramCredentialsRequest_v0(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION: ClassVar[bool] = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = _AlterUserScramCredentialsResponse_v0
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(
                ("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)
            ),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


_Struct: TypeAlias = _AlterUserScramCredentialsRequest_v0


class _AlterUserScramCredentials(Request[_Struct]):  # type: ignore[misc]
    API_KEY = 51

    def __init__(self, upsertions: list[tuple[Any, ...]]) -> None:
        self._upsertions = upsertions

    def build(self, request_struct_class: type[_Struct]) -> _Struct:
        return request_struct_class([], self._upsertions, {})


async def upsert_scram_user(
    admin_access: KafkaAccess, name: str, password: str, mechanism: str = "SCRAM-SHA-512"
) -> None:
    """Create `name`'s SCRAM credential, or replace it: the old password stops working."""
    code, hash_name = _MECHANISMS[mechanism]
    salt = secrets.token_bytes(32)
    salted = salted_password(password, salt, ITERATIONS, hash_name)
    admin = AIOKafkaAdminClient(**admin_access.client_kwargs())
    await admin.start()
    try:
        response: Any = await admin._send_request(  # see the module docstring
            _AlterUserScramCredentials([(name, code, ITERATIONS, salt, salted, {})])
        )
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    for _user, error_code, _message, _tags in response.results:
        if error_code:
            raise for_code(error_code)()
