"""deploy/k8s: every manifest is valid Kubernetes, and follows the rules a schema cannot hold.

1. The schema: each manifest, as written and as kustomize renders the base and every overlay,
   validates against the JSON schema of Kubernetes `K8S_VERSION`, strict (an unknown or
   misspelt field is refused), from the schemas the `kubernetes-validate` package ships (no
   download, no cluster).
2. The project's rules: one Deployment per service `lifeevents run` starts (but the local
   mail catcher), running its module; probes, requests and limits; non-root and a read-only
   root; secrets only by reference; a NetworkPolicy of its own, behind a default deny, and
   the egress labels its settings need; every Secret it names documented in the guide.
3. A deliberately broken manifest fails each: a misspelt field, a wrong type, and a
   Deployment that breaks a project rule.

Rendering uses `kubectl kustomize` (kustomize built into kubectl; it reads only the files).
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]
from pydantic_settings import BaseSettings

from deploy.local.services import SERVICES, ServiceSpec
from services.codec.settings import CodecSettings
from services.consent.settings import ConsentSettings
from services.intake.settings import IntakeSettings
from services.notifications.settings import NotificationSettings
from services.orchestrator.settings import OrchestratorSettings
from services.partners.settings import PartnersSettings
from services.portal.settings import PortalSettings

K8S_VERSION = "1.33"  # the oldest Kubernetes the manifests promise to run on

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = sorted(p for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
GUIDE = K8S / "README.md"

# Processes `lifeevents run` starts that are not deployed: stand-ins for the council's own.
LOCAL_ONLY = frozenset({"mail-catcher"})

NAME = "app.kubernetes.io/name"
EGRESS = "lifeevents.io/egress-"
BEFORE_ROLLOUT = "lifeevents.io/before-rollout"


def secret_settings() -> frozenset[str]:
    """The variables of every setting typed `SecretStr` in the services' settings."""
    classes: tuple[type[BaseSettings], ...] = (
        CodecSettings,
        ConsentSettings,
        IntakeSettings,
        NotificationSettings,
        OrchestratorSettings,
        PartnersSettings,
        PortalSettings,
    )
    return frozenset(
        f"LIFEEVENTS_{name.upper()}"
        for settings in classes
        for name, field in settings.model_fields.items()
        if "SecretStr" in str(field.annotation)
    )


# A variable holds a secret if its setting is a `SecretStr`, or if its name says so (a store's
# URL carries its password; a setting not yet typed as secret is caught by its name).
SECRET_SETTINGS = secret_settings()
SECRET_NAME = re.compile(r"PASSWORD|SECRET|PRIVATE|API_KEY|AUTH_KEY|DATABASE_URL")


def is_secret(variable: str) -> bool:
    return variable in SECRET_SETTINGS or SECRET_NAME.search(variable) is not None


# RFC 5737 documentation ranges: the base's placeholders, which an overlay must replace.
PLACEHOLDER_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)


def is_placeholder(cidr: str) -> bool:
    network = ipaddress.ip_network(cidr)
    return isinstance(network, ipaddress.IPv4Network) and any(
        network.subnet_of(r) for r in PLACEHOLDER_RANGES
    )


Doc = dict[str, Any]


# --- reading and rendering ------------------------------------------------------------------


def load(path: Path) -> list[Doc]:
    with path.open() as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def kustomization(folder: Path) -> Doc:
    (doc,) = load(folder / "kustomization.yaml")
    return doc


def local_resources(folder: Path) -> list[Path]:
    """The files (not folders) a kustomization lists as resources."""
    listed = [folder / entry for entry in kustomization(folder).get("resources", [])]
    return [p for p in listed if p.suffix == ".yaml"]


def render(folder: Path) -> list[Doc]:
    return copy.deepcopy(_rendered(folder))


@functools.cache
def _rendered(folder: Path) -> list[Doc]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with kustomize) is not installed: rendered output not checked")
    done = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def label(doc: Doc) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


# --- 1. the schema --------------------------------------------------------------------------


