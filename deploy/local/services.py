"""Every service process `lifeevents run` starts, in start order. One place to add a service."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SERVICES", "ServiceSpec"]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str  # run as `python -m <module>`


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("workflow-worker", "workflows.worker"),
    ServiceSpec("orchestrator", "services.orchestrator"),
    ServiceSpec("consent", "services.consent"),
    ServiceSpec("intake", "services.intake"),
    ServiceSpec("codec", "services.codec"),
    ServiceSpec("residents", "services.residents"),
    ServiceSpec("council-tax", "services.counciltax"),
    ServiceSpec("electoral-services", "services.electoral"),
    ServiceSpec("school-admissions", "services.schools"),
    ServiceSpec("benefits", "services.benefits"),
    ServiceSpec("council-registers", "services.registers"),
    ServiceSpec("partners", "services.partners"),
    ServiceSpec("mail-catcher", "services.notifications.catcher"),
    ServiceSpec("notifications", "services.notifications"),
    # Composed in deploy/: the portal's ports are other services' adapters.
    ServiceSpec("portal", "deploy.portal"),
)
