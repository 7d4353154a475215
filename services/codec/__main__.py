"""`python -m services.codec`: the codec server under uvicorn.

`python -m services.codec new-key` prints a fresh payload key entry (`id:base64key`) and
`python -m services.codec new-token` a fresh bearer token, for rotation.
SIGTERM or Ctrl-C stops it cleanly.
"""

from __future__ import annotations

import asyncio
import secrets
import sys

import structlog
import uvicorn

from services.codec.api import create_app
from services.codec.settings import CodecSettings
from services.common.codec import new_key_spec
from services.common.http import serve_until_signalled
from services.common.logging import configure_logging

log = structlog.get_logger(__name__)


async def serve(settings: CodecSettings) -> None:
    config = uvicorn.Config(
        create_app(settings),
        host=settings.codec_host,
        port=settings.codec_port,
        log_config=None,  # the root logger is configured (and redacted) by configure_logging
        access_log=False,  # request lines add nothing the app's own events do not say
        lifespan="off",
    )
    await serve_until_signalled(config, "codec")


def main(argv: list[str]) -> int:
    if argv == ["new-key"]:
        print(new_key_spec())
        return 0
    if argv == ["new-token"]:
        print(secrets.token_urlsafe(32))
        return 0
    if argv:
        print("usage: python -m services.codec [new-key | new-token]", file=sys.stderr)
        return 2
    settings = CodecSettings()
    configure_logging(settings.log_level, settings.log_format)
    log.info(
        "codec.starting",
        host=settings.codec_host,
        port=settings.codec_port,
        origins=list(settings.allowed_origins),
        namespaces=sorted(settings.allowed_namespaces),
        # Where the tokens come from (never the tokens themselves).
        tokens_from="LIFEEVENTS_CODEC_TOKENS"
        if settings.codec_tokens is not None
        else str(settings.token_file),
        oidc_issuer=settings.codec_oidc_issuer,
    )
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
