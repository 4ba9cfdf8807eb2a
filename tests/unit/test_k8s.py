"""deploy/k8s: the kustomization renders, every object is valid for Kubernetes
(kubernetes-validate's bundled schemas, offline, strict), and the manifests keep the platform's
rules: probes, resources, disruption budgets, autoscalers only where stateless, one audit writer,
secrets as files, every URL setting pointing at a Service on its port.

The kustomization is rendered by a small loader of its `resources` list and `namespace` (the only
features it uses), so that the test needs no binary; where `kubectl` is installed, its own
rendering must give the same objects.
"""

from __future__ import annotations

import copy
import functools
import importlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from devstack.stack import SERVICE_PORTS

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy/k8s/base"
README = ROOT / "deploy/k8s/README.md"
KUBERNETES_VERSIONS = ("1.31.0", "1.37.0")
STATELESS = {"identity", "consent", "delivery", "notify"}
SECRETS_DIR = "/run/secrets/securact/"
CLUSTER_SCOPED = {"Namespace"}
# Settings whose value carries a password come from the service's Secret (checked there).
THIRD_PARTY_URLS = {"tsa_url"}
SECRET_URLS = {"amqp_url", "store_url"}

Manifest = dict[str, Any]


def render(directory: Path = BASE) -> list[Manifest]:
    """What `kubectl kustomize` gives for a kustomization of resources and a namespace."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - {"apiVersion", "kind", "namespace", "resources"}
    assert not unsupported, f"the loader does not implement {unsupported}: use kubectl"
    namespace = kustomization.get("namespace")
    objects: list[Manifest] = []
    for resource in kustomization["resources"]:
        for doc in yaml.safe_load_all((directory / resource).read_text()):
            if doc is None:
                continue
            if namespace and doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = namespace
            objects.append(doc)
    return objects


def _key(manifest: Manifest) -> tuple[str, str]:
    return manifest["kind"], manifest["metadata"]["name"]


@functools.cache
def _rendered() -> list[Manifest]:
    return render()


def _objects() -> dict[tuple[str, str], Manifest]:
    # Parsed once (YAML parsing dominates); each caller gets its own copy.
    return {_key(m): m for m in copy.deepcopy(_rendered())}


def _container(name: str) -> Manifest:
    pod = _objects()[("Deployment", name)]["spec"]["template"]["spec"]
    containers: list[Manifest] = pod["containers"]
    return next(c for c in containers if c["name"] == name)


def _env(name: str) -> dict[str, str]:
    """The variables the service's container gets: its ConfigMaps, then its own `env`."""
    objects = _objects()
    container = _container(name)
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(objects[("ConfigMap", source["configMapRef"]["name"])].get("data") or {})
    env.update({item["name"]: item["value"] for item in container.get("env", [])})
    return env