def schema_errors(doc: Doc) -> list[str]:
    """What the Kubernetes schema (strict) says is wrong with `doc`; [] if nothing."""
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(part) for part in error.path)
        return [f"{label(doc)}: {where}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"{label(doc)}: {error.message}"]  # an unknown kind is an error too
    return []


def manifest_files() -> list[Path]:
    files = local_resources(BASE)
    for overlay in OVERLAYS:
        files += local_resources(overlay)
    return files


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_each_manifest_file_is_valid_kubernetes(path: Path) -> None:
    docs = load(path)
    assert docs, f"{path} holds no manifest"
    assert [e for doc in docs for e in schema_errors(doc)] == []


@pytest.mark.parametrize(
    "folder", [BASE, *OVERLAYS], ids=lambda p: str(p.relative_to(K8S)) or "base"
)
def test_rendered_manifests_are_valid_kubernetes(folder: Path) -> None:
    docs = render(folder)
    assert [e for doc in docs for e in schema_errors(doc)] == []


@pytest.mark.parametrize("folder", [BASE, *OVERLAYS], ids=lambda p: p.name)
def test_every_yaml_file_is_listed_in_its_kustomization(folder: Path) -> None:
    # A file left out of `resources` (or `patches`) would never be deployed, nor validated.
    spec = kustomization(folder)
    listed = {p.name for p in local_resources(folder)}
    listed |= {patch["path"] for patch in spec.get("patches", []) if "path" in patch}
    on_disk = {p.name for p in folder.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


def test_there_is_an_overlay() -> None:
    assert OVERLAYS, "deploy/k8s/overlays has no council overlay"


# --- 2. the project's rules -----------------------------------------------------------------


def deployable() -> dict[str, str]:
    return {s.name: s.module for s in SERVICES if s.name not in LOCAL_ONLY}


def of_kind(docs: list[Doc], kind: str) -> Iterator[Doc]:
    return (d for d in docs if d.get("kind") == kind)


def pod_labels(workload: Doc) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"].get("labels", {})
    return labels


def selects(policy: Doc, labels: dict[str, str]) -> bool:
    selector = policy["spec"].get("podSelector", {})
    if selector.get("matchExpressions"):
        raise AssertionError(f"{label(policy)}: use matchLabels, so this test can read it")
    wanted: dict[str, str] = selector.get("matchLabels", {})
    return all(labels.get(k) == v for k, v in wanted.items())


def secrets_named(workload: Doc) -> set[str]:
    spec = workload["spec"]["template"]["spec"]
    names = set()
    for container in spec["containers"]:
        for var in container.get("env", []):
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                names.add(ref["name"])
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            names.add(volume["secret"]["secretName"])
    return names


def container_problems(where: str, container: Doc, volumes: set[str]) -> list[str]:
    problems = []
    ports = {p.get("name") for p in container.get("ports", [])}
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = container.get(kind)
        if probe is None:
            if kind != "startupProbe":  # optional
                problems.append(f"{where}: no {kind}")
            continue
        action = probe.get("httpGet") or probe.get("tcpSocket") or {}
        port = action.get("port")
        if isinstance(port, str) and port not in ports:
            problems.append(f"{where}: {kind} names port {port!r}, which it does not declare")
    resources = container.get("resources", {})
    for part in ("requests", "limits"):
        for what in ("cpu", "memory"):
            if what not in resources.get(part, {}):
                problems.append(f"{where}: no {what} {part}")
    context = container.get("securityContext", {})
    if context.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{where}: root filesystem not read-only")
    if context.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{where}: privilege escalation not refused")
    if context.get("capabilities", {}).get("drop") != ["ALL"]:
        problems.append(f"{where}: capabilities not all dropped")
    for var in container.get("env", []):
        if "value" in var and is_secret(var["name"]):
            problems.append(f"{where}: {var['name']} is a literal; a secret is a secretKeyRef")
    for source in container.get("envFrom", []):
        if "configMapRef" not in source:
            problems.append(f"{where}: envFrom takes a ConfigMap only; secrets one by one")
    for mount in container.get("volumeMounts", []):
        if mount["name"] not in volumes:
            problems.append(f"{where}: mounts {mount['name']!r}, which is no volume of its pod")
    return problems


def egress_problems(where: str, workload: Doc) -> list[str]:
    """The pod's egress labels say what it reaches outside the cluster; its settings say what
    it needs. They must agree, so a Deployment given a store (say) is also let through."""
    labels = pod_labels(workload)
    env = {
        var["name"]
        for c in workload["spec"]["template"]["spec"]["containers"]
        for var in c.get("env", [])
    }
    needs = {
        "postgresql": any(name.endswith("_DATABASE_URL") for name in env),
        "kafka": "LIFEEVENTS_KAFKA_USERNAME" in env,
        "temporal": "LIFEEVENTS_TEMPORAL_API_KEY" in env,
    }
    problems = []
    for what, needed in needs.items():
        has = labels.get(EGRESS + what) == "true"
        if needed != has:
            problems.append(
                f"{where}: {'needs' if needed else 'does not need'} {what}, "
                f"but its {EGRESS}{what} label is {'missing' if needed else 'set'}"
            )
    return problems


def principal_problems(where: str, container: Doc, module: str) -> list[str]:
    """A service signs in to Kafka as the principal `lifeevents kafka acls` grants: the
    settings' kafka_principal_prefix (`lifeevents-`) and its folder under services/."""
    env = container.get("env", [])
    username = next((v for v in env if v["name"] == "LIFEEVENTS_KAFKA_USERNAME"), None)
    if username is None:
        return []
    expected = f"lifeevents-{module.split('.')[1]}"
    if username.get("value") != expected:
        return [f"{where}: signs in to Kafka as {username.get('value')!r}, not {expected!r}"]
    return []


def project_problems(docs: list[Doc], services: dict[str, str] | None = None) -> list[str]:
    """Every rule of the project a schema cannot check, over one set of manifests."""
    services = deployable() if services is None else services
    problems: list[str] = []
    deployments = {d["metadata"]["name"]: d for d in of_kind(docs, "Deployment")}
    policies = list(of_kind(docs, "NetworkPolicy"))

    for name in sorted(services.keys() - deployments.keys()):
        problems.append(f"service {name} has no Deployment")
    for name in sorted(deployments.keys() - services.keys()):
        problems.append(f"Deployment {name} runs no service of deploy/local/services.py")

    for doc in of_kind(docs, "Secret"):
        problems.append(f"{label(doc)}: secrets are made by the platform team, not committed")
    for doc in of_kind(docs, "ConfigMap"):
        for key in doc.get("data", {}):
            if is_secret(key):
                problems.append(f"{label(doc)}: {key} looks secret; reference it from a Secret")

    if not any(
        p["spec"].get("podSelector") == {}
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
        for p in policies
    ):
        problems.append("no default-deny NetworkPolicy (every pod, ingress and egress)")
    for key in {
        k for p in policies for k in p["spec"].get("podSelector", {}).get("matchLabels", {})
    }:
        if key.startswith(EGRESS) and not key.removeprefix(EGRESS):
            problems.append(f"egress label {key} names nothing")

    for name, deployment in sorted(deployments.items()):
        where = f"Deployment/{name}"
        spec = deployment["spec"]["template"]["spec"]
        labels = pod_labels(deployment)
        if labels.get(NAME) != name:
            problems.append(f"{where}: pods not labelled {NAME}={name}")
        pod_context = spec.get("securityContext", {})
        if pod_context.get("runAsNonRoot") is not True:
            problems.append(f"{where}: pods may run as root")
        if pod_context.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: no RuntimeDefault seccomp profile (Pod Security restricted)")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: mounts a Kubernetes API token it has no use for")
        containers = spec["containers"]
        if name in services and containers[0].get("command") != ["python", "-m", services[name]]:
            problems.append(f"{where}: does not run `python -m {services[name]}`")
        if name in services:
            problems += principal_problems(where, containers[0], services[name])
        volumes = {v["name"] for v in spec.get("volumes", [])}
        for container in containers:
            problems += container_problems(f"{where}/{container['name']}", container, volumes)
        own = [
            p
            for p in policies
            if p["spec"].get("podSelector", {}).get("matchLabels") == {NAME: name}
        ]
        if not own:
            problems.append(f"{where}: no NetworkPolicy of its own")
        for key in (k for k, v in labels.items() if k.startswith(EGRESS) and v == "true"):
            if not any(
                p["spec"].get("podSelector", {}).get("matchLabels") == {key: "true"}
                for p in policies
            ):
                problems.append(f"{where}: label {key}, but no NetworkPolicy selects it")
        problems += egress_problems(where, deployment)
        http = [p for c in containers for p in c.get("ports", []) if p.get("name") != "metrics"]
        service = [s for s in of_kind(docs, "Service") if s["spec"].get("selector") == {NAME: name}]
        if http and not service:
            problems.append(f"{where}: serves HTTP but no Service selects it")
        for s in service:
            names = {p.get("name") for p in http}
            for port in s["spec"]["ports"]:
                if port.get("targetPort") not in names:
                    problems.append(f"{label(s)}: targetPort {port.get('targetPort')!r} unknown")
    return problems


def base_docs() -> list[Doc]:
    return [doc for path in local_resources(BASE) for doc in load(path)]


def test_the_base_follows_the_project_rules() -> None:
    assert project_problems(base_docs()) == []


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_each_overlay_follows_the_project_rules(overlay: Path) -> None:
    assert project_problems(render(overlay)) == []


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_an_overlay_puts_everything_in_one_namespace_with_its_own_addresses(
    overlay: Path,
) -> None:
    docs = render(overlay)
    (namespace,) = [d["metadata"]["name"] for d in of_kind(docs, "Namespace")]
    elsewhere = [
        label(d)
        for d in docs
        if d["kind"] != "Namespace" and d["metadata"].get("namespace") != namespace
    ]
    assert elsewhere == []
    left = [
        f"{label(p)}: {block['cidr']}"
        for p in of_kind(docs, "NetworkPolicy")
        for rule in p["spec"].get("egress", [])
        for peer in rule.get("to", [])
        if (block := peer.get("ipBlock")) and is_placeholder(block["cidr"])
    ]
    assert left == [], "the base's placeholder address ranges must be replaced"


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_what_the_migration_needs_is_applied_before_the_rollout(overlay: Path) -> None:
    # The guide applies `-l lifeevents.io/before-rollout=true` first, waits for the Job, then
    # applies the rest: so the Job, its settings, its namespace and every NetworkPolicy that
    # lets it out carry the label, and no service does.
    docs = render(overlay)
    first = [d for d in docs if d["metadata"].get("labels", {}).get(BEFORE_ROLLOUT) == "true"]
    (job,) = [d for d in first if d["kind"] == "Job"]
    job_labels = pod_labels(job)
    for policy in of_kind(docs, "NetworkPolicy"):
        if selects(policy, job_labels):
            assert policy in first, f"{label(policy)} lets the Job out but comes after it"
    env_from = {
        s["configMapRef"]["name"]
        for c in job["spec"]["template"]["spec"]["containers"]
        for s in c.get("envFrom", [])
    }
    assert env_from <= {d["metadata"]["name"] for d in first if d["kind"] == "ConfigMap"}
    assert any(d["kind"] == "Namespace" for d in first)
    assert not [label(d) for d in first if d["kind"] in ("Deployment", "Service")]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "lifeevents",
        "db",
        "upgrade",
    ]


