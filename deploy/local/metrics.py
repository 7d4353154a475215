"""Metrics ports under `lifeevents run`: every service is a process on this one machine, so
each needs a /metrics port of its own. `LIFEEVENTS_METRICS_PORT` is the first service's; the
others count up from it in start order (in a deployment, each pod serves the one port)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from deploy.local.services import SERVICES, ServiceSpec
from services.common.settings import Settings

__all__ = ["EnvFor", "metrics_ports", "with_metrics_ports"]

EnvFor = Callable[[ServiceSpec], Mapping[str, str]]


def metrics_ports(settings: Settings) -> dict[str, int]:
    """Each service's /metrics port, by name; none when metrics are off."""
    base = settings.metrics_port
    if base is None:
        return {}
    # Port 0 asks the system for any free port: every process gets its own anyway.
    return {spec.name: base + index if base else 0 for index, spec in enumerate(SERVICES)}


def with_metrics_ports(settings: Settings, env_for: EnvFor | None) -> EnvFor | None:
    """`env_for` (what else a service's environment adds) plus the service's metrics port."""
    ports = metrics_ports(settings)
    if not ports:
        return env_for

    def env(spec: ServiceSpec) -> Mapping[str, str]:
        added = dict(env_for(spec)) if env_for is not None else {}
        added["LIFEEVENTS_METRICS_PORT"] = str(ports[spec.name])
        return added

    return env
