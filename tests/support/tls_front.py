"""A TLS front for the Temporal dev server, which speaks only plaintext: it accepts TLS on a
port of its own, requires a client certificate signed by the given CA (mTLS, as a
self-hosted cluster or a load balancer in front of one would), and passes the bytes on.

The clients under test meet a real TLS handshake and a real certificate check; what they
carry after it (gRPC over HTTP/2) reaches the real server untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local.certs import Issued

__all__ = ["TlsFront", "tls_front"]


@dataclass
class TlsFront:
    """The address to give clients, and the common name of every client certificate the
    front accepted a connection with (so a test sees who came through it)."""

    address: str
    clients: Counter[str] = field(default_factory=Counter)


@contextlib.asynccontextmanager
async def tls_front(
    upstream: tuple[str, int], server: Issued, client_ca: Path, port: int
) -> AsyncIterator[TlsFront]:
    """Serve TLS on localhost:`port` in front of `upstream` while the block runs."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(client_ca))
    context.load_cert_chain(server.cert, server.key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])  # gRPC: HTTP/2 only
    pipes: set[asyncio.Task[None]] = set()
    front = TlsFront(f"localhost:{port}")

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert") or {}
        names = [v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName"]
        front.clients.update(names)
        try:
            up_reader, up_writer = await asyncio.open_connection(*upstream)
        except OSError:
            writer.close()
            return
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(_pipe(source, sink))
            pipes.add(task)
            task.add_done_callback(pipes.discard)

    listener = await asyncio.start_server(accept, "localhost", port, ssl=context)
    try:
        yield front
    finally:
        listener.close()
        for task in list(pipes):
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        await listener.wait_closed()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        sink.close()