def test_every_secret_the_manifests_name_is_in_the_guide() -> None:
    guide = GUIDE.read_text()
    workloads = [d for d in base_docs() if d["kind"] in ("Deployment", "Job")]
    named = set().union(*(secrets_named(w) for w in workloads))
    assert named, "the manifests reference no Secret at all"
    assert sorted(s for s in named if f"`{s}`" not in guide) == []


# --- 3. deliberately broken manifests fail ----------------------------------------------------


def intake_deployment() -> Doc:
    (doc,) = [d for d in load(BASE / "intake.yaml") if d["kind"] == "Deployment"]
    return doc


def test_a_correct_deployment_passes_the_schema() -> None:
    assert schema_errors(intake_deployment()) == []


def test_a_misspelt_field_fails_the_schema() -> None:
    broken = intake_deployment()
    probe = broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    probe["httpGet"]["paht"] = probe["httpGet"].pop("path")
    (error,) = schema_errors(broken)
    assert "'paht' was unexpected" in error
    assert "livenessProbe.httpGet" in error


def test_a_wrong_type_fails_the_schema() -> None:
    broken = intake_deployment()
    broken["spec"]["replicas"] = "two"
    (error,) = schema_errors(broken)
    assert "spec.replicas" in error


def test_an_unknown_kind_fails_the_schema() -> None:
    broken = {"apiVersion": "apps/v1", "kind": "Deploymnet", "metadata": {"name": "intake"}}
    assert schema_errors(broken) != []


