"""The SCRAM credential `lifeevents kafka add-source` stores is the one RFC 5802 defines:
checked against RFC 7677's SCRAM-SHA-256 example exchange (the broker, in the secured-stack
test, checks the SCRAM-SHA-512 one)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from deploy.kafka_users import salted_password


def test_the_salted_password_proves_rfc_7677s_example_client() -> None:
    salted = salted_password("pencil", base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096, "sha256")
    nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    auth_message = (
        f"n=user,r=rOprNGfwEbeRWgbNEkqO,r={nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
        f"c=biws,r={nonce}"
    ).encode()
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    assert base64.b64encode(proof).decode() == "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
