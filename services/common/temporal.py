"""The one way every process connects to Temporal: the address and namespace, TLS (mTLS with
a client certificate, or an API key for Temporal Cloud) and the project's data converter."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client
from temporalio.service import TLSConfig

from services.common.codec import data_converter
from services.common.settings import Settings
from services.common.telemetry import temporal_interceptors

__all__ = ["TemporalTlsError", "cli_env", "connect", "tls_config"]


class TemporalTlsError(ValueError):
    """The TLS settings cannot make a connection: a file missing, or half of a pair."""


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """A client with the project's data converter. `lazy` defers the connection to first use,
    so a process can start (and retry) while Temporal is down."""
    api_key = settings.temporal_api_key
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        # Workers built from this client take its interceptors too: one place for traces.
        interceptors=temporal_interceptors(settings),
        tls=tls_config(settings),
        api_key=api_key.get_secret_value() if api_key else None,
        lazy=lazy,
    )


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The SDK's TLS for the settings: False for plaintext (the embedded dev server), True for
    TLS with the system's roots (Temporal Cloud with an API key), else the files read."""
    cert, key = settings.temporal_tls_cert_file, settings.temporal_tls_key_file
    if (cert is None) != (key is None):
        raise TemporalTlsError(
            "LIFEEVENTS_TEMPORAL_TLS_CERT_FILE and LIFEEVENTS_TEMPORAL_TLS_KEY_FILE go together: "
            "set both for mTLS, or neither"
        )
    ca, server_name = settings.temporal_tls_ca_file, settings.temporal_tls_server_name
    if not (cert or ca or server_name):
        return _tls_on(settings)
    return TLSConfig(
        server_root_ca_cert=_read(ca, "CA") if ca else None,
        client_cert=_read(cert, "client certificate") if cert else None,
        client_private_key=_read(key, "client key") if key else None,
        domain=server_name,
    )


def _tls_on(settings: Settings) -> bool:
    # An API key is a bearer credential: it never travels in the clear.
    return settings.temporal_tls or settings.temporal_api_key is not None


def cli_env(settings: Settings) -> dict[str, str]:
    """The same connection for the `temporal` CLI (`temporal options`), as environment
    variables: an API key in an argument would show in every process listing."""
    env = {"TEMPORAL_ADDRESS": settings.temporal_address}
    env["TEMPORAL_NAMESPACE"] = settings.temporal_namespace
    tls_config(settings)  # the same refusals as the SDK's
    files = {
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": settings.temporal_tls_ca_file,
        "TEMPORAL_TLS_CLIENT_CERT_PATH": settings.temporal_tls_cert_file,
        "TEMPORAL_TLS_CLIENT_KEY_PATH": settings.temporal_tls_key_file,
    }
    env |= {name: str(path) for name, path in files.items() if path is not None}
    if settings.temporal_tls_server_name:
        env["TEMPORAL_TLS_SERVER_NAME"] = settings.temporal_tls_server_name
    if settings.temporal_api_key:
        env["TEMPORAL_API_KEY"] = settings.temporal_api_key.get_secret_value()
    if _tls_on(settings) or any(files.values()) or settings.temporal_tls_server_name:
        env["TEMPORAL_TLS"] = "true"
    return env


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise TemporalTlsError(
            f"the Temporal TLS {what} {path} cannot be read: {error.strerror}"
        ) from None