def test_a_deployment_without_probes_or_limits_breaks_the_rules() -> None:
    docs = base_docs()
    broken = copy.deepcopy(docs)
    (intake,) = [
        d for d in broken if d["kind"] == "Deployment" and d["metadata"]["name"] == "intake"
    ]
    container = intake["spec"]["template"]["spec"]["containers"][0]
    del container["livenessProbe"]
    del container["resources"]["limits"]
    assert schema_errors(intake) == []  # valid Kubernetes, all the same
    assert set(project_problems(broken)) == {
        "Deployment/intake/intake: no livenessProbe",
        "Deployment/intake/intake: no cpu limits",
        "Deployment/intake/intake: no memory limits",
    }


def test_a_literal_secret_breaks_the_rules() -> None:
    broken = base_docs()
    (consent,) = [
        d for d in broken if d["kind"] == "Deployment" and d["metadata"]["name"] == "consent"
    ]
    container = consent["spec"]["template"]["spec"]["containers"][0]
    container["env"].append({"name": "LIFEEVENTS_KAFKA_PASSWORD", "value": "hunter2"})
    assert project_problems(broken) == [
        "Deployment/consent/consent: LIFEEVENTS_KAFKA_PASSWORD is a literal; "
        "a secret is a secretKeyRef"
    ]


