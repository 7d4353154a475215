"""What tests across the tree share that is not a fixture."""

from __future__ import annotations

import os

__all__ = ["subprocess_env"]


def subprocess_env(**settings: str) -> dict[str, str]:
    """The environment for a service run as a subprocess by a test: none of the developer's
    own `LIFEEVENTS_` settings, nor their `.env` file, but this test run's payload key, so
    that every process of the run (and the test's own clients) reads what the others
    encrypted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFEEVENTS_")}
    env["LIFEEVENTS_ENV_FILE"] = ""
    env["LIFEEVENTS_PAYLOAD_KEYS"] = os.environ["LIFEEVENTS_PAYLOAD_KEYS"]
    env.update(settings)
    return env