def test_loader_renders_what_kubectl_renders() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the loader's rendering is used alone")
    result = subprocess.run(
        [kubectl, "kustomize", str(BASE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    theirs = sorted(yaml.safe_load_all(result.stdout), key=_key)
    assert theirs == sorted(render(), key=_key)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_for_kubernetes(version: str) -> None:
    objects = render()
    assert len(objects) > 20
    for manifest in objects:
        # Strict: a misspelt field is an error, not silently dropped by the API server.
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_validator_rejects_misspelt_and_mistyped_fields() -> None:
    deployment = _objects()[("Deployment", "audit")]
    misspelt = {**deployment, "spec": {**deployment["spec"], "replica": 1}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSIONS[-1], strict=True)
    mistyped = {**deployment, "spec": {**deployment["spec"], "replicas": "one"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(mistyped, KUBERNETES_VERSIONS[-1], strict=True)


def test_namespace_enforces_the_restricted_pod_security_standard() -> None:
    namespace = _objects()[("Namespace", "securact")]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert all(
        m["metadata"].get("namespace") == "securact" for m in render() if m["kind"] != "Namespace"
    )


@pytest.mark.parametrize("name", sorted(SERVICE_PORTS))
def test_service_runs_with_probes_resources_and_a_disruption_budget(name: str) -> None:
    objects = _objects()
    port = SERVICE_PORTS[name]
    container = _container(name)
    assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    # Liveness must not test dependencies: a broker outage would restart every pod.
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    service = objects[("Service", name)]
    assert service["spec"]["ports"] == [
        {"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}
    ]
    selector = objects[("Deployment", name)]["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"] == selector
    assert objects[("PodDisruptionBudget", name)]["spec"]["selector"]["matchLabels"] == selector


@pytest.mark.parametrize("name", sorted(SERVICE_PORTS))
def test_autoscalers_only_for_stateless_services(name: str) -> None:
    objects = _objects()
    deployment = objects[("Deployment", name)]
    hpa = objects.get(("HorizontalPodAutoscaler", name))
    if name in STATELESS:
        assert hpa is not None
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert hpa["spec"]["minReplicas"] >= 2
        assert objects[("PodDisruptionBudget", name)]["spec"]["minAvailable"] == 1
    else:
        assert hpa is None
    if name != "audit":
        assert deployment["spec"]["replicas"] >= 2


def test_audit_is_a_single_writer_never_two_at_once() -> None:
    objects = _objects()
    deployment = objects[("Deployment", "audit")]
    assert deployment["spec"]["replicas"] == 1
    # A rolling update would run the old and the new journal writer side by side.
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    # minAvailable 1 on a single replica would block every node drain.
    assert objects[("PodDisruptionBudget", "audit")]["spec"] == {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "audit"}},
        "maxUnavailable": 1,
    }
    assert "single-active-consumer" in README.read_text()


def _settings(name: str) -> Any:
    return importlib.import_module(f"{name}.settings").Settings


@pytest.mark.parametrize("name", sorted(SERVICE_PORTS))
def test_every_secret_is_a_file_from_the_services_secret(name: str) -> None:
    env = _env(name)
    objects = _objects()
    pod = objects[("Deployment", name)]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in _container(name)["volumeMounts"]}
    secret_mount = mounts[SECRETS_DIR.rstrip("/")]
    assert secret_mount["readOnly"] is True
    assert volumes[secret_mount["name"]]["secret"]["secretName"] == f"securact-{name}"
    fields = _settings(name).model_fields
    secrets = {f for f, info in fields.items() if info.annotation is SecretStr} | {"store_url"}
    for field in sorted(secrets):
        candidates = [f"SECURACT_{field.upper()}", f"SECURACT_{name.upper()}_{field.upper()}"]
        assert [var for var in candidates if var in env] == [], f"{name}.{field} in clear"
        files = [env[f"{var}_FILE"] for var in candidates if f"{var}_FILE" in env]
        assert len(files) == 1, f"{name}.{field} has no _FILE"
        assert files[0].startswith(SECRETS_DIR)
        # The README's commands create that key in the Secret.
        assert f"--from-file={files[0].removeprefix(SECRETS_DIR)}=" in README.read_text()


def _ingress_backend(host: str) -> tuple[str, int]:
    ingress = _objects()[("Ingress", "securact")]
    assert host in ingress["spec"]["tls"][0]["hosts"], f"{host} has no TLS"
    for rule in ingress["spec"]["rules"]:
        if rule["host"] == host:
            service = rule["http"]["paths"][0]["backend"]["service"]
            return service["name"], service["port"]["number"]
    raise AssertionError(f"the Ingress has no rule for {host}")


@pytest.mark.parametrize("name", sorted(SERVICE_PORTS))
def test_every_url_setting_points_at_a_service_on_its_port(name: str) -> None:
    env = _env(name)
    objects = _objects()
    readme = README.read_text()
    fields = {
        f: info.default
        for f, info in _settings(name).model_fields.items()
        if f.endswith("_url") or f == "s3_endpoint"
    }
    for field, default in sorted(fields.items()):
        if field in THIRD_PARTY_URLS:
            continue  # a qualified TSA, set per deployment (unset: no timestamps)
        if field in SECRET_URLS:
            continue  # from the Secret (see test_every_secret_is_a_file_from_the_services_secret)
        candidates = [f"SECURACT_{name.upper()}_{field.upper()}", f"SECURACT_{field.upper()}"]
        value = next((env[var] for var in candidates if var in env), "")
        assert value, f"{name}.{field} is not set: it would be {default!r} in the pod"
        if "://" not in value:
            value = f"tcp://{value}"
        parts = urlsplit(value)
        host = parts.hostname or ""
        if parts.scheme == "https":
            target, port = _ingress_backend(host)
            assert (parts.port or 443) == 443
        elif "." in host:
            # A dependency outside this kustomization: documented in the README.
            where = f"{host}:{parts.port}"
            assert f"`{where}`" in readme, f"{name}.{field}: {where} is not documented"
            continue
        else:
            target, port = host, parts.port or 80
        service = objects.get(("Service", target))
        assert service is not None, f"{name}.{field}: no Service {target}"
        assert port in [p["port"] for p in service["spec"]["ports"]], f"{name}.{field}: {port}"


def test_images_are_pinned() -> None:
    for manifest in render():
        if manifest["kind"] != "Deployment":
            continue
        pod = manifest["spec"]["template"]["spec"]
        for container in pod["containers"] + pod.get("initContainers", []):
            image = container["image"]
            tag = image.rpartition(":")[2]
            assert "@sha256:" in image or tag.count(".") == 2, image
            assert tag != "latest"


def test_key_files_reach_the_service_0600_through_an_init_container() -> None:
    # The key file loader refuses group- or world-readable files; Secret volumes are 0440.
    for name in SERVICE_PORTS:
        pod = _objects()[("Deployment", name)]["spec"]["template"]["spec"]
        (init,) = pod["initContainers"]
        assert "install -m 0600" in " ".join(init["command"])
        keys = {v["name"]: v for v in pod["volumes"]}["keys"]
        assert keys["emptyDir"]["medium"] == "Memory"


@pytest.mark.parametrize("name", sorted(SERVICE_PORTS))
def test_service_settings_start_in_production_from_the_pods_environment(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pod's view: its ConfigMaps and env, the Secret's keys as files.
    for var in list(os.environ):
        if var.upper().startswith("SECURACT_"):
            monkeypatch.delenv(var)
    for var, value in _env(name).items():
        if value.startswith(SECRETS_DIR):
            secret = tmp_path / value.removeprefix(SECRETS_DIR)
            secret.write_text(f"{name}-{secret.name}-value\n")
            monkeypatch.setenv(var, str(secret))
        else:
            monkeypatch.setenv(var, value)
    settings = _settings(name)()
    assert settings.env.value == "production"
    assert settings.amqp_url.get_secret_value() == f"{name}-amqp_url-value"
    assert settings.store_url == f"{name}-store_url-value"