def test_a_service_without_its_own_network_policy_breaks_the_rules() -> None:
    broken = [
        d
        for d in base_docs()
        if not (d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "codec")
    ]
    assert project_problems(broken) == ["Deployment/codec: no NetworkPolicy of its own"]


def test_a_store_without_the_way_to_postgresql_breaks_the_rules() -> None:
    broken = base_docs()
    (residents,) = [
        d for d in broken if d["kind"] == "Deployment" and d["metadata"]["name"] == "residents"
    ]
    del residents["spec"]["template"]["metadata"]["labels"][EGRESS + "postgresql"]
    assert project_problems(broken) == [
        "Deployment/residents: needs postgresql, but its "
        "lifeevents.io/egress-postgresql label is missing"
    ]


def test_a_new_service_without_a_manifest_breaks_the_rules() -> None:
    new = ServiceSpec("parking-permits", "services.parking")
    services = {**deployable(), new.name: new.module}
    assert project_problems(base_docs(), services) == ["service parking-permits has no Deployment"]


def test_a_broken_file_fails_when_the_base_is_rendered(tmp_path: Path) -> None:
    # The whole way CI takes, on a copy of the base with one misspelt field in one file.
    broken = tmp_path / "base"
    shutil.copytree(BASE, broken)
    intake = broken / "intake.yaml"
    text = intake.read_text()
    assert text.count("containerPort: 8020") == 1
    intake.write_text(text.replace("containerPort: 8020", "containerPrt: 8020"))
    errors = [e for doc in render(broken) for e in schema_errors(doc)]
    assert len(errors) == 1
    assert "Deployment/intake" in errors[0]
    # The schema's first complaint: the port lost its required field (and has an unknown one).
    assert "containers.0.ports.0" in errors[0]
    assert "'containerPort' is a required property" in errors[0]
